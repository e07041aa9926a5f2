package manifest

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// runJobConfig is runJob's configuration: the Job (manifest, or a source
// of manifests holding one Job) and the application its moniker names,
// with the Job RunJob recorded.
type runJobConfig struct {
	accountConfig
	actedOn
	manifestSource
	// Manifest is the Job, free-form like every manifest.
	Manifest    any    `json:"manifest"`
	Application string `json:"application"`
}

// Validate implements Definition.
func (RunJobStage) Validate(s *model.Stage) []model.Problem { return validate(s, &runJobConfig{}) }

// Config implements stages.Configurer.
func (RunJobStage) Config(s *model.StageExecution) (any, error) { return decode(s, &runJobConfig{}) }

var _ stages.Configurer = RunJobStage{}

// check implements checker.
func (c *runJobConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.accountConfig.check(exprs, p)
	if exprs.Has("manifest") || exprs.Has("manifests") {
		return
	}
	if _, err := c.job(); err != nil {
		addErr(p, err)
	}
}

// Plan implements Definition.
func (RunJobStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{RunJobTask{}.Name(), WaitOnJobCompletionTask{}.Name()}, nil
}

// job is the Job to run.
func (c *runJobConfig) job() (manifest.Object, error) {
	var objs []manifest.Object
	if m, ok := c.Manifest.(map[string]any); ok {
		objs = []manifest.Object{manifest.Object(m)}
	} else {
		var err error
		if objs, err = c.read(); err != nil {
			return nil, err
		}
	}
	if len(objs) != 1 {
		return nil, fieldErr("manifest", "is required: one Job manifest to run (got %d manifests)", len(objs))
	}
	job := objs[0]
	if !manifest.SameKind(job.Kind(), "job") {
		return nil, fieldErr("manifest", "runJob runs a Job, not a %s", cmp.Or(job.Kind(), "manifest without kind"))
	}
	if job.Name() == "" && manifest.Nested(job, "metadata", "generateName") == nil {
		return nil, fieldErr("manifest.metadata", "name or generateName is required")
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
	cfg, err := stages.ConfigOf[*runJobConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	job, err := cfg.job()
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
	if cfg.Application != "" {
		app = cfg.Application
	}
	manifest.Annotate(job, manifest.Moniker{App: app}, name)
	if _, err := cluster.Apply(ctx, job); err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		return manifestFailure(fmt.Sprintf("run job %s in %s", name, ns), err), nil
	}
	return succeeded(jobStarted{
		actedOn:   actedOnRefs([]manifest.Ref{{Kind: "job", Namespace: ns, Name: name}}),
		JobStatus: jobStatus{Name: name, Namespace: ns, Location: ns, Status: "RUNNING"},
		Account:   account,
	}, nil), nil
}

// jobStarted is what RunJob records: the Job, for WaitOnJobCompletion, and
// its status as Spinnaker shows it.
type jobStarted struct {
	actedOn
	JobStatus jobStatus `json:"jobStatus"`
	Account   string    `json:"deploy.account.name"`
}

// jobStatus is Spinnaker's jobStatus of a runJob stage.
type jobStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Location  string `json:"location"`
	// Status is RUNNING, SUCCEEDED or FAILED.
	Status string `json:"status"`
	// Logs are the pods' logs once the Job has ended (nil before).
	Logs           *string `json:"logs,omitempty"`
	FailureDetails string  `json:"failureDetails,omitempty"`
}

// jobFailed is what WaitOnJobCompletion records when the Job failed.
type jobFailed struct {
	JobStatus jobStatus `json:"jobStatus"`
}

// jobSucceeded is what WaitOnJobCompletion records, and offers later
// stages, when the Job succeeded.
type jobSucceeded struct {
	JobStatus            jobStatus         `json:"jobStatus"`
	PropertyFileContents map[string]string `json:"propertyFileContents"`
}

// jobWaiting is what WaitOnJobCompletion records while the Job runs.
type jobWaiting struct {
	Messages []string `json:"messages"`
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
	cfg, err := stages.ConfigOf[*runJobConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if len(cfg.ManifestRefs) != 1 {
		return stages.Failed("the stage has no job to wait for (RunJob did not record one)"), nil
	}
	ref := cfg.ManifestRefs[0]
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
		return t.waiting(run, err.Error())
	}
	st := manifest.StatusOf(job)
	if !st.Stable && !st.Failed {
		return t.waiting(run, st.Message)
	}
	logs, logErr := manifest.JobLogs(ctx, cluster, job)
	if logErr != nil {
		logs = fmt.Sprintf("(could not read the job's logs: %v)", logErr)
	}
	if len(logs) > maxLogBytes {
		logs = "…" + logs[len(logs)-maxLogBytes:]
	}
	status := jobStatus{Name: ref.Name, Namespace: ref.Namespace, Location: ref.Namespace, Logs: &logs}
	if st.Failed {
		status.Status = "FAILED"
		status.FailureDetails = st.Message
		return stages.FailedWith(stages.Record(jobFailed{JobStatus: status}), "Job %s in %s failed: %s\n%s", ref.Name, ref.Namespace, st.Message, tailLines(logs, 20)), nil
	}
	status.Status = "SUCCEEDED"
	done := jobSucceeded{JobStatus: status, PropertyFileContents: properties(logs)}
	r := succeeded(done, done)
	// Each property is an output of its own too, for
	// ${#stage('…').outputs.name}.
	for k, v := range done.PropertyFileContents {
		r.Outputs[k] = v
	}
	return r, nil
}

// waiting polls again, recording what the Job waits for.
func (t WaitOnJobCompletionTask) waiting(run *stages.Run, message string) (stages.Result, error) {
	r := succeeded(jobWaiting{Messages: []string{message}}, nil)
	r.Status, r.Backoff = model.StatusRunning, pollBackoff(run, t.Name())
	return r, nil
}

var _ stages.TimeoutTask = WaitOnJobCompletionTask{}

// properties reads SPINNAKER_PROPERTY_<NAME>=value lines, with lower-case
// names.
func properties(logs string) map[string]string {
	props := map[string]string{}
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
