package orchestration

import (
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// A runtime may run the tasks of each cloud provider in a function of its
// own, so that a function links only the providers it calls (the Lambda
// functions: tasks, tasks-kubernetes, …). Each such function has a stage
// machine of its own (Machines.Families); the orchestrator starts a stage on
// the machine of the provider its tasks act through, and a machine carries
// on only with stages of its own provider. The local runtime runs every
// provider in one process, on the one stage machine.

// stageMachine is the stage machine that runs s.
func (o *Orchestrator) stageMachine(s *model.StageExecution) string {
	if arn, ok := o.machines.Families[o.cloudProvider(s)]; ok {
		return arn
	}
	return o.machines.Stage
}

// cloudProvider is the provider a stage's tasks act through: the stage's
// own cloudProvider field, else the one its type always uses, else "".
func (o *Orchestrator) cloudProvider(s *model.StageExecution) string {
	for _, m := range []map[string]any{s.Orchestration.Config, s.Context} {
		if p, ok := m["cloudProvider"].(string); ok && p != "" {
			return p
		}
	}
	if def, err := o.registry.Definition(s.Type); err == nil {
		if c, ok := def.(stages.CloudStage); ok {
			return c.CloudProvider()
		}
	}
	return ""
}

// sameMachine reports whether stages a and b run on the same stage machine.
func (o *Orchestrator) sameMachine(a, b *model.StageExecution) bool {
	return o.stageMachine(a) == o.stageMachine(b)
}
