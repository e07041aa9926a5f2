package preconfigured_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/builtin"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
)

func jenkins(t *testing.T) preconfigured.Type {
	t.Helper()
	types, problems := preconfigured.Decode([]any{map[string]any{
		"type": "jenkins",
		"webhook": map[string]any{
			"url":               "https://ci.example.com/job/${job}/build",
			"payload":           map[string]any{"controller": "${parameterValues['master']}"},
			"waitForCompletion": true,
		},
		"parameters": []any{
			map[string]any{"name": "job", "label": "Job"},
			map[string]any{"name": "master", "defaultValue": "ci"},
		},
	}})
	if len(problems) > 0 {
		t.Fatal(problems.Err())
	}
	return types[0]
}

// The template wins over the stage's fields of the same name, as in orca;
// each parameter's value is both a stage field and in parameterValues.
func TestInitialize(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stage, want map[string]any
	}{
		{"job as a field, controller by default",
			map[string]any{"type": "jenkins", "job": "shop", "waitForCompletion": false, "url": "https://elsewhere"},
			map[string]any{"type": "jenkins", "job": "shop", "master": "ci", "parameterValues": map[string]any{"job": "shop", "master": "ci"}}},
		{"values as Deck writes them",
			map[string]any{"type": "jenkins", "parameterValues": map[string]any{"job": "shop", "master": "opseng"}},
			map[string]any{"type": "jenkins", "job": "shop", "master": "opseng", "parameterValues": map[string]any{"job": "shop", "master": "opseng"}}},
		{"the field wins over parameterValues for the field",
			map[string]any{"type": "jenkins", "job": "shop", "parameterValues": map[string]any{"job": "other"}},
			map[string]any{"type": "jenkins", "job": "shop", "master": "ci", "parameterValues": map[string]any{"job": "other", "master": "ci"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jt := jenkins(t)
			got := preconfigured.New(jt).Initialize(tc.stage)
			for k, v := range jt.Webhook {
				tc.want[k] = v
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// A run's context shares nothing with the template, so a run cannot change
// the next one's.
func TestInitializeCopiesTheTemplate(t *testing.T) {
	jt := jenkins(t)
	ctx := preconfigured.New(jt).Initialize(map[string]any{"job": "a"})
	ctx["payload"].(map[string]any)["controller"] = "changed"
	if jt.Webhook["payload"].(map[string]any)["controller"] == "changed" {
		t.Fatal("the run's context shares the template's payload")
	}
}

// A configured type may not take a built-in type's name.
func TestRegister(t *testing.T) {
	reg := builtin.New()
	if err := preconfigured.Register(reg, []preconfigured.Type{jenkins(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Definition("jenkins"); err != nil {
		t.Fatal(err)
	}
	wait := jenkins(t)
	wait.Type = "wait"
	err := preconfigured.Register(builtin.New(), []preconfigured.Type{wait})
	if err == nil || !strings.Contains(err.Error(), `stageTypes[0].type: "wait" is a built-in stage type`) {
		t.Fatalf("err = %v", err)
	}
	if err := preconfigured.Register(stages.NewRegistry(), []preconfigured.Type{jenkins(t)}); err == nil {
		t.Fatal("registered a webhook type in a registry without the webhook tasks")
	}
}

// A stage is checked as the webhook it runs as.
func TestValidate(t *testing.T) {
	def := preconfigured.New(jenkins(t))
	s, err := model.StageFromConfig(map[string]any{"type": "jenkins", "job": "shop", "parameters": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if p := def.Validate(s); len(p) != 0 {
		t.Errorf("problems %v", p)
	}
	s, _ = model.StageFromConfig(map[string]any{"type": "jenkins", "monitorOnly": "yes"})
	var got []string
	for _, p := range def.Validate(s) {
		got = append(got, p.String())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "job: is required") || !strings.HasPrefix(got[1], "monitorOnly:") {
		t.Errorf("problems %q", got)
	}
}
