package stages

// CloudStage is a Definition whose stages always act through one cloud
// provider, whether or not they name it (Kubernetes manifest stages).
// Runtimes that run each provider's tasks in a function of its own route
// such a stage to that provider's function.
type CloudStage interface {
	CloudProvider() string
}
