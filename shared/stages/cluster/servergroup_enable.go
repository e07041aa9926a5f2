package cluster

import "github.com/gennaker/gennaker/shared/model"

// EnableServerGroupStage is Spinnaker's "enableServerGroup": put a server
// group into rotation and wait until its instances are up in it.
type EnableServerGroupStage struct{ env *deployEnv }

func (s *EnableServerGroupStage) base() targetStage {
	return targetStage{env: s.env, typ: "enableServerGroup", tasks: []string{EnableServerGroupTask{}.Name(), WaitForUpInstancesTask{}.Name()}}
}

// Type implements Definition.
func (s *EnableServerGroupStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *EnableServerGroupStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *EnableServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// Config implements Configurer.
func (s *EnableServerGroupStage) Config(e *model.StageExecution) (any, error) {
	return s.base().Config(e)
}
