package cluster

import (
	"context"
	"fmt"
	"math"
	"strings"
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

// Validate implements Definition.
func (s *ResizeServerGroupStage) Validate(st *model.Stage) []model.Problem {
	probs := s.base().Validate(st)
	cfg, err := st.Config()
	if err != nil {
		return probs
	}
	if _, err := resizeTo(cfg, providers.Capacity{Min: 1, Max: 1, Desired: 1}); err != nil && !strings.Contains(fmt.Sprint(cfg), "${") {
		probs = append(probs, model.Problem{Path: "resizeType", Message: err.Error()})
	}
	return probs
}

// Plan implements Definition.
func (s *ResizeServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// resizeTo computes the new capacity from the stage's fields and the
// current capacity.
func resizeTo(ctx map[string]any, cur providers.Capacity) (providers.Capacity, error) {
	typ, _, err := stages.String(ctx, "resizeType")
	if err != nil {
		return cur, err
	}
	action, _, err := stages.String(ctx, "action")
	if err != nil {
		return cur, err
	}
	sign := 0
	switch action {
	case "scale_up":
		sign = 1
	case "scale_down":
		sign = -1
	case "", "scale_exactly":
	default:
		return cur, fmt.Errorf("action %q is not scale_up, scale_down or scale_exactly", action)
	}
	if typ == "" {
		typ = "exact"
		if _, ok := ctx["scalePct"]; ok {
			typ = "pct"
		} else if _, ok := ctx["scaleNum"]; ok {
			typ = "incr"
		}
	}
	var desired int
	switch typ {
	case "exact":
		c, ok, err := capacityOf(ctx, "capacity")
		if err != nil {
			return cur, err
		}
		if !ok {
			return cur, fmt.Errorf("resizeType exact needs capacity {min, max, desired}")
		}
		return c, nil
	case "pct":
		pct, ok, err := stages.Int(ctx, "scalePct")
		if err != nil || !ok || pct < 0 || sign == 0 {
			return cur, fmt.Errorf("resizeType pct needs scalePct (a percentage) and action scale_up or scale_down")
		}
		desired = cur.Desired + sign*int(math.Ceil(float64(cur.Desired)*float64(pct)/100))
	case "incr":
		n, ok, err := stages.Int(ctx, "scaleNum")
		if err != nil || !ok || n < 0 || sign == 0 {
			return cur, fmt.Errorf("resizeType incr needs scaleNum (a number of instances) and action scale_up or scale_down")
		}
		desired = cur.Desired + sign*int(n)
	default:
		return cur, fmt.Errorf("resizeType %q is not exact, pct or incr", typ)
	}
	desired = max(desired, 0)
	return providers.Capacity{Min: min(cur.Min, desired), Max: max(cur.Max, desired), Desired: desired}, nil
}

// relativeResize reports whether the stage resizes relative to the current
// capacity (pct or incr) rather than to an exact one.
func relativeResize(ctx map[string]any) bool {
	typ, _, _ := stages.String(ctx, "resizeType")
	switch typ {
	case "pct", "incr":
		return true
	case "":
		_, pct := ctx["scalePct"]
		_, incr := ctx["scaleNum"]
		return pct || incr
	}
	return false
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
	return act(ctx, run, func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
		target := g.Capacity
		if raw, ok := run.Stage.Context["targetCapacity"].(map[string]any); ok {
			target, _, _ = capacityOf(map[string]any{"c": raw}, "c")
		} else {
			var err error
			if target, err = resizeTo(run.Stage.Context, g.Capacity); err != nil {
				return stages.Failed("%v", err), nil
			}
			if relativeResize(run.Stage.Context) {
				// A percentage or an increment retried after the provider
				// applied it would apply twice: store the target first (a
				// RUNNING result is stored before the next call), then act.
				return stages.Result{Status: model.StatusRunning, Backoff: time.Millisecond, Context: map[string]any{
					"targetCapacity": capacityMap(target), "originalCapacity": capacityMap(g.Capacity),
				}}, nil
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
		tc := map[string]any{"min": target.Min, "max": target.Max, "desired": target.Desired}
		return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"targetCapacity": tc}, Outputs: map[string]any{"capacity": tc}}, nil
	})
}

// WaitForCapacityMatchTask waits until the server group runs exactly its
// desired number of healthy instances.
type WaitForCapacityMatchTask struct{}

// Name implements Task.
func (WaitForCapacityMatchTask) Name() string { return "WaitForCapacityMatch" }

// Execute implements Task.
func (WaitForCapacityMatchTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		return act(ctx, run, func(_ Location, _ string, _ *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
			healthy := g.Counts.Up + g.Counts.OutOfService
			if g.Counts.Total == g.Capacity.Desired && healthy == g.Capacity.Desired {
				return stages.Succeeded(), nil
			}
			return stages.Running(deployPollBackoff), nil
		})
	})
}
