package aws

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A deploy stage's cluster holds Spinnaker's AWS deploy fields; settings is
// what the provider applies of them. Every field of a cluster is either
// applied, read by the stage itself, or known as Deck's bookkeeping; any
// other field is reported by UnappliedFields, so that saving a pipeline that
// sets it warns.

// appliedFields are the cluster fields the aws provider applies.
var appliedFields = []string{
	"availabilityZones", "subnetType", "securityGroups", "instanceType", "keyPair", "iamRole",
	"userData", "base64UserData", "tags", "healthCheckType", "healthCheckGracePeriod", "cooldown",
	"terminationPolicies", "suspendedProcesses", "enabledMetrics", "ebsOptimized", "instanceMonitoring",
	"spotPrice", "loadBalancers", "targetGroups", "useSourceCapacity", "copySourceCustomBlockDeviceMappings",
	"imageId", "amiName", "useAmiBlockDeviceMappings",
}

// stageFields are the cluster fields the deploy stage itself reads, for
// every provider: where, what, how many, and the strategy's own fields.
var stageFields = []string{
	"account", "credentials", "cloudProvider", "provider", "cloudProviderType", "region", "regions",
	"application", "stack", "freeFormDetails", "capacity", "strategy", "artifact", "healthCheckPath",
	"rollback", "stageTimeoutMs", "name", "type", "refId", "requisiteStageRefIds",
	// Strategies' fields.
	"maxRemainingAsgs", "scaleDown", "delayBeforeDisableSec", "delayBeforeScaleDownSec", "targetPercentages",
	"pipelineBeforeCleanup", "strategyApplication", "strategyPipeline", "pipelineParameters",
	"preferSourceCapacity", "targetHealthyDeployPercentage", "trafficOptions", "target", "targetCluster",
	"interestingHealthProviderNames", "source",
}

// bookkeepingFields are what Deck writes into a cluster for its own forms,
// with no effect on what is deployed.
var bookkeepingFields = []string{"dirty", "moniker", "spelLoadBalancers", "spelTargetGroups", "legacyUdf", "viewState", "termination"}

// UnappliedFields implements providers.FieldChecker: the fields of a
// cluster the aws provider would not apply.
func (*Provider) UnappliedFields(cluster map[string]any) []string {
	out := []string{}
	for _, k := range slices.Sorted(maps.Keys(cluster)) {
		if !slices.Contains(appliedFields, k) && !slices.Contains(stageFields, k) && !slices.Contains(bookkeepingFields, k) {
			out = append(out, k)
		}
	}
	return out
}

// settings are the AWS fields of a cluster to deploy.
type settings struct {
	Zones               map[string][]string
	SubnetType          string
	SecurityGroups      []string
	InstanceType        string
	KeyPair             string
	IAMRole             string
	UserData            string // base64
	Tags                map[string]string
	HealthCheckType     string
	HealthCheckGrace    *int32
	Cooldown            *int32
	TerminationPolicies []string
	SuspendedProcesses  []string
	EnabledMetrics      []string
	EBSOptimized        *bool
	InstanceMonitoring  *bool
	SpotPrice           string
	LoadBalancers       []string
	TargetGroups        []string
	ImageID             string
	AMIName             string
	CopyBlockDevices    bool
}

