package awslambda

// The Lambda stages act on AWS accounts only.

func (deploymentStage) CloudProvider() string     { return "aws" }
func (trafficRoutingStage) CloudProvider() string { return "aws" }
func (invokeStage) CloudProvider() string         { return "aws" }
func (deleteStage) CloudProvider() string         { return "aws" }
