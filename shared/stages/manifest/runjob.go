package manifest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// RunJobStage is Spinnaker's "runJob" for Kubernetes: run a Job manifest
// (manifest, or manifests with one Job), wait until it completes, and keep
// its pods' logs in the stage (jobStatus.logs). A failed Job fails the stage
// with its reason and the logs. Lines SPINNAKER_PROPERTY_<NAME>=value in the
// logs become outputs (propertyFileContents), as in Spinnaker.
type RunJobStage struct{}

// Type implements Definition.
func (RunJobStage) Type() string { return "runJob" }

// Validate implements Definition.
func (RunJobStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	validateManifestAccount(cfg, &p)
	if !stages.IsExpression(cfg["manifest"]) && !stages.IsExpression(cfg["manifests"]) {
		if _, err := jobManifest(cfg); err != nil {
			p.AddErr(err)
		}
	}
	return p
}

// Plan implements Definition.
func (RunJobStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{RunJobTask{}.Name(), WaitOnJobCompletionTask{}.Name()}, nil
}

// jobManifest reads the Job to run.
func jobManifest(ctx map[string]any) (manifest.Object, error) {
	var objs []manifest.Object
	if m, ok := ctx["manifest"].(map[string]any); ok {
		objs = []manifest.Object{manifest.Object(m)}
	} else {
		var err error
		if objs, err = readManifests(ctx); err != nil {
			return nil, err
		}
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("manifest: is required: one Job manifest to run (got %d manifests)", len(objs))
	}
	job := objs[0]
	if !manifest.SameKind(job.Kind(), "job") {
		return nil, fmt.Errorf("manifest: runJob runs a Job, not a %s", stages.OrDefault(job.Kind(), "manifest without kind"))
	}
	if job.Name() == "" && manifest.Nested(job, "metadata", "generateName") == nil {
		return nil, errors.New("manifest.metadata: name or generateName is required")
	}
	return job, nil
}

// jobName is the Job's name for this run: its name or generateName plus a
// suffix derived from the run and stage, so every run gets its own Job and a
// retried task applies the same one.
func jobName(job manifest.Object, run *stages.Run) string {
	base := job.Name()
	if g, ok := manifest.Nested(job, "metadata", "generateName").(string); ok && g != "" {
		base = g
	}
	base = strings.TrimSuffix(base, "-")
	sum := sha256.Sum256([]byte(string(run.Execution.ID) + "/" + string(run.Stage.ID)))
	suffix := hex.EncodeToString(sum[:])[:5]
	if len(base) > 57 {
		base = base[:57]
	}
	return base + "-" + suffix
}

// RunJobTask creates the Job.
type RunJobTask struct{ env *manifestEnv }

// Name implements Task.
func (RunJobTask) Name() string { return "RunJob" }

// Execute implements Task.
func (t RunJobTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c := run.Stage.Context
	account, err := manifestAccount(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	job, err := jobManifest(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	job = job.DeepCopy()
	name := jobName(job, run)
	meta := job.Metadata()
	delete(meta, "generateName")
	meta["name"] = name
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	ns := job.Namespace()
	if ns == "" {
		ns = cluster.DefaultNamespace()
	}
	meta["namespace"] = ns
	app := string(run.Execution.Application)
	if a, _, _ := stages.String(c, "application"); a != "" {
		app = a
	}
	manifest.Annotate(job, manifest.Moniker{App: app}, name)
	if _, err := cluster.Apply(ctx, job); err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		return manifestFailure(fmt.Sprintf("run job %s in %s", name, ns), err), nil
	}
	ref := manifest.Ref{Kind: "job", Namespace: ns, Name: name}
	out := refsContext([]manifest.Ref{ref})
	out["jobStatus"] = map[string]any{"name": name, "namespace": ns, "location": ns, "status": "RUNNING"}
	out["deploy.account.name"] = account
	return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
}

// WaitOnJobCompletionTask polls the Job until it succeeds or fails, then
// records its pods' logs.
type WaitOnJobCompletionTask struct{ env *manifestEnv }

// Name implements Task.
func (WaitOnJobCompletionTask) Name() string { return "WaitOnJobCompletion" }

// Timeout is two hours unless the stage sets stageTimeoutMs.
func (WaitOnJobCompletionTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 2*time.Hour)
}

// maxLogBytes bounds the logs kept in the stage, which is stored as one
// item (DynamoDB allows 400 KB).
const maxLogBytes = 64 << 10

// Execute implements Task.
func (t WaitOnJobCompletionTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c := run.Stage.Context
	account, err := manifestAccount(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	refs, err := refsFromContext(c)
	if err != nil || len(refs) != 1 {
		return stages.Failed("the stage has no job to wait for (RunJob did not record one)"), nil
	}
	ref := refs[0]
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	job, err := cluster.Get(ctx, ref)
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		if manifest.IsNotFound(err) {
			return stages.Failed("job %s in %s: %v", ref.Name, ref.Namespace, err), nil
		}
		return stages.Result{Status: model.StatusRunning, Backoff: pollBackoff(run, t.Name()),
			Context: map[string]any{"messages": []any{err.Error()}}}, nil
	}
	st := manifest.StatusOf(job)
	if !st.Stable && !st.Failed {
		return stages.Result{Status: model.StatusRunning, Backoff: pollBackoff(run, t.Name()),
			Context: map[string]any{"messages": []any{st.Message}}}, nil
	}
	logs, logErr := manifest.JobLogs(ctx, cluster, job)
	if logErr != nil {
		logs = fmt.Sprintf("(could not read the job's logs: %v)", logErr)
	}
	if len(logs) > maxLogBytes {
		logs = "…" + logs[len(logs)-maxLogBytes:]
	}
	status := map[string]any{"name": ref.Name, "namespace": ref.Namespace, "location": ref.Namespace, "logs": logs}
	out := map[string]any{"jobStatus": status}
	if st.Failed {
		status["status"] = "FAILED"
		status["failureDetails"] = st.Message
		r := stages.FailedWith(out, "Job %s in %s failed: %s\n%s", ref.Name, ref.Namespace, st.Message, tailLines(logs, 20))
		return r, nil
	}
	status["status"] = "SUCCEEDED"
	props := properties(logs)
	out["propertyFileContents"] = props
	outputs := map[string]any{"propertyFileContents": props, "jobStatus": status}
	for k, v := range props {
		outputs[k] = v
	}
	return stages.Result{Status: model.StatusSucceeded, Context: out, Outputs: outputs}, nil
}

var _ stages.TimeoutTask = WaitOnJobCompletionTask{}

// properties reads SPINNAKER_PROPERTY_<NAME>=value lines, with lower-case
// names.
func properties(logs string) map[string]any {
	props := map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "SPINNAKER_PROPERTY_"); i >= 0 {
			k, v, ok := strings.Cut(line[i+len("SPINNAKER_PROPERTY_"):], "=")
			if ok && k != "" {
				props[strings.ToLower(k)] = v
			}
		}
	}
	return props
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
