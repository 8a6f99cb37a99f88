package models

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func stackWith(name, lifecycle string, serviceStatuses ...string) StackStatus {
	services := make([]ServiceStatus, len(serviceStatuses))
	for i, s := range serviceStatuses {
		services[i] = ServiceStatus{ServiceName: fmt.Sprintf("%s-%d", name, i), State: StateDeployed, Status: s}
	}
	return newStackStatus(name, lifecycle, "", services)
}

func TestProductLayersBlockEverythingAboveTheFirstLayerNotRunning(t *testing.T) {
	product := ProductStatus{ProductName: "shop", StackDeps: [][]StackStatus{
		{stackWith("db", LifecycleDeploymentComplete, RunRunning), stackWith("cache", LifecycleDeploymentFailed, RunFault)},
		{stackWith("api", LifecycleDeploymentComplete, RunRunning)},
		{stackWith("web", LifecycleDeploymentInProgress, RunNotRunning)},
	}}
	layers := ProductLayers(product)
	var got []string
	for _, layer := range layers {
		for _, s := range layer.Stacks {
			got = append(got, fmt.Sprintf("%d:%s:%s:blocked=%t", layer.Number, s.StackName, s.Status, s.Blocked))
		}
		got = append(got, fmt.Sprintf("layer %d: %d running, all=%t, blocked=%t", layer.Number, layer.Running, layer.AllRunning(), layer.Blocked))
	}
	want := []string{
		"1:db:RUNNING:blocked=false", "1:cache:FAULT:blocked=false", "layer 1: 1 running, all=false, blocked=false",
		"2:api:RUNNING:blocked=true", "layer 2: 1 running, all=true, blocked=true",
		"3:web:NOT-RUNNING:blocked=true", "layer 3: 0 running, all=false, blocked=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWhyUnstableListsEveryPathToAServiceNotRunning(t *testing.T) {
	empty := stackWith("queue", LifecycleCreationComplete)
	product := ProductStatus{ProductName: "shop", StackDeps: [][]StackStatus{
		{stackWith("db", LifecycleDeploymentComplete, RunRunning, RunFault, RunNotRunning), empty},
		{stackWith("api", LifecycleDeploymentComplete, RunRunning)},
		{stackWith("web", LifecycleDeploymentComplete, RunPartiallyRunning)},
	}}
	var got []string
	for _, p := range WhyUnstable(product) {
		got = append(got, fmt.Sprintf("layer %d › %s › %s: %s blocked=%t", p.Layer, p.StackName, p.Service, p.Status, p.Blocked))
	}
	want := []string{
		"layer 1 › db › db-1: FAULT blocked=false",
		"layer 1 › db › db-2: NOT-RUNNING blocked=false",
		"layer 1 › queue › : NOT-RUNNING blocked=false",
		"layer 3 › web › web-0: PARTIALLY-RUNNING blocked=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	stable := ProductStatus{StackDeps: [][]StackStatus{{stackWith("db", LifecycleDeploymentComplete, RunRunning)}}}
	if paths := WhyUnstable(stable); len(paths) != 0 {
		t.Errorf("a stable product has reasons: %+v", paths)
	}
}

func TestServiceCountsInSeverityOrder(t *testing.T) {
	counts := ServiceCounts(stackWith("x", "", RunRunning, RunFault, RunRunning, RunNotRunning).Services)
	if got := fmt.Sprint(counts); got != "[{FAULT 1} {NOT-RUNNING 1} {RUNNING 2}]" {
		t.Errorf("counts %s", got)
	}
}

// The SQL roll-up used by the stack list and the fleet summary agrees with StackRunStatus for every mix of up
// to three services.
func TestSQLRunStatusAgreesWithStackRunStatus(t *testing.T) {
	db := openTestDB(t)
	var b strings.Builder
	b.WriteString("projects:\n  - id: rollup\n    stacks:\n")
	want := make(map[string]string)
	var mixes [][]string
	var build func(prefix []string)
	build = func(prefix []string) {
		mixes = append(mixes, append([]string(nil), prefix...))
		if len(prefix) == 3 {
			return
		}
		for _, s := range RunStatuses() {
			build(append(prefix, s))
		}
	}
	build(nil)
	for i, mix := range mixes {
		name := fmt.Sprintf("s%d", i)
		want[name] = StackRunStatus(mix)
		fmt.Fprintf(&b, "      - name: %s\n        services:", name)
		if len(mix) == 0 {
			b.WriteString(" []")
		}
		b.WriteString("\n")
		for j, status := range mix {
			fmt.Fprintf(&b, "          - {name: svc%d, state: DEPLOYED, status: %s, image: {name: x}}\n", j, status)
		}
	}
	mustImport(t, db, b.String())
	list, err := FindStacks(context.Background(), db, "rollup", StackFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Stacks) != len(mixes) {
		t.Fatalf("%d stacks, want %d", len(list.Stacks), len(mixes))
	}
	for _, s := range list.Stacks {
		if s.RunStatus != want[s.StackName] {
			t.Errorf("%s: SQL says %s, StackRunStatus %s", s.StackName, s.RunStatus, want[s.StackName])
		}
	}
	fleet, err := LoadFleet(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	counted := make(map[string]int)
	for _, status := range want {
		counted[status]++
	}
	for _, c := range fleet.ByRun {
		if counted[c.Status] != c.Count {
			t.Errorf("fleet: %d %s, want %d", c.Count, c.Status, counted[c.Status])
		}
	}
	if fleet.Stacks != len(mixes) || len(fleet.Projects) != 1 || fleet.Projects[0] != (ProjectCount{"rollup", len(mixes)}) {
		t.Errorf("fleet %+v", fleet)
	}
}
