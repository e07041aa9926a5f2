package cluster

import "github.com/gennaker/gennaker/shared/model"

// DestroyServerGroupStage is Spinnaker's "destroyServerGroup": disable a
// server group, then destroy it, unless a traffic guard forbids it.
type DestroyServerGroupStage struct{ env *deployEnv }

func (s *DestroyServerGroupStage) base() targetStage {
	return targetStage{env: s.env, typ: "destroyServerGroup", tasks: []string{DisableServerGroupTask{}.Name(), DestroyServerGroupTask{}.Name()}}
}

// Type implements Definition.
func (s *DestroyServerGroupStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *DestroyServerGroupStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *DestroyServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// Config implements Configurer.
func (s *DestroyServerGroupStage) Config(e *model.StageExecution) (any, error) {
	return s.base().Config(e)
}
