package deployapi

import "github.com/gennaker/gennaker/providers"

// AWSFields are what Gate shows of an AWS server group besides the common
// fields: its image, launch template, Auto Scaling group and placement,
// from the settings the aws provider reports.
type AWSFields struct {
	Image          map[string]any `json:"image,omitempty"`
	LaunchTemplate map[string]any `json:"launchTemplate,omitempty"`
	Asg            map[string]any `json:"asg,omitempty"`
	Zones          []any          `json:"zones,omitempty"`
	TargetGroups   []any          `json:"targetGroups,omitempty"`
	InstanceType   string         `json:"instanceType,omitempty"`
}

// awsFields fills Gate's AWS fields of an aws server group.
func awsFields(g providers.ServerGroup) *AWSFields {
	if g.CloudProvider != "aws" || g.Settings == nil {
		return nil
	}
	s := g.Settings
	out := &AWSFields{}
	out.InstanceType, _ = s["instanceType"].(string)
	if id, _ := s["imageId"].(string); id != "" {
		out.Image = map[string]any{"imageId": id, "name": g.Artifact["name"]}
	}
	lt := map[string]any{"launchTemplateName": g.Name}
	for _, k := range []string{"imageId", "instanceType", "keyPair", "iamRole", "securityGroups", "ebsOptimized", "instanceMonitoring", "spotPrice"} {
		if v, ok := s[k]; ok {
			lt[k] = v
		}
	}
	out.LaunchTemplate = lt
	asg := map[string]any{
		"autoScalingGroupName": g.Name, "minSize": g.Capacity.Min, "maxSize": g.Capacity.Max, "desiredCapacity": g.Capacity.Desired,
	}
	for _, k := range []string{"healthCheckType", "healthCheckGracePeriod", "cooldown", "terminationPolicies", "suspendedProcesses", "enabledMetrics", "tags"} {
		if v, ok := s[k]; ok {
			asg[k] = v
		}
	}
	out.Asg = asg
	if zones, ok := s["availabilityZones"].(map[string]any); ok {
		out.Zones, _ = zones[g.Region].([]any)
	}
	out.TargetGroups, _ = s["targetGroups"].([]any)
	return out
}
