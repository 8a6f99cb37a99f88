package models

import (
	"strings"
	"testing"
)

// Manifests cannot expand aliases into huge metadata, nest it without end, or be of any size.
func TestManifestLimits(t *testing.T) {
	bomb := "projects:\n  - id: proj\n    stacks:\n      - name: web\n        metadata:\n          a: &a [x, x, x, x, x, x, x, x, x]\n" +
		"          b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n          c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"          d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	deep := "projects:\n  - id: proj\n    stacks:\n      - name: web\n        metadata: " + strings.Repeat("{a: ", MaxMetadataDepth+1) + "1" + strings.Repeat("}", MaxMetadataDepth+1) + "\n"
	big := "projects:\n  - id: proj\n    stacks:\n      - name: web\n        metadata: {a: \"" + strings.Repeat("x", MaxMetadataBytes) + "\"}\n"
	nul := "projects:\n  - id: proj\n    stacks:\n      - name: web\n        description: \"a\\0b\"\n"
	cases := []struct {
		name, manifest, want string
	}{
		{"alias bomb", bomb, "metadata: line 7: YAML aliases (*a) are not allowed in metadata"},
		{"too deep", deep, "metadata: line 5: nests deeper than 16 levels"},
		{"too big", big, "metadata: is over 65536 bytes as JSON"},
		{"NUL in a description", nul, "description: contains a NUL character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openTestDB(t)
			file, err := DecodeManifest("m.yaml", strings.NewReader(c.manifest))
			if err == nil {
				_, err = Import(t.Context(), db, file)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	huge := strings.NewReader("projects: []\n" + strings.Repeat("#", MaxManifestBytes))
	if _, err := DecodeManifest("huge.yaml", huge); err == nil || !strings.Contains(err.Error(), "huge.yaml: is larger than 64 MB") {
		t.Errorf("a manifest over 64 MB: %v", err)
	}
}

func TestCollectionLimits(t *testing.T) {
	domains := make([]string, MaxDomainsPerService+1)
	for i := range domains {
		domains[i] = "d.example.com"
	}
	if err := ValidateDomains("domains", domains); err == nil || err.(*FieldError).Reason != ReasonTooLong {
		t.Errorf("%d domains: %v, want too long", len(domains), err)
	}
	if err := ValidateDomains("domains", domains[:MaxDomainsPerService]); err != nil {
		t.Errorf("%d domains: %v", MaxDomainsPerService, err)
	}
	if err := ValidateServiceCount("services", MaxServicesPerStack+1); err == nil {
		t.Errorf("%d services were allowed", MaxServicesPerStack+1)
	}
	always := func(string) bool { return true }
	layers := make([][]string, MaxLayersPerProduct+1)
	for i := range layers {
		layers[i] = []string{"s" + strings.Repeat("a", i+1)}
	}
	if err := ValidateLayers("layers", layers, always); err == nil || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("%d layers: %v", len(layers), err)
	}
	wide := make([]string, MaxStacksPerLayer+1)
	for i := range wide {
		wide[i] = "s" + strings.Repeat("a", i%100) + string(rune('a'+i/100))
	}
	if err := ValidateLayers("layers", [][]string{wide}, always); err == nil || !strings.Contains(err.Error(), "at most 256") {
		t.Errorf("%d stacks in a layer: %v", len(wide), err)
	}
	for _, text := range []string{"a\x00b", "a\xffb"} {
		if err := ValidateText("description", text, 10); err == nil {
			t.Errorf("ValidateText(%q) allowed it", text)
		}
	}
}

// A big change of domains is summarised in the event, not copied.
func TestDomainsChangeSummary(t *testing.T) {
	var many []string
	for i := 0; i < 50; i++ {
		many = append(many, "host"+strings.Repeat("x", i)+".example.com")
	}
	got := domainsChange(`["a.example.com"]`, jsonList(many))
	want := "domains: 50 added (host.example.com, hostx.example.com, hostxx.example.com, …), 1 removed (a.example.com); 50 in all"
	if got != want {
		t.Errorf("domainsChange = %q, want %q", got, want)
	}
	if got := domainsChange(`[]`, `["a.example.com"]`); got != `domains ["a.example.com"]` {
		t.Errorf("a short list: %q", got)
	}
}

func jsonList(items []string) string {
	return `["` + strings.Join(items, `","`) + `"]`
}
