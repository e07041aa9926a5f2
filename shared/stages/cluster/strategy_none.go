package cluster

import "github.com/gennaker/gennaker/shared/stages"

// noneStrategy creates the new server group next to the others and leaves
// them alone. It has no fields of its own.
type noneStrategy struct{}

func (s *noneStrategy) decode(fieldDecoder) stages.Problems { return nil }

func (s *noneStrategy) validate(string, stages.Expressions, *stages.Problems) {}

func (s *noneStrategy) plan() ([]string, error) {
	return lockedDeploy(
		CreateServerGroupTask{}.Name(),
		WaitForUpInstancesTask{}.Name(),
	), nil
}
