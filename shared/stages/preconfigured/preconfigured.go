// Package preconfigured holds the stage types an installation defines for
// itself, as Spinnaker's preconfigured webhooks (orca's
// webhook.preconfigured[]) do: a type such as "jenkins" is a webhook whose
// request and monitoring fields come from the installation's configuration,
// while a pipeline's stage of that type gives only its own fields ("job",
// "parameterValues") for the template's expressions to read.
//
// A stage of such a type starts with the template's fields merged over its
// own (the template wins, as in orca), so that `${job}` in the template's url
// is evaluated at stage start like any of the stage's expressions; it then
// runs as a webhook stage, with the webhook's tasks.
package preconfigured

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/flow"
)

// Type is one stage type an installation defines.
type Type struct {
	// Type is the stage type pipelines name, such as "jenkins".
	Type string `json:"type"`
	// Label and Description are for people choosing a stage type.
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	// Webhook holds the webhook stage fields the type sets (url, method,
	// customHeaders, payload, waitForCompletion, statusUrlResolution, …),
	// as JSON values.
	Webhook map[string]any `json:"webhook"`
	// Parameters document the stage fields the template reads.
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Parameter is a stage field a type's template reads. A stage gives it as
// a field of its own ("job") or in parameterValues, as Deck writes the
// parameters of a preconfigured webhook; either way the template can read
// it as ${job} or ${parameterValues['job']}.
type Parameter struct {
	Name        string `json:"name"`
	Label       string `json:"label,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is Deck's input type ("string", "boolean"); gennaker keeps it
	// for people only.
	Type string `json:"type,omitempty"`
	// DefaultValue is used when a stage gives no value; without one, a
	// stage that gives none is warned about when its pipeline is saved.
	DefaultValue any `json:"defaultValue,omitempty"`
}

// webhookFields are the webhook stage fields a type may set: orca's
// preconfigured webhook properties that gennaker's webhook stage reads.
var webhookFields = []string{
	"url", "method", "customHeaders", "payload",
	"waitForCompletion", "monitorOnly", "waitBeforeMonitor",
	"statusUrlResolution", "statusUrlJsonPath", "statusJsonPath", "progressJsonPath",
	"successStatuses", "canceledStatuses", "terminalStatuses",
	"failFastStatusCodes", "webhookRetryStatusCodes", "retryStatusCodes", "retries",
	"cancelEndpoint", "cancelMethod", "cancelPayload",
}

// typeFields and parameterFields are the keys of a type and of a parameter.
var (
	typeFields      = []string{"type", "label", "description", "webhook", "parameters"}
	parameterFields = []string{"name", "label", "description", "type", "defaultValue"}
)

// Decode reads the list of stage types from its JSON-shaped form (a YAML
// or JSON document decoded into any) and checks each. Problems have paths
// from the list: "[0].webhook.url".
func Decode(raw any) ([]Type, stages.Problems) {
	var p stages.Problems
	if raw == nil {
		return nil, nil
	}
	// A JSON round trip gives YAML's numbers and maps the shapes stage
	// contexts have.
	b, err := json.Marshal(raw)
	if err != nil {
		p.Add("", "cannot be read: %v", err)
		return nil, p
	}
	var list []any
	if err := json.Unmarshal(b, &list); err != nil {
		p.Add("", "must be a list of stage types ({type, webhook: {url, …}, parameters})")
		return nil, p
	}
	var out []Type
	seen := map[string]int{}
	for i, item := range list {
		path := stages.Path(i)
		m, ok := item.(map[string]any)
		if !ok {
			p.Add(path, "must be a stage type ({type, webhook: {url, …}}), not %s", stages.Describe(item))
			continue
		}
		t := decodeType(path, m, &p)
		if t.Type != "" {
			if j, dup := seen[t.Type]; dup {
				p.Add(stages.Path(path, "type"), "%q is defined twice (also at [%d])", t.Type, j)
			}
			seen[t.Type] = i
		}
		out = append(out, t)
	}
	if len(p) > 0 {
		return nil, p
	}
	return out, nil
}

func decodeType(path string, m map[string]any, p *stages.Problems) Type {
	var t Type
	unknownKeys(path, m, typeFields, p)
	t.Type = stringField(path, m, "type", p)
	t.Label = stringField(path, m, "label", p)
	t.Description = stringField(path, m, "description", p)
	switch {
	case m["type"] == nil:
		p.Add(stages.Path(path, "type"), "is required (the stage type pipelines name, such as jenkins)")
	case t.Type != "" && strings.ContainsAny(t.Type, " \t\n${}"):
		p.Add(stages.Path(path, "type"), "%q is not a stage type name (no spaces or expressions)", t.Type)
	}
	webhookPath := stages.Path(path, "webhook")
	switch w := m["webhook"].(type) {
	case nil:
		p.Add(webhookPath, "is required (the request the stage sends: {url, method, …})")
	case map[string]any:
		t.Webhook = w
		unknownKeys(webhookPath, w, webhookFields, p)
		if w["url"] == nil {
			p.Add(stages.Path(webhookPath, "url"), "is required (the URL to call)")
		}
		for _, prob := range webhookProblems(w) {
			if prob.Path == "url" && w["url"] == nil {
				continue
			}
			p.Add(stages.Path(webhookPath, prob.Path), "%s", prob.Message)
		}
	default:
		p.Add(webhookPath, "must be the webhook stage fields ({url, method, …}), not %s", stages.Describe(w))
	}
	paramsPath := stages.Path(path, "parameters")
	switch list := m["parameters"].(type) {
	case nil:
	case []any:
		names := map[string]bool{}
		for j, item := range list {
			pp := stages.Path(paramsPath, j)
			pm, ok := item.(map[string]any)
			if !ok {
				p.Add(pp, "must be a parameter ({name, label, description, defaultValue}), not %s", stages.Describe(item))
				continue
			}
			unknownKeys(pp, pm, parameterFields, p)
			param := Parameter{
				Name:         stringField(pp, pm, "name", p),
				Label:        stringField(pp, pm, "label", p),
				Description:  stringField(pp, pm, "description", p),
				Type:         stringField(pp, pm, "type", p),
				DefaultValue: pm["defaultValue"],
			}
			switch {
			case pm["name"] == nil:
				p.Add(stages.Path(pp, "name"), "is required (the stage field the template reads)")
			case slices.Contains(webhookFields, param.Name) || param.Name == "type" || param.Name == "parameterValues":
				p.Add(stages.Path(pp, "name"), "%q is a field the stage type itself sets; name the parameter otherwise", param.Name)
			case names[param.Name]:
				p.Add(stages.Path(pp, "name"), "%q is defined twice", param.Name)
			}
			names[param.Name] = true
			t.Parameters = append(t.Parameters, param)
		}
	default:
		p.Add(paramsPath, "must be a list of parameters ({name, label, …}), not %s", stages.Describe(list))
	}
	return t
}

// webhookProblems checks a template as the webhook stage checks a stage:
// expressions are accepted, everything else must be right.
func webhookProblems(w map[string]any) []model.Problem {
	cfg := maps.Clone(w)
	cfg["type"] = flow.WebhookStage{}.Type()
	s, err := model.StageFromConfig(cfg)
	if err != nil {
		return []model.Problem{{Message: fmt.Sprintf("cannot be read as a webhook stage: %v", err)}}
	}
	return flow.WebhookStage{}.Validate(s)
}

func unknownKeys(path string, m map[string]any, known []string, p *stages.Problems) {
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		if !slices.Contains(known, k) {
			p.Add(stages.Path(path, k), "is not a field here (%s)", strings.Join(known, ", "))
		}
	}
}

func stringField(path string, m map[string]any, key string, p *stages.Problems) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.Add(stages.Path(path, key), "must be a string, not %s", stages.Describe(v))
		return ""
	}
	return s
}

// Register adds a Definition for each type to reg, which must already hold
// the webhook stage's tasks. A type that is already known, such as a
// built-in one, is an error that names it: an installation's type never
// replaces gennaker's.
func Register(reg *stages.Registry, types []Type) error {
	if len(types) == 0 {
		return nil
	}
	for _, task := range []stages.Task{flow.CreateWebhookTask{}, flow.MonitorWebhookTask{}} {
		if _, err := reg.Task(task.Name()); err != nil {
			return fmt.Errorf("stageTypes need the webhook stage's tasks: %w", err)
		}
	}
	for i, t := range types {
		if _, err := reg.Definition(t.Type); err == nil {
			return fmt.Errorf("stageTypes[%d].type: %q is a built-in stage type; give the installation's type another name", i, t.Type)
		}
		reg.Register(New(t))
	}
	return nil
}

// Stage is the Definition of an installation's stage type: a webhook stage
// with the type's template.
type Stage struct {
	t    Type
	base flow.WebhookStage
}

// New returns the definition of t.
func New(t Type) *Stage { return &Stage{t: t} }

// Type implements stages.Definition.
func (s *Stage) Type() string { return s.t.Type }

// Initialize merges the template over the stage's fields and gives each
// parameter its value both as a field of the stage and in parameterValues.
func (s *Stage) Initialize(cfg map[string]any) map[string]any {
	if cfg == nil {
		cfg = map[string]any{}
	}
	values := map[string]any{}
	if pv, ok := cfg["parameterValues"].(map[string]any); ok {
		maps.Copy(values, pv)
	}
	for _, param := range s.t.Parameters {
		v, ok := cfg[param.Name]
		if !ok || v == nil {
			v, ok = values[param.Name]
		}
		if (!ok || v == nil) && param.DefaultValue != nil {
			v, ok = copyValue(param.DefaultValue), true
		}
		if !ok {
			continue
		}
		if _, set := cfg[param.Name]; !set {
			cfg[param.Name] = v
		}
		if _, set := values[param.Name]; !set {
			values[param.Name] = copyValue(v)
		}
	}
	if len(s.t.Parameters) > 0 || cfg["parameterValues"] != nil {
		cfg["parameterValues"] = values
	}
	for k, v := range s.t.Webhook {
		cfg[k] = copyValue(v)
	}
	return cfg
}

// Validate checks the stage as the webhook stage it runs as, and warns
// about parameters it gives no value.
func (s *Stage) Validate(st *model.Stage) []model.Problem {
	cfg, err := st.Config()
	if err != nil {
		return []model.Problem{{Message: fmt.Sprintf("cannot read the stage configuration: %v", err)}}
	}
	merged := s.Initialize(cfg)
	var p stages.Problems
	for _, param := range s.t.Parameters {
		if merged[param.Name] == nil {
			what := param.Name
			if param.Label != "" {
				what = param.Label
			}
			p.Add(param.Name, "is required: %s, a parameter of the %s stage type (give it as %s or parameterValues.%s)", what, s.t.Type, param.Name, param.Name)
		}
	}
	asWebhook, err := model.StageFromConfig(merged)
	if err != nil {
		p.Add("", "cannot read the stage configuration: %v", err)
		return p
	}
	return append(p, s.base.Validate(asWebhook)...)
}

// Plan implements stages.Definition: the webhook stage's tasks.
func (s *Stage) Plan(st *model.StageExecution) ([]string, error) { return s.base.Plan(st) }

// Config implements stages.Configurer: the webhook stage's configuration.
func (s *Stage) Config(st *model.StageExecution) (any, error) { return s.base.Config(st) }

// copyValue copies a JSON-shaped value, so that no run's context shares
// maps or lists with the template.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	default:
		return v
	}
}

var (
	_ stages.Definition  = (*Stage)(nil)
	_ stages.Configurer  = (*Stage)(nil)
	_ stages.Initializer = (*Stage)(nil)
)