// readSettings reads a cluster's AWS fields, naming the first that does not
// fit.
func readSettings(m map[string]any) (settings, error) {
	var s settings
	var err error
	r := fieldReader{m: m, err: &err}
	s.Zones = r.zones("availabilityZones")
	s.SubnetType = r.str("subnetType")
	s.SecurityGroups = r.strs("securityGroups")
	s.InstanceType = r.str("instanceType")
	s.KeyPair = r.str("keyPair")
	s.IAMRole = r.str("iamRole")
	if b64 := r.str("base64UserData"); b64 != "" {
		if _, e := base64.StdEncoding.DecodeString(b64); e != nil && err == nil {
			err = fmt.Errorf("base64UserData: not base64: %v", e)
		}
		s.UserData = b64
	} else if ud := r.str("userData"); ud != "" {
		s.UserData = base64.StdEncoding.EncodeToString([]byte(ud))
	}
	s.Tags = r.tags("tags")
	s.HealthCheckType = r.str("healthCheckType")
	if s.HealthCheckType != "" && s.HealthCheckType != "EC2" && s.HealthCheckType != "ELB" && err == nil {
		err = fmt.Errorf("healthCheckType: %q is neither EC2 nor ELB", s.HealthCheckType)
	}
	s.HealthCheckGrace = r.int32("healthCheckGracePeriod")
	s.Cooldown = r.int32("cooldown")
	s.TerminationPolicies = r.strs("terminationPolicies")
	s.SuspendedProcesses = r.strs("suspendedProcesses")
	s.EnabledMetrics = r.strs("enabledMetrics")
	s.EBSOptimized = r.boolean("ebsOptimized")
	s.InstanceMonitoring = r.boolean("instanceMonitoring")
	s.SpotPrice = r.str("spotPrice")
	s.LoadBalancers = r.strs("loadBalancers")
	s.TargetGroups = r.strs("targetGroups")
	s.ImageID = r.str("imageId")
	s.AMIName = r.str("amiName")
	if b := r.boolean("copySourceCustomBlockDeviceMappings"); b != nil {
		s.CopyBlockDevices = *b
	}
	return s, err
}

// fieldReader reads fields leniently, as Spinnaker does (numbers may be
// strings, blank means unset), recording the first misfit in err.
type fieldReader struct {
	m   map[string]any
	err *error
}

func (r fieldReader) fail(k, format string, args ...any) {
	if *r.err == nil {
		*r.err = fmt.Errorf("%s: %s", k, fmt.Sprintf(format, args...))
	}
}

func (r fieldReader) str(k string) string {
	switch v := r.m[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		r.fail(k, "must be a string, got %T", v)
		return ""
	}
}

func (r fieldReader) strs(k string) []string {
	switch v := r.m[k].(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				r.fail(fmt.Sprintf("%s[%d]", k, i), "must be a string, got %T", x)
				return nil
			}
			out = append(out, s)
		}
		return out
	default:
		r.fail(k, "must be a list of strings, got %T", v)
		return nil
	}
}

func (r fieldReader) int32(k string) *int32 {
	var n float64
	switch v := r.m[k].(type) {
	case nil:
		return nil
	case float64:
		n = v
	case int:
		n = float64(v)
	case string:
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			r.fail(k, "must be a number, got %q", v)
			return nil
		}
		n = f
	default:
		r.fail(k, "must be a number, got %T", v)
		return nil
	}
	i := int32(n)
	return &i
}

func (r fieldReader) boolean(k string) *bool {
	switch v := r.m[k].(type) {
	case nil:
		return nil
	case bool:
		return &v
	case string:
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.fail(k, "must be true or false, got %q", v)
			return nil
		}
		return &b
	default:
		r.fail(k, "must be true or false, got %T", v)
		return nil
	}
}

func (r fieldReader) tags(k string) map[string]string {
	switch v := r.m[k].(type) {
	case nil:
		return nil
	case map[string]any:
		out := map[string]string{}
		for tk, tv := range v {
			switch x := tv.(type) {
			case string:
				out[tk] = x
			case float64, bool:
				out[tk] = fmt.Sprint(x)
			default:
				r.fail(k+"."+tk, "must be a string, got %T", tv)
			}
		}
		return out
	default:
		r.fail(k, "must be an object of tag names to values, got %T", v)
		return nil
	}
}

func (r fieldReader) zones(k string) map[string][]string {
	switch v := r.m[k].(type) {
	case nil:
		return nil
	case map[string]any:
		out := map[string][]string{}
		for region := range v {
			out[region] = fieldReader{m: v, err: r.err}.strs(region)
		}
		return out
	default:
		r.fail(k, "must be an object of regions to their zones, got %T", v)
		return nil
	}
}
