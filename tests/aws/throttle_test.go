package aws_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"

	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/model"
)

// fakeThrottled is a fake: while on, AWS refuses every
// DescribeAutoScalingGroups for its rate, as it does an account whose
// describe calls exceed their quota; moto never throttles.
type fakeThrottled struct {
	gaws.Client
	on *atomic.Bool
}

func (f fakeThrottled) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if f.on.Load() {
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	}
	return f.Client.DescribeAutoScalingGroups(ctx, in)
}

// A deploy whose reads AWS keeps throttling waits and tries again; it
// neither fails nor goes on blind, and it succeeds once AWS answers.
func TestThrottledDeployWaitsAndSucceeds(t *testing.T) {
	t.Parallel()
	var on atomic.Bool
	e := newEnv(t, nil, gaws.WithClient(func(cfg aws.Config) gaws.Client { return fakeThrottled{Client: gaws.NewClient(cfg), on: &on} }))
	one := []string{"us-east-1"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 1, one, "")), model.StatusSucceeded)

	on.Store(true)
	id := e.start(deployStage(amiV2, "redblack", 1, one, ""))
	e.waitFor(id, time.Minute, "wait for AWS to accept calls again", func(ex *model.Execution) bool {
		for _, s := range ex.Stages {
			if w, _ := s.Context["waitingFor"].(string); s.Status == model.StatusRunning && strings.Contains(w, "throttled") {
				return true
			}
		}
		return false
	})
	assertState(t, e, "us-east-1", "while throttled", "v000:enabled:1")
	on.Store(false)
	ex := e.wait(id, time.Minute)
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "us-east-1", "once AWS answers again", "v000:disabled:1 v001:enabled:1")
}
