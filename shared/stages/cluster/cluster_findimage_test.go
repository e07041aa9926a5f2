package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestFindImageValidation(t *testing.T) {
	t.Parallel()
	stage := func(fields string) string {
		return `{"type": "findImageFromCluster", "credentials": "local", "cluster": "hello-prod"` + fields + `}`
	}
	checkValidation(t, []validationCase{
		{"good", stage(`, "selectionStrategy": "largest", "onlyEnabled": "false"`), nil},
		{"unknown selection", stage(`, "selectionStrategy": "RANDOM"`), []string{`selectionStrategy: "RANDOM" is not NEWEST, OLDEST, LARGEST or FAIL`}},
		{"selection from an expression", stage(`, "selectionStrategy": "${parameters.pick}"`), nil},
		{"no cluster", `{"type": "findImageFromCluster", "credentials": "local"}`, []string{"cluster: is required"}},
	})
}

func TestFindImageFromCluster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ctx, want, wantErr string
	}{
		{"newest enabled", `{}`, "hello-prod-v002", ""},
		{"oldest enabled", `{"selectionStrategy": "OLDEST"}`, "hello-prod-v001", ""},
		{"oldest of all", `{"selectionStrategy": "oldest", "onlyEnabled": false}`, "hello-prod-v000", ""},
		{"largest", `{"selectionStrategy": "LARGEST"}`, "hello-prod-v001", ""},
		{"fail on different images", `{"selectionStrategy": "FAIL"}`, "", "runs more than one image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 1, true)
			e.cloud.add("hello-prod-v001", 3, false)
			e.cloud.add("hello-prod-v002", 2, false)
			ctx := stagestest.ContextFromJSON(t, tc.ctx)
			ctx["credentials"], ctx["cluster"] = "local", "hello-prod"
			run, res := e.execute(t, "findImageFromCluster", toJSON(t, ctx))
			if tc.wantErr != "" {
				stagestest.CheckFailure(t, res, model.StatusTerminal, tc.wantErr)
				return
			}
			if res.Status != model.StatusSucceeded {
				t.Fatalf("find = %s: %v", res.Status, stagestest.ErrorsOf(res))
			}
			var found foundImage
			if p := decodeInto(run.Stage.Outputs, &found); len(p) > 0 || len(found.DeploymentDetails) != 1 {
				t.Fatalf("outputs %v: %v", run.Stage.Outputs, p)
			}
			if d := found.DeploymentDetails[0]; d.ServerGroup != tc.want || d.ImageName != tc.want || d.Region != "local" {
				t.Fatalf("found %+v, want %s", d, tc.want)
			}
			// A later deploy in the region takes the image found.
			later := &model.Execution{Stages: []model.StageExecution{*run.Stage}}
			if a := artifactFor(later, nil, "local"); a["name"] != tc.want {
				t.Fatalf("a later deploy would run %v", a)
			}
		})
	}
}

func TestImageName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		artifact string
		want     string
	}{
		{`{"name": "hello", "version": "1.2"}`, "hello:1.2"},
		{`{"command": "/bin/hello", "env": {"VERSION": "v3"}}`, "/bin/hello:v3"},
		{`{"reference": "ref"}`, "ref"},
		{`{}`, ""},
	}
	for _, tc := range cases {
		if got := imageName(stagestest.ContextFromJSON(t, tc.artifact)); got != tc.want {
			t.Errorf("imageName(%s) = %q, want %q", tc.artifact, got, tc.want)
		}
	}
}
