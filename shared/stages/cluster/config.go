package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// Every stage type of the family decodes its context once per task call
// into a typed configuration (its Config method); tasks read it with
// configOf. The pieces below are the fields several stage types share.

// stageFields are the fields every stage has that the family's tasks read.
type stageFields struct {
	// StageTimeoutMs bounds the stage; polling tasks never look past it.
	StageTimeoutMs int64 `json:"stageTimeoutMs"`
}

// stageTimeout is the stage's own bound, or 0.
func (f *stageFields) stageTimeout() time.Duration {
	return time.Duration(max(f.StageTimeoutMs, 0)) * time.Millisecond
}

// locationFields are Spinnaker's location fields of a stage or a cluster:
// cloudProvider (or provider), credentials (or account), and region (or
// the one entry of regions).
type locationFields struct {
	CloudProvider string   `json:"cloudProvider"`
	Provider      string   `json:"provider"`
	Credentials   string   `json:"credentials"`
	Account       string   `json:"account"`
	Region        string   `json:"region"`
	Regions       []string `json:"regions"`
	// AvailabilityZones maps regions to their zones, as an AWS cluster
	// names where it deploys; a deploy of several regions runs a part per
	// region (parts).
	AvailabilityZones map[string]any `json:"availabilityZones"`
}

// location resolves the fields to one provider, account and region. The
// local provider's account needs no region.
func (f *locationFields) location() (Location, error) {
	l := Location{CloudProvider: f.CloudProvider, Account: f.Credentials, Region: f.Region}
	if l.CloudProvider == "" {
		l.CloudProvider = f.Provider
	}
	if l.Account == "" {
		l.Account = f.Account
	}
	if l.Region == "" {
		switch len(f.Regions) {
		case 0:
		case 1:
			l.Region = f.Regions[0]
		default:
			return l, fmt.Errorf("regions: gennaker acts in one region per stage, got %d (%s); add a stage per region", len(f.Regions), strings.Join(f.Regions, ", "))
		}
	}
	if l.Region == "" && len(f.AvailabilityZones) > 0 {
		regions := slices.Sorted(maps.Keys(f.AvailabilityZones))
		if len(regions) > 1 {
			return l, fmt.Errorf("availabilityZones: a createServerGroup stage deploys in one region, got %d (%s); deploy them with a deploy stage", len(regions), strings.Join(regions, ", "))
		}
		l.Region = regions[0]
	}
	if l.Account == "" {
		return l, errors.New("credentials: the account is required")
	}
	if l.Region == "" {
		if l.CloudProvider == "local" || l.Account == providers.LocalAccount {
			l.Region = providers.LocalRegion
		} else {
			return l, errors.New("region: the region is required")
		}
	}
	return l, nil
}

// validate checks literally written provider and account names against the
// runtime's providers, when the runtime has told us of them. Names that are
// expressions are only known when the stage runs.
func (f *locationFields) validate(env *deployEnv, path string, p *stages.Problems) {
	reg := env.providers.Load()
	if reg == nil {
		return
	}
	prov, acct := f.CloudProvider, f.Credentials
	if acct == "" {
		acct = f.Account
	}
	if stages.IsExpression(prov) {
		prov = ""
	}
	if stages.IsExpression(acct) {
		acct = ""
	}
	if err := reg.Check(prov, acct); err != nil {
		field := "account"
		if errors.Is(err, providers.ErrUnknownProvider) {
			field = "cloudProvider"
		}
		if f.Credentials != "" && field == "account" {
			field = "credentials"
		}
		p.Add(stages.Path(path, field), "%v", err)
	}
}

// clusterRef names a cluster as Spinnaker stages do: cluster, or
// moniker.cluster.
type clusterRef struct {
	Cluster string `json:"cluster"`
	Moniker *struct {
		Cluster string `json:"cluster"`
	} `json:"moniker"`
}

// clusterName is the cluster the stage names, or "".
func (r *clusterRef) clusterName() string {
	if r.Cluster != "" {
		return r.Cluster
	}
	if r.Moniker != nil {
		return r.Moniker.Cluster
	}
	return ""
}

// checkCapacity completes a capacity as Spinnaker does (no max means the
// larger of min and desired) and checks that it can be run.
func checkCapacity(c providers.Capacity) (providers.Capacity, error) {
	if c.Max == 0 {
		c.Max = max(c.Desired, c.Min)
	}
	if c.Min < 0 || c.Desired < 0 || c.Min > c.Desired || c.Desired > c.Max {
		return c, fmt.Errorf("must satisfy 0 ≤ min ≤ desired ≤ max, got min %d, desired %d, max %d", c.Min, c.Desired, c.Max)
	}
	return c, nil
}

// decodeStage decodes a running stage's context into cfg, failing with
// every problem and its JSON path.
func decodeStage(s *model.StageExecution, cfg any) error {
	return stages.Decode(s.Context, cfg).Err()
}

// hasProblem reports whether p holds a problem at path or inside it.
func hasProblem(p stages.Problems, path string) bool {
	for _, pr := range p {
		if pr.Path == path || strings.HasPrefix(pr.Path, path+".") || strings.HasPrefix(pr.Path, path+"[") {
			return true
		}
	}
	return false
}

// nameKind rewrites the decoder's "must be an object" at path into what
// the object must hold, which tells a user more.
func nameKind(p stages.Problems, path, want string) {
	for i := range p {
		if p[i].Path == path {
			if rest, ok := strings.CutPrefix(p[i].Message, "must be an object"); ok {
				p[i].Message = want + rest
			}
		}
	}
}
