package models

import (
	"strings"
	"testing"
)

// Run longer with make fuzz; make test runs the seeds below and those in testdata/fuzz/.

// The manifest decoder and its checks never panic, and what they accept has metadata within the limits.
func FuzzDecodeManifest(f *testing.F) {
	f.Add("projects:\n  - id: proj\n    stacks:\n      - name: web\n        metadata: {a: [1, 2, {b: null}]}\n")
	f.Add(`{"projects":[{"id":"proj","stacks":[{"name":"web","metadata":{"k":"v"}}]}],"products":[{"name":"p","layers":[["web"]]}]}`)
	f.Add("projects:\n  - id: proj\n    stacks:\n      - name: web\n        metadata:\n          a: &a [x, x]\n          b: [*a, *a]\n")
	f.Add("projects: [{id: p1x, stacks: [{name: s, services: [{name: a, state: DEPLOYED, status: RUNNING, domains: [x], image: {name: i}}]}]}]")
	f.Add("---\n---\n")
	f.Add("metadata: !!binary AAAA")
	f.Fuzz(func(t *testing.T, manifest string) {
		file, err := DecodeManifest("fuzz.yaml", strings.NewReader(manifest))
		if err != nil {
			return
		}
		for _, p := range file.Manifest.Projects {
			for _, s := range p.Stacks {
				metadata, err := metadataJSON("metadata", &s.Metadata)
				if err == nil && len(metadata) > MaxMetadataBytes+2*MaxMetadataDepth {
					t.Errorf("metadata of %d bytes was accepted", len(metadata))
				}
				_ = checkManifestStack(s)
			}
		}
	})
}

// The events filter parser never panics and refuses what is too long.
func FuzzEventFilter(f *testing.F) {
	for _, seed := range []string{"", "event_type==LOG", "event_type==LOG,resource_type==stack|resource_name==web",
		"event_type", "==", "|||", ",,", "resource_name==" + strings.Repeat("a", 600), "event_type==LOG|"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		groups, err := parseEventFilter(filter)
		if err == nil && len(filter) > MaxEventFilterLength {
			t.Errorf("a filter of %d characters was accepted", len(filter))
		}
		for _, g := range groups {
			for _, c := range g {
				if c.column == "" || c.value == "" {
					t.Errorf("%q gave an empty condition %+v", filter, c)
				}
			}
		}
	})
}

// Markers decode only from what next_marker gives, and round-trip.
func FuzzMarkers(f *testing.F) {
	for _, seed := range []string{"1684308862-17", "0-1", "-1-1", "1-0", "x", "", "9223372036854775807-9223372036854775807", "12"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if m, err := parseStackMarker(value); err == nil {
			again, err := parseStackMarker(m.String())
			if err != nil || again != m {
				t.Errorf("%q → %v → %v, %v", value, m, again, err)
			}
		}
		if after, err := ParseProductMarker(value); err == nil && after <= 0 {
			t.Errorf("product marker %q gave %d", value, after)
		}
	})
}
