// Package artifacts binds Spinnaker's expected artifacts: matching an
// artifact against an expected artifact's matchArtifact, and finding the
// artifact a run bound to an expected artifact id — what stages name with
// manifestArtifactId, requiredArtifactIds and expectedArtifactId. Triggers
// bind a run's expected artifacts (shared/triggers); stages read them here.
package artifacts

import (
	"encoding/json"
	"regexp"
	"sync"

	"github.com/gennaker/gennaker/shared/model"
)

// Resolved is an expected artifact with the artifact bound to it, as
// trigger.resolvedExpectedArtifacts and a stage's
// outputs.resolvedExpectedArtifacts hold it.
type Resolved struct {
	model.ExpectedArtifact
	BoundArtifact *model.Artifact `json:"boundArtifact,omitempty"`
}

// MarshalJSON writes the expected artifact's fields and boundArtifact.
func (r Resolved) MarshalJSON() ([]byte, error) {
	ea := r.ExpectedArtifact
	extra := model.Extra{}
	for k, v := range ea.Extra {
		extra[k] = v
	}
	if r.BoundArtifact != nil {
		b, err := json.Marshal(r.BoundArtifact)
		if err != nil {
			return nil, err
		}
		extra["boundArtifact"] = b
	}
	ea.Extra = extra
	return ea.MarshalJSON()
}

// UnmarshalJSON reads the expected artifact's fields and boundArtifact.
func (r *Resolved) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &r.ExpectedArtifact); err != nil {
		return err
	}
	if raw, ok := r.ExpectedArtifact.Extra["boundArtifact"]; ok {
		delete(r.ExpectedArtifact.Extra, "boundArtifact")
		r.BoundArtifact = &model.Artifact{}
		return json.Unmarshal(raw, r.BoundArtifact)
	}
	return nil
}

// Match reports whether a matches the expected artifact's matchArtifact m:
// each of m's non-empty type, name, version, location and reference is a
// pattern the same field of a must match whole. A nil m matches nothing.
func Match(m *model.Artifact, a *model.Artifact) bool {
	if m == nil || a == nil {
		return false
	}
	pairs := [][2]string{
		{m.Type, a.Type}, {m.Name, a.Name}, {m.Version, a.Version},
		{m.Location, a.Location}, {m.Reference, a.Reference},
	}
	for _, p := range pairs {
		if p[0] != "" && !FullMatch(p[0], p[1]) {
			return false
		}
	}
	return true
}

var patterns sync.Map // string -> *regexp.Regexp or error

// FullMatch reports whether s matches the pattern as a whole, as Java's
// String.matches does; a pattern that does not compile matches only
// itself.
func FullMatch(pattern, s string) bool {
	re, err := Compile(pattern)
	if err != nil {
		return pattern == s
	}
	return re.MatchString(s)
}

// Compile compiles a pattern anchored at both ends, caching it.
func Compile(pattern string) (*regexp.Regexp, error) {
	if v, ok := patterns.Load(pattern); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		patterns.Store(pattern, err)
		return nil, err
	}
	patterns.Store(pattern, re)
	return re, nil
}

// ResolvedIn returns the expected artifacts a run has bound: its trigger's
// resolvedExpectedArtifacts, then those its stages bound (such as
// findArtifactFromExecution), in stage order.
func ResolvedIn(e *model.Execution) []Resolved {
	var out []Resolved
	if raw, ok := e.Trigger.Extra["resolvedExpectedArtifacts"]; ok {
		var list []Resolved
		if json.Unmarshal(raw, &list) == nil {
			out = append(out, list...)
		}
	}
	for _, st := range e.Stages {
		v, ok := st.Outputs["resolvedExpectedArtifacts"]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		var list []Resolved
		if json.Unmarshal(b, &list) == nil {
			out = append(out, list...)
		}
	}
	return out
}

// Bound returns the artifact the run bound to the expected artifact id, or
// nil.
func Bound(e *model.Execution, id string) *model.Artifact {
	for _, r := range ResolvedIn(e) {
		if r.ID == id && r.BoundArtifact != nil {
			return r.BoundArtifact
		}
	}
	return nil
}

// All returns every artifact the run has: its trigger's and those its
// stages output (outputs.artifacts).
func All(e *model.Execution) []model.Artifact {
	out := append([]model.Artifact(nil), e.Trigger.Artifacts...)
	for _, st := range e.Stages {
		v, ok := st.Outputs["artifacts"]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		var list []model.Artifact
		if json.Unmarshal(b, &list) == nil {
			out = append(out, list...)
		}
	}
	return out
}
