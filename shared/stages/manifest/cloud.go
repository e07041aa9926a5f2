package manifest

// The manifest stages act on Kubernetes clusters only.

func (DeployManifestStage) CloudProvider() string { return "kubernetes" }
func (DeleteManifestStage) CloudProvider() string { return "kubernetes" }
func (opStage) CloudProvider() string             { return "kubernetes" }
func (RunJobStage) CloudProvider() string         { return "kubernetes" }
