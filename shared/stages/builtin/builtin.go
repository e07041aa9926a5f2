// Package builtin assembles the stage types gennaker ships.
package builtin

import (
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/awslambda"
	"github.com/gennaker/gennaker/shared/stages/cluster"
	"github.com/gennaker/gennaker/shared/stages/flow"
	"github.com/gennaker/gennaker/shared/stages/kayenta"
	"github.com/gennaker/gennaker/shared/stages/manifest"
)

// New returns a registry of every stage type gennaker ships. Stage families
// register here, one line each.
func New() *stages.Registry {
	r := stages.NewRegistry()
	flow.RegisterFlowControl(r)
	cluster.RegisterDeployments(r)
	manifest.RegisterManifests(r)
	awslambda.Register(r)
	kayenta.Register(r)
	return r
}
