package model

// ApplicationName names a Spinnaker application (lower case by convention).
type ApplicationName string

// PipelineID identifies a pipeline configuration.
type PipelineID string

// ExecutionID identifies one run of a pipeline.
type ExecutionID string

// StageID identifies one stage of one execution.
type StageID string

// AccountName names a set of deployment credentials.
type AccountName string
