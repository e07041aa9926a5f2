package expr

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"gopkg.in/yaml.v3"
)

// This file implements the "#name(...)" helper functions Spinnaker
// registers for pipeline expressions (orca's StageExpressionFunctionProvider
// and friends, kork's JSON and string helpers).

// contextKey is where the *Context sits in the evaluation environment, for
// the helpers that look at the execution. Expressions cannot name it:
// translate rejects names with the reserved prefix.
const contextKey = reservedPrefix + "context"

// helper is one "#name(...)" function.
type helper struct {
	name         string // as written after '#'
	needsContext bool   // receives the execution context ($env) first
	omitted      string // why gennaker does not offer it, when it does not
	fn           func(c *Context, args []any) (any, error)
}

var helpers = []*helper{
	{name: "stage", needsContext: true, fn: stageByName},
	{name: "stageByRefId", needsContext: true, fn: stageByRefID},
	{name: "stageExists", needsContext: true, fn: stageExists},
	{name: "judgment", needsContext: true, fn: judgment},
	{name: "judgement", needsContext: true, fn: judgment},
	{name: "currentStage", needsContext: true, fn: currentStage},
	{name: "deployedServerGroups", needsContext: true, fn: deployedServerGroups},
	{name: "manifestLabelValue", needsContext: true, fn: manifestLabelValue},
	{name: "triggerResolvedArtifact", needsContext: true, fn: resolvedArtifactBy("name")},
	{name: "triggerResolvedArtifactByType", needsContext: true, fn: resolvedArtifactBy("type")},
	{name: "toJson", fn: toJSONHelper},
	{name: "toInt", fn: toInt},
	{name: "toFloat", fn: toFloat},
	{name: "toBoolean", fn: toBoolean},
	{name: "toBase64", fn: toBase64},
	{name: "fromBase64", fn: fromBase64},
	{name: "alphanumerical", fn: alphanumerical},
	{name: "readJson", fn: readJSON},
	{name: "readYaml", fn: readYAML},
	{name: "readAllYaml", fn: readAllYAML},

	{name: "fromUrl", omitted: noNetwork},
	{name: "jsonFromUrl", omitted: noNetwork},
	{name: "yamlFromUrl", omitted: noNetwork},
	{name: "propertiesFromUrl", omitted: noNetwork},
	{name: "pipelineId", omitted: "needs a lookup of saved pipelines, which expressions do not have; use the pipeline id"},
	{name: "pipelineIdOrNull", omitted: "needs a lookup of saved pipelines, which expressions do not have; use the pipeline id"},
	{name: "pipelineIdInApplication", omitted: "needs a lookup of saved pipelines, which expressions do not have; use the pipeline id"},
	{name: "cfServiceKey", omitted: "is specific to Cloud Foundry"},
	{name: "canaryConfigNameToId", omitted: "needs a lookup of canary configurations, which expressions do not have"},
	{name: "doNotEval", omitted: "is not supported"},
}

const noNetwork = "would fetch a URL; gennaker expressions do not reach the network"

// helperByName indexes helpers by their SpEL name.
var helperByName = func() map[string]*helper {
	m := make(map[string]*helper, len(helpers))
	for _, h := range helpers {
		m[h.name] = h
	}
	return m
}()

// ident is the name of the expr-lang function h becomes.
func (h *helper) ident() string { return reservedPrefix + "fn_" + h.name }

// option registers h with expr-lang. Errors name the call as written.
func (h *helper) option() expr.Option {
	return expr.Function(h.ident(), func(params ...any) (any, error) {
		var c *Context
		if h.needsContext {
			if len(params) > 0 {
				env, _ := params[0].(map[string]any)
				c, _ = env[contextKey].(*Context)
				params = params[1:]
			}
			if c == nil {
				c = &Context{}
			}
		}
		out, err := h.fn(c, params)
		if err != nil {
			return nil, fmt.Errorf("#%s(%s): %w", h.name, argList(params), err)
		}
		return out, nil
	})
}

func argList(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = abbreviate(quoteIfString(a), 40)
	}
	return strings.Join(parts, ", ")
}

// wantArgs checks the number of arguments.
func wantArgs(args []any, n int) error {
	if len(args) != n {
		return fmt.Errorf("takes %d argument(s), got %d", n, len(args))
	}
	return nil
}

// stringArg converts an argument the way SpEL converts it for a String
// parameter: text stays, numbers and booleans are written out, null and
// structures are refused.
func stringArg(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", errors.New("argument is null")
	case map[string]any, []any:
		return "", fmt.Errorf("argument is a %s, not a String", javaTypeName(v))
	}
	return javaString(v), nil
}

