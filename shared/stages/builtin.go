package stages

// Builtin returns a registry of every stage type gennaker ships. Stage
// families register here, one line each.
func Builtin() *Registry {
	r := NewRegistry()
	RegisterFlowControl(r)
	RegisterDeployments(r)
	RegisterManifests(r)
	return r
}
