package manifest

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestRunJobValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"ok", `{"type": "runJob", "account": "k8s", "cloudProvider": "kubernetes",
		  "manifest": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}}}`, nil},
		{"a deployment", `{"type": "runJob", "account": "k8s",
		  "manifest": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}}`, []string{"manifest: runJob runs a Job, not a Deployment"}},
		{"no job", `{"type": "runJob", "account": "k8s"}`, []string{"manifest: is required: one Job manifest to run (got 0 manifests)"}},
		{"a job without a name", `{"type": "runJob", "account": "k8s", "manifests": [{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": ""}}]}`,
			[]string{"manifests[0].metadata.name: is required"}},
		{"expressions", `{"type": "runJob", "account": "${parameters.account}", "manifest": "${parameters.job}"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestJobNamesAreStablePerStage(t *testing.T) {
	job := manifest.Object{"kind": "Job", "metadata": map[string]any{"name": "migrate"}}
	a, b := stagestest.NewRun(nil), stagestest.NewRun(nil)
	if jobName(job, a) != jobName(job, b) {
		t.Errorf("a retried RunJob would name another Job")
	}
	b.Stage.ID = "stage-2"
	if jobName(job, a) == jobName(job, b) {
		t.Errorf("two stages share the Job name %s", jobName(job, a))
	}
	if got := properties("x\nSPINNAKER_PROPERTY_TABLES=3\nSPINNAKER_PROPERTY_Url=http://a=b\n"); got["tables"] != "3" || got["url"] != "http://a=b" {
		t.Errorf("properties = %v", got)
	}
}

func TestRunJobRunsTheJobAndKeepsItsProperties(t *testing.T) {
	c := newFakeCluster()
	c.logs = "migrating 3 tables\nSPINNAKER_PROPERTY_TABLES=3\n"
	reg := registryWith(c)
	run := stageRun(t, "runJob", `{"account": "k8s", "application": "billing",
	  "manifest": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-"}}}`)
	if r := execute(t, reg, run, "RunJob"); r.Status != model.StatusSucceeded {
		t.Fatalf("RunJob: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	name := jobName(manifest.Object{"metadata": map[string]any{"name": "migrate"}}, run)
	job, ok := c.objs["job/default/"+name]
	if !ok {
		t.Fatalf("the cluster holds %v, want job/default/%s", c.objs, name)
	}
	if got := job.Annotations()[manifest.AnnotationApp]; got != "billing" {
		t.Errorf("the job's application is %q, want billing", got)
	}
	if got := contextJSON(t, run, "jobStatus"); got != `{"location":"default","name":"`+name+`","namespace":"default","status":"RUNNING"}` {
		t.Errorf("jobStatus = %s", got)
	}

	// Not done yet: poll again.
	if r := execute(t, reg, run, "WaitOnJobCompletion"); r.Status != model.StatusRunning {
		t.Fatalf("WaitOnJobCompletion of a running job: %s", r.Status)
	}
	c.objs["pod/default/"+name+"-x1"] = manifest.Object{"kind": "Pod", "metadata": map[string]any{"name": name + "-x1", "namespace": "default"}}
	job["status"] = map[string]any{"succeeded": 1.0, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
	r := execute(t, reg, run, "WaitOnJobCompletion")
	if r.Status != model.StatusSucceeded {
		t.Fatalf("WaitOnJobCompletion of a complete job: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if r.Outputs["tables"] != "3" || !strings.Contains(contextJSON(t, run, "propertyFileContents"), `"tables":"3"`) {
		t.Errorf("outputs %v, want the property tables", r.Outputs)
	}
	if got := contextJSON(t, run, "jobStatus"); !strings.Contains(got, `"status":"SUCCEEDED"`) {
		t.Errorf("jobStatus = %s", got)
	}
}

func TestWaitOnJobCompletionWithoutAJob(t *testing.T) {
	r := execute(t, registryWith(newFakeCluster()), stageRun(t, "runJob", `{"account": "k8s"}`), "WaitOnJobCompletion")
	stagestest.CheckFailure(t, r, model.StatusTerminal, "the stage has no job to wait for")
}
