package cluster

import "github.com/gennaker/gennaker/shared/stages"

// highlanderStrategy brings the new server group up, then disables and
// destroys every other server group of the cluster: there can be only one.
// It has no fields of its own.
type highlanderStrategy struct{}

func (s *highlanderStrategy) decode(fieldDecoder) stages.Problems { return nil }

func (s *highlanderStrategy) validate(string, stages.Expressions, *stages.Problems) {}

func (s *highlanderStrategy) plan() ([]string, error) {
	return lockedDeploy(
		CreateServerGroupTask{}.Name(),
		WaitForUpInstancesTask{}.Name(),
		DisableOldServerGroupsTask{}.Name(),
		DestroyOldServerGroupsTask{}.Name(),
	), nil
}
