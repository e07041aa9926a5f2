package cluster

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// ResizeServerGroupStage is Spinnaker's "resizeServerGroup": set a server
// group's capacity exactly (resizeType "exact" with capacity), by a
// percentage ("pct" with scalePct) or by a number of instances ("incr" with
// scaleNum), up or down (action scale_up, scale_down).
type ResizeServerGroupStage struct{ env *deployEnv }

func (s *ResizeServerGroupStage) base() targetStage {
	return targetStage{env: s.env, typ: "resizeServerGroup", tasks: []string{ResizeServerGroupTask{}.Name(), WaitForCapacityMatchTask{}.Name()}}
}

// Type implements Definition.
func (s *ResizeServerGroupStage) Type() string { return s.base().Type() }

// resizeConfig is a resizeServerGroup stage's configuration.
type resizeConfig struct {
	targetConfig
	// ResizeType is exact, pct or incr; without one, scalePct means pct
	// and scaleNum incr.
	ResizeType string              `json:"resizeType"`
	Action     string              `json:"action"`
	Capacity   *providers.Capacity `json:"capacity"`
	ScalePct   *int                `json:"scalePct"`
	ScaleNum   *int                `json:"scaleNum"`
	// TargetCapacity is recorded before a relative resize is applied.
	TargetCapacity *providers.Capacity `json:"targetCapacity"`
}

// Validate implements Definition.
func (s *ResizeServerGroupStage) Validate(st *model.Stage) []model.Problem {
	var cfg resizeConfig
	exprs, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	if len(exprs) > 0 {
		return p // the resize is only known when the stage runs
	}
	for _, f := range []string{"resizeType", "action", "capacity", "scalePct", "scaleNum"} {
		if hasProblem(p, f) {
			return p
		}
	}
	if _, err := resizeTo(&cfg, providers.Capacity{Min: 1, Max: 1, Desired: 1}); err != nil {
		p.Add("resizeType", "%v", err)
	}
	return p
}

// Config implements Configurer.
func (s *ResizeServerGroupStage) Config(e *model.StageExecution) (any, error) {
	return decodeResize(e)
}

func decodeResize(s *model.StageExecution) (*resizeConfig, error) {
	var c resizeConfig
	return &c, decodeStage(s, &c)
}

// Plan implements Definition.
func (s *ResizeServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// resizeType is the kind of resize the stage asks for.
func (c *resizeConfig) resizeType() string {
	switch {
	case c.ResizeType != "":
		return c.ResizeType
	case c.ScalePct != nil:
		return "pct"
	case c.ScaleNum != nil:
		return "incr"
	}
	return "exact"
}

// resizeTo computes the new capacity from the stage's fields and the
// current capacity.
func resizeTo(c *resizeConfig, cur providers.Capacity) (providers.Capacity, error) {
	sign := 0
	switch c.Action {
	case "scale_up":
		sign = 1
	case "scale_down":
		sign = -1
	case "", "scale_exact", "scale_exactly": // scale_exact is orca's name
	default:
		return cur, fmt.Errorf("action %q is not scale_up, scale_down or scale_exact", c.Action)
	}
	var desired int
	switch typ := c.resizeType(); typ {
	case "exact":
		if c.Capacity == nil {
			return cur, fmt.Errorf("resizeType exact needs capacity {min, max, desired}")
		}
		target, err := checkCapacity(*c.Capacity)
		if err != nil {
			return cur, fmt.Errorf("capacity: %w", err)
		}
		return target, nil
	case "pct":
		if c.ScalePct == nil || *c.ScalePct < 0 || sign == 0 {
			return cur, fmt.Errorf("resizeType pct needs scalePct (a percentage) and action scale_up or scale_down")
		}
		desired = cur.Desired + sign*int(math.Ceil(float64(cur.Desired)*float64(*c.ScalePct)/100))
	case "incr":
		if c.ScaleNum == nil || *c.ScaleNum < 0 || sign == 0 {
			return cur, fmt.Errorf("resizeType incr needs scaleNum (a number of instances) and action scale_up or scale_down")
		}
		desired = cur.Desired + sign*(*c.ScaleNum)
	default:
		return cur, fmt.Errorf("resizeType %q is not exact, pct or incr", typ)
	}
	desired = max(desired, 0)
	return providers.Capacity{Min: min(cur.Min, desired), Max: max(cur.Max, desired), Desired: desired}, nil
}

// relative reports whether the stage resizes relative to the current
// capacity (pct or incr) rather than to an exact one.
func (c *resizeConfig) relative() bool {
	t := c.resizeType()
	return t == "pct" || t == "incr"
}

// ResizeServerGroupTask sets the capacity, unless a traffic guard forbids
// Resizing the last serving server group to zero. A relative resize (pct,
// incr) first records its target capacity and asks to be called again, so
// a retry never applies it twice.
type ResizeServerGroupTask struct{}

// Name implements Task.
func (ResizeServerGroupTask) Name() string { return "ResizeServerGroup" }

// Execute implements Task.
func (ResizeServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*resizeConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return act(ctx, run, &cfg.targetConfig, func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
		target := g.Capacity
		if cfg.TargetCapacity != nil {
			target, _ = checkCapacity(*cfg.TargetCapacity)
		} else {
			var err error
			if target, err = resizeTo(cfg, g.Capacity); err != nil {
				return stages.Failed("%v", err), nil
			}
			if cfg.relative() {
				// A percentage or an increment retried after the provider
				// applied it would apply twice: store the target first (a
				// RUNNING result is stored before the next call), then act.
				return stages.Result{Status: model.StatusRunning, Backoff: time.Millisecond, Context: stages.Record(struct {
					Target   providers.Capacity `json:"targetCapacity"`
					Original providers.Capacity `json:"originalCapacity"`
				}{target, g.Capacity})}, nil
			}
		}
		if target.Desired == 0 {
			if err := guardCheck(ctx, run, c, l, g.Cluster, "resize "+name+" to 0", Resizing(name, 0)); err != nil {
				return stages.Failed("%v", err), nil
			}
		}
		if err := c.ServerGroups.Resize(ctx, l.Region, name, target); err != nil {
			return stages.Failed("resize %s: %v", name, err), nil
		}
		return stages.Result{Status: model.StatusSucceeded,
			Context: stages.Record(struct {
				Target providers.Capacity `json:"targetCapacity"`
			}{target}),
			Outputs: stages.Record(struct {
				Capacity providers.Capacity `json:"capacity"`
			}{target}),
		}, nil
	})
}

// WaitForCapacityMatchTask waits until the server group runs exactly its
// desired number of healthy instances.
type WaitForCapacityMatchTask struct{}

// Name implements Task.
func (WaitForCapacityMatchTask) Name() string { return "WaitForCapacityMatch" }

// Execute implements Task.
func (WaitForCapacityMatchTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*resizeConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		return act(ctx, run, &cfg.targetConfig, func(_ Location, _ string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
			healthy := g.Counts.Up + g.Counts.OutOfService
			if g.Counts.Total == g.Capacity.Desired && healthy == g.Capacity.Desired {
				return stages.Succeeded(), nil
			}
			return stages.Running(pollBackoff(c)), nil
		})
	})
}