// stages returns the execution's stages.
func (c *Context) stages() []map[string]any {
	list, _ := c.Execution["stages"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func (c *Context) executionID() string {
	if id, ok := c.Execution["id"].(string); ok {
		return id
	}
	return ""
}

// inExecution completes a "not found" message with the execution id.
func (c *Context) inExecution(msg string) error {
	if id := c.executionID(); id != "" {
		return fmt.Errorf("%s in execution %s", msg, id)
	}
	return errors.New(msg)
}

// stageView is what #stage and friends return: the stage as JSON, plus
// the hasSucceeded and hasFailed properties Spinnaker's stage object has.
func stageView(s map[string]any) map[string]any {
	out := make(map[string]any, len(s)+2)
	for k, v := range s {
		out[k] = v
	}
	if _, ok := out["hasSucceeded"]; !ok {
		out["hasSucceeded"] = s["status"] == "SUCCEEDED"
	}
	if _, ok := out["hasFailed"]; !ok {
		out["hasFailed"] = s["status"] == "TERMINAL"
	}
	return out
}

// stageByName is #stage(name): the first stage whose name (or id) matches.
func stageByName(c *Context, args []any) (any, error) {
	name, err := oneString(args)
	if err != nil {
		return nil, err
	}
	for _, s := range c.stages() {
		if s["name"] == name || s["id"] == name {
			return stageView(s), nil
		}
	}
	return nil, c.inExecution(fmt.Sprintf("no stage named %q", name))
}

// stageByRefID is #stageByRefId(refId).
func stageByRefID(c *Context, args []any) (any, error) {
	ref, err := oneString(args)
	if err != nil {
		return nil, err
	}
	for _, s := range c.stages() {
		if r, ok := s["refId"]; ok && r != nil && javaString(r) == ref {
			return stageView(s), nil
		}
	}
	return nil, c.inExecution(fmt.Sprintf("no stage with refId %q", ref))
}

// stageExists is #stageExists(nameOrId).
func stageExists(c *Context, args []any) (any, error) {
	name, err := oneString(args)
	if err != nil {
		return nil, err
	}
	for _, s := range c.stages() {
		if s["name"] == name || s["id"] == name {
			return true, nil
		}
	}
	return false, nil
}

// judgment is #judgment(name): the input chosen in the named manual
// judgment stage.
func judgment(c *Context, args []any) (any, error) {
	name, err := oneString(args)
	if err != nil {
		return nil, err
	}
	for _, s := range c.stages() {
		if s["name"] != name || s["type"] != "manualJudgment" {
			continue
		}
		ctx, _ := s["context"].(map[string]any)
		if input, ok := ctx["judgmentInput"]; ok && input != nil {
			return input, nil
		}
	}
	return nil, c.inExecution(fmt.Sprintf("no manual judgment stage named %q with a judgment input", name))
}

// currentStage is #currentStage(): the stage being evaluated.
func currentStage(c *Context, args []any) (any, error) {
	if err := wantArgs(args, 0); err != nil {
		return nil, err
	}
	if c.Stage == nil {
		return nil, errors.New("no current stage: the expression is not evaluated for a stage")
	}
	return stageView(c.Stage), nil
}

var deployStageTypes = map[any]bool{
	"deploy": true, "createServerGroup": true, "cloneServerGroup": true, "rollingPush": true,
}

// deployedServerGroups is #deployedServerGroups(names...): what the
// succeeded deploy stages (all of them, or those named) deployed.
func deployedServerGroups(c *Context, args []any) (any, error) {
	wanted := map[string]bool{}
	for _, a := range args {
		s, err := stringArg(a)
		if err != nil {
			return nil, err
		}
		wanted[s] = true
	}
	out := []any{}
	for _, s := range c.stages() {
		ctx, _ := s["context"].(map[string]any)
		groups, ok := ctx["deploy.server.groups"].(map[string]any)
		if !deployStageTypes[s["type"]] || !ok || s["status"] != "SUCCEEDED" {
			continue
		}
		if len(wanted) > 0 && !wanted[javaString(s["name"])] && !wanted[javaString(s["id"])] {
			continue
		}
		region, _ := ctx["region"].(string)
		if region == "" {
			if zones, ok := ctx["availabilityZones"].(map[string]any); ok && len(zones) > 0 {
				region = sortedKeys(zones)[0]
			}
		}
		if region == "" {
			continue
		}
		d := map[string]any{
			"account":     ctx["account"],
			"capacity":    ctx["capacity"],
			"parentStage": ctx["parentStage"],
			"region":      region,
		}
		if details, ok := ctx["deploymentDetails"].([]any); ok {
			for _, e := range details {
				if m, ok := e.(map[string]any); ok && m["region"] == region {
					for k, v := range m {
						d[k] = v
					}
				}
			}
		}
		if sgs, ok := groups[region].([]any); ok && len(sgs) > 0 {
			d["serverGroup"] = sgs[0]
		}
		deployments := []any{}
		tasks, _ := ctx["kato.tasks"].([]any)
		for _, t := range tasks {
			task, _ := t.(map[string]any)
			results, _ := task["resultObjects"].([]any)
			for _, r := range results {
				result, _ := r.(map[string]any)
				if ds, ok := result["deployments"].([]any); ok {
					deployments = append(deployments, ds...)
				}
			}
		}
		d["deployments"] = deployments
		out = append(out, d)
	}
	return out, nil
}

// manifestLabelValue is #manifestLabelValue(stageName, kind, labelKey):
// a pod template label of a Deployment or ReplicaSet a succeeded
// deployManifest stage deployed.
func manifestLabelValue(c *Context, args []any) (any, error) {
	if err := wantArgs(args, 3); err != nil {
		return nil, err
	}
	var strs [3]string
	for i, a := range args {
		s, err := stringArg(a)
		if err != nil {
			return nil, err
		}
		strs[i] = s
	}
	stageName, kind, label := strs[0], strs[1], strs[2]
	if kind != "Deployment" && kind != "ReplicaSet" {
		return nil, errors.New("only Deployment and ReplicaSet are valid kinds")
	}
	for _, s := range c.stages() {
		if s["name"] != stageName || s["type"] != "deployManifest" || s["status"] != "SUCCEEDED" {
			continue
		}
		ctx, _ := s["context"].(map[string]any)
		manifests, _ := ctx["manifests"].([]any)
		if len(manifests) == 0 {
			return nil, errors.New("the stage's context has no manifests")
		}
		for _, m := range manifests {
			manifest, _ := m.(map[string]any)
			if manifest["kind"] != kind {
				continue
			}
			v, ok := dig(manifest, "spec", "template", "metadata", "labels", label)
			if !ok {
				return nil, fmt.Errorf("the %s has no label %q in spec.template.metadata.labels", kind, label)
			}
			return v, nil
		}
		return nil, fmt.Errorf("the stage deployed no %s", kind)
	}
	return nil, fmt.Errorf("no succeeded deployManifest stage named %q", stageName)
}

// dig follows keys through nested maps.
func dig(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// resolvedArtifactBy builds #triggerResolvedArtifact (by name) and
// #triggerResolvedArtifactByType: the first artifact bound to the trigger's
// expected artifacts whose field matches.
func resolvedArtifactBy(field string) func(c *Context, args []any) (any, error) {
	return func(c *Context, args []any) (any, error) {
		want, err := oneString(args)
		if err != nil {
			return nil, err
		}
		expected, _ := c.trigger()["resolvedExpectedArtifacts"].([]any)
		for _, e := range expected {
			ea, _ := e.(map[string]any)
			bound, ok := ea["boundArtifact"].(map[string]any)
			if ok && bound[field] == want {
				return bound, nil
			}
		}
		return nil, c.inExecution(fmt.Sprintf("no resolved artifact with %s %q in the trigger", field, want))
	}
}

func oneString(args []any) (string, error) {
	if err := wantArgs(args, 1); err != nil {
		return "", err
	}
	return stringArg(args[0])
}

// toJSONHelper is #toJson(value).
func toJSONHelper(_ *Context, args []any) (any, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	s, err := toJSON(args[0])
	if err != nil {
		return nil, err
	}
	if strings.Contains(s, "${") {
		return nil, errors.New("the result would contain an expression")
	}
	return s, nil
}

// toInt is #toInt(value), Java's Integer.valueOf.
func toInt(_ *Context, args []any) (any, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	return parseInt(args[0])
}

func parseInt(v any) (any, error) {
	if s, ok := v.(string); ok {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return int(i), nil
	}
	if i, ok := toInt64(v); ok {
		return int(i), nil
	}
	return nil, fmt.Errorf("%s is not an integer", describe(v))
}

// toFloat is #toFloat(value), Java's Float.valueOf.
func toFloat(_ *Context, args []any) (any, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	return parseFloat(args[0])
}

func parseFloat(v any) (any, error) {
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	}
	if f, ok := toFloat64(v); ok {
		return f, nil
	}
	return nil, fmt.Errorf("%s is not a number", describe(v))
}

// toBoolean is #toBoolean(value), Java's Boolean.valueOf: "true" in any
// case is true, anything else false.
func toBoolean(_ *Context, args []any) (any, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	return parseBoolean(args[0]), nil
}

func parseBoolean(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// toBase64 is #toBase64(text).
func toBase64(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

// fromBase64 is #fromBase64(text). Padding is optional, as in Java.
func fromBase64(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, fmt.Errorf("not valid base64: %w", err)
		}
	}
	return string(b), nil
}

// alphanumerical is #alphanumerical(text): text without any character
// outside A-Z, a-z and 0-9.
func alphanumerical(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s), nil
}

// readJSON is #readJson(text): a JSON object, or a list when the text
// starts with '['.
func readJSON(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	switch v.(type) {
	case map[string]any, []any:
		return v, nil
	}
	return nil, fmt.Errorf("JSON text is a %s, not an object or a list", javaTypeName(v))
}

// readYAML is #readYaml(text).
func readYAML(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	return normalize(v, 0)
}

// readAllYAML is #readAllYaml(text): every document of a multi-document
// YAML text, as a list.
func readAllYAML(_ *Context, args []any) (any, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(strings.NewReader(s))
	docs := []any{}
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		n, err := normalize(v, 0)
		if err != nil {
			return nil, err
		}
		docs = append(docs, n)
	}
	return docs, nil
}
