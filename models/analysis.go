package models

// LayerState is one layer of a product as the product page draws it.
type LayerState struct {
	// Number counts from 1.
	Number int
	Stacks []StackState
	// Running counts the layer's stacks whose run status is RUNNING.
	Running int
	// Blocked is set when a lower layer is not all RUNNING: this layer's stacks wait on it.
	Blocked bool
}

// AllRunning reports whether every stack of the layer is RUNNING, which opens the gate to the next layer.
func (l LayerState) AllRunning() bool {
	return l.Running == len(l.Stacks)
}

// StackState is a stack inside a product's layer.
type StackState struct {
	StackStatus
	// Blocked is set when the stack waits on a lower layer that is not all RUNNING; it is then not a root cause.
	Blocked bool
}

// UnstablePath is one reason a product is unstable: product → layer → stack → service that is not RUNNING.
// Service is empty when the stack has no services at all.
type UnstablePath struct {
	Layer     int
	StackName string
	Lifecycle string
	Service   string
	State     string
	Status    string
	// Blocked is set when the stack sits above a layer that is not all RUNNING.
	Blocked bool
}

// ProductLayers works out, for a product's layers, which stacks run and which wait on a lower layer.
func ProductLayers(p ProductStatus) []LayerState {
	layers := make([]LayerState, len(p.StackDeps))
	blocked := false
	for i, stacks := range p.StackDeps {
		layer := LayerState{Number: i + 1, Blocked: blocked, Stacks: make([]StackState, len(stacks))}
		for j, s := range stacks {
			layer.Stacks[j] = StackState{StackStatus: s, Blocked: blocked}
			if s.Status == RunRunning {
				layer.Running++
			}
		}
		if !layer.AllRunning() {
			blocked = true
		}
		layers[i] = layer
	}
	return layers
}

// WhyUnstable lists every path from the product to a service (or a stack without services) that is not RUNNING,
// layer by layer.
func WhyUnstable(p ProductStatus) []UnstablePath {
	var paths []UnstablePath
	for _, layer := range ProductLayers(p) {
		for _, s := range layer.Stacks {
			if s.Status == RunRunning {
				continue
			}
			base := UnstablePath{Layer: layer.Number, StackName: s.StackName, Lifecycle: s.Lifecycle, Blocked: s.Blocked}
			if len(s.Services) == 0 {
				base.Status = s.Status
				paths = append(paths, base)
				continue
			}
			for _, svc := range s.Services {
				if svc.Status == RunRunning {
					continue
				}
				path := base
				path.Service, path.State, path.Status = svc.ServiceName, svc.State, svc.Status
				paths = append(paths, path)
			}
		}
	}
	return paths
}

// ServiceCounts counts a stack's services by run status, in severity order, leaving out the statuses none has.
func ServiceCounts(services []ServiceStatus) []StatusCount {
	counts := make(map[string]int)
	for _, s := range services {
		counts[s.Status]++
	}
	var result []StatusCount
	for _, status := range RunStatusesBySeverity() {
		if counts[status] > 0 {
			result = append(result, StatusCount{status, counts[status]})
		}
	}
	return result
}
