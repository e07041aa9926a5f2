package cluster

import "github.com/gennaker/gennaker/shared/model"

// DisableServerGroupStage is Spinnaker's "disableServerGroup": take a server
// group out of rotation, unless a traffic guard forbids it.
type DisableServerGroupStage struct{ env *deployEnv }

func (s *DisableServerGroupStage) base() targetStage {
	return targetStage{env: s.env, typ: "disableServerGroup", tasks: []string{DisableServerGroupTask{}.Name(), WaitForDisabledServerGroupTask{}.Name()}}
}

// Type implements Definition.
func (s *DisableServerGroupStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *DisableServerGroupStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *DisableServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// Config implements Configurer.
func (s *DisableServerGroupStage) Config(e *model.StageExecution) (any, error) {
	return s.base().Config(e)
}
