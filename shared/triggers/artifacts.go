package triggers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/artifacts"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// ResolvedArtifact is an expected artifact with the artifact bound to it.
type ResolvedArtifact = artifacts.Resolved

// Resolution is what Resolve binds.
type Resolution struct {
	// Expected are the trigger's expected artifacts, each with the artifact
	// bound to it.
	Expected []ResolvedArtifact
	// Artifacts are the artifacts the run receives: those the event
	// brought and those bound from defaults or a prior run.
	Artifacts []model.Artifact
}

// UnmatchedArtifactError says which required artifacts the event did not
// bring and nothing else supplied: the run does not start.
type UnmatchedArtifactError struct {
	Missing []string
}

func (e *UnmatchedArtifactError) Error() string {
	return fmt.Sprintf("expected artifacts %s were not supplied by the event, and have no default or prior artifact to use",
		strings.Join(e.Missing, ", "))
}

// Resolve binds the pipeline's expected artifacts that the trigger asks for
// (its expectedArtifactIds) as Spinnaker does: an artifact the event brought
// that matches (matchArtifact's type, name, version, location and reference
// are patterns that must match whole), else the artifact the pipeline's last
// run bound when usePriorArtifact, else defaultArtifact when
// useDefaultArtifact. If one is still unbound it returns an
// *UnmatchedArtifactError naming each.
func Resolve(ctx context.Context, s store.Store, p *model.Pipeline, tr model.Trigger, received []model.Artifact) (*Resolution, error) {
	var ids []string
	if err := decodeField(tr, "expectedArtifactIds", &ids); err != nil {
		return nil, err
	}
	res := &Resolution{Artifacts: received}
	var missing []string
	var prior []ResolvedArtifact
	priorRead := false
	for _, ea := range p.ExpectedArtifacts {
		if !slices.Contains(ids, ea.ID) {
			continue
		}
		r := ResolvedArtifact{ExpectedArtifact: ea}
		for i := range received {
			if MatchArtifact(ea.MatchArtifact, &received[i]) {
				r.BoundArtifact = &received[i]
				break
			}
		}
		if r.BoundArtifact == nil && ea.UsePriorArtifact {
			if !priorRead {
				var err error
				prior, err = priorArtifacts(ctx, s, p.ID)
				if err != nil {
					return nil, err
				}
				priorRead = true
			}
			for _, pr := range prior {
				if pr.ID == ea.ID && pr.BoundArtifact != nil {
					r.BoundArtifact = pr.BoundArtifact
					break
				}
			}
		}
		if r.BoundArtifact == nil && ea.UseDefaultArtifact && ea.DefaultArtifact != nil {
			r.BoundArtifact = ea.DefaultArtifact
		}
		if r.BoundArtifact == nil {
			missing = append(missing, describeExpected(ea))
			continue
		}
		if !containsArtifact(res.Artifacts, r.BoundArtifact) {
			res.Artifacts = append(res.Artifacts, *r.BoundArtifact)
		}
		res.Expected = append(res.Expected, r)
	}
	if missing != nil {
		return nil, &UnmatchedArtifactError{Missing: missing}
	}
	return res, nil
}

func describeExpected(ea model.ExpectedArtifact) string {
	name := ea.DisplayName
	if name == "" {
		name = ea.ID
	}
	if m := ea.MatchArtifact; m != nil {
		return fmt.Sprintf("%q (%s %s)", name, m.Type, m.Name)
	}
	return fmt.Sprintf("%q", name)
}

// MatchArtifact reports whether a matches the expected artifact's
// matchArtifact (see artifacts.Match).
func MatchArtifact(m *model.Artifact, a *model.Artifact) bool { return artifacts.Match(m, a) }

func containsArtifact(list []model.Artifact, a *model.Artifact) bool {
	for _, x := range list {
		if x.Type == a.Type && x.Name == a.Name && x.Reference == a.Reference && x.Version == a.Version {
			return true
		}
	}
	return false
}

// priorArtifacts returns the expected artifacts the pipeline's newest run
// bound.
func priorArtifacts(ctx context.Context, s store.Store, id model.PipelineID) ([]ResolvedArtifact, error) {
	runs, err := s.Executions().ListByPipeline(ctx, id, store.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("prior artifacts of pipeline %s: %w", id, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	run, err := s.Executions().Get(ctx, runs[0].ID)
	if err != nil {
		return nil, fmt.Errorf("prior artifacts of pipeline %s: %w", id, err)
	}
	return artifacts.ResolvedIn(run), nil
}

// decodeField reads one of the trigger's own fields into v; an absent
// field leaves v alone.
func decodeField(tr model.Trigger, name string, v any) error {
	raw, ok := tr.Extra[name]
	if !ok {
		return nil
	}
	if err := jsonUnmarshal(raw, v); err != nil {
		return fmt.Errorf("trigger field %s: %w", name, errors.Unwrap(err))
	}
	return nil
}
