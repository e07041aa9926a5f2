package awslambda

import (
	"context"
	"errors"
	"strings"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// deleteStage is Aws.LambdaDeleteStage: delete one version, the versions
// beyond the newest retentionNumber ($MOVING), or the whole function ($ALL).
type deleteStage struct{ env *env }

// Type implements stages.Definition.
func (*deleteStage) Type() string { return DeleteStage }

// deleteConfig is the stage's configuration, in the plugin's fields.
type deleteConfig struct {
	target
	Version         string        `json:"version"`
	VersionNumber   versionNumber `json:"versionNumber"`
	RetentionNumber *int          `json:"retentionNumber"`
}

func (c *deleteConfig) check(e *env, exprs stages.Expressions, p *stages.Problems) {
	c.target.validate(e, exprs, p)
	switch {
	case exprs.Has("version"):
	case c.Version == versionMoving:
		if c.RetentionNumber == nil && !exprs.Has("retentionNumber") {
			p.Add("retentionNumber", "is required with %s: how many of the newest versions to keep", versionMoving)
		} else if c.RetentionNumber != nil && *c.RetentionNumber < 1 {
			p.Add("retentionNumber", "must keep at least 1 version, not %d", *c.RetentionNumber)
		}
	case c.Version == versionAll:
	default:
		checkSelector(c.Version, string(c.VersionNumber), "version", "versionNumber", exprs, p)
		if c.Version == "" {
			(*p)[len(*p)-1].Message = "is required: $ALL, $LATEST, $PREVIOUS, $OLDEST, $MOVING, $PROVIDED or a version number"
		}
	}
}

// Validate implements stages.Definition.
func (s *deleteStage) Validate(st *model.Stage) []model.Problem {
	var c deleteConfig
	exprs, p := stages.DecodeConfig(st, &c)
	c.check(s.env, exprs, &p)
	return p
}

// Config implements stages.Configurer.
func (s *deleteStage) Config(e *model.StageExecution) (any, error) {
	var c deleteConfig
	p := stages.Decode(e.Context, &c)
	if len(p) == 0 {
		c.check(&env{}, nil, &p)
	}
	return &c, p.Err()
}

// Plan implements stages.Definition.
func (*deleteStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DeleteLambdaFunctionTask{}.Name()}, nil
}

// DeleteLambdaFunctionTask deletes what the stage names. A function or
// version that is gone already counts as deleted, so a retry succeeds.
type DeleteLambdaFunctionTask struct{}

// Name implements stages.Task.
func (DeleteLambdaFunctionTask) Name() string { return "lambdaDeleteTask" }

// Execute implements stages.Task.
func (DeleteLambdaFunctionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, fail := configOf[*deleteConfig](run)
	if fail != nil {
		return *fail, nil
	}
	fns, name, err := c.functions(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	done := func(deleted string) stages.Result {
		return stages.Result{Status: model.StatusSucceeded,
			Context: map[string]any{"deleteTask:deleteVersion": deleted},
			Outputs: map[string]any{"deleteTask": "done", "deleteTask:deleteVersion": deleted, "functionName": name}}
	}
	if deleted, ok := run.Stage.Context["deleteTask:deleteVersion"].(string); ok {
		return done(deleted), nil
	}
	if c.Version == versionAll {
		if err := fns.Delete(ctx, c.Region, name, ""); err != nil {
			return failOrRetry(err, "delete function %s", name), nil
		}
		return done(versionAll), nil
	}
	fn, err := fns.Get(ctx, c.Region, name)
	if errors.Is(err, providers.ErrNotFound) {
		return done(""), nil
	}
	if err != nil {
		return failOrRetry(err, "read function %s", name), nil
	}
	var versions []string
	if c.Version == versionMoving {
		keep := 1
		if c.RetentionNumber != nil {
			keep = *c.RetentionNumber
		}
		if n := len(fn.Versions) - keep; n > 0 {
			versions = fn.Versions[:n]
		}
	} else {
		v, err := resolve(fn, c.Version, string(c.VersionNumber))
		if err != nil {
			// The plugin succeeds when there is no such version to delete.
			r := done("")
			r.Outputs["failureMessage"] = err.Error()
			return r, nil
		}
		versions = []string{v}
	}
	for _, v := range versions {
		if err := fns.Delete(ctx, c.Region, name, v); err != nil {
			return failOrRetry(err, "delete version %s of %s", v, name), nil
		}
	}
	return done(strings.Join(versions, ",")), nil
}
