// Package demo is gennaker's main job in one function: it builds the hello
// service, starts the local runtime, creates an application and its load
// balancer, deploys v1, deploys v2 by red/black while traffic flows through
// the load balancer, deploys a broken v3 that fails its health check and is
// rolled back, and prints what happened. `gennaker demo` and `make demo` run
// it.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// Options configure the demo.
type Options struct {
	// SourceDir is a directory inside the gennaker module, where hello is
	// built from; empty means the working directory.
	SourceDir string
	// HelloBinary skips the build and deploys this binary.
	HelloBinary string
	// DataDir holds the runtime's store and instance logs; empty means a
	// temporary directory removed at the end.
	DataDir string
	// Instances per server group; 0 means 2.
	Instances int
	// StageTimeout bounds each deploy (the broken v3 fails at it); 0 means
	// 8 s.
	StageTimeout time.Duration
	// Logger receives the runtime's logs; nil discards them.
	Logger *slog.Logger
	// Listen is where the API and the web UI are served while the demo
	// runs, so it can be watched in a browser; when the address is taken a
	// free port is used. Empty serves nothing.
	Listen string
}

// Summary is what the demo observed.
type Summary struct {
	// Served counts successful requests by the version that answered.
	Served map[string]int
	// Failed counts requests that failed through the load balancer.
	Failed int
	// FirstFailure describes the first failed request, if any.
	FirstFailure string
	// LoadBalancer is the load balancer's URL.
	LoadBalancer string
	// Cluster is the cluster's server groups at the end.
	Cluster string
	// RedBlack is how long the red/black of v2 took, end to end.
	RedBlack time.Duration
	// Statuses are the three deploys' final statuses.
	Statuses []model.Status
}

const app = "hello"

// Run runs the demo, writing live progress to out.
func Run(ctx context.Context, out io.Writer, opts Options) (*Summary, error) {
	if opts.Instances <= 0 {
		opts.Instances = 2
	}
	if opts.StageTimeout <= 0 {
		opts.StageTimeout = 8 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	kept := opts.DataDir != ""
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "gennaker-demo-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		opts.DataDir = dir
	}
	bin := opts.HelloBinary
	if bin == "" {
		fmt.Fprintln(out, "▸ building examples/hello")
		var err error
		if bin, err = hellobin.Build(ctx, opts.SourceDir, opts.DataDir); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(out, "▸ starting the local runtime in %s\n", opts.DataDir)
	rt, err := local.Open(ctx, local.Options{DataDir: opts.DataDir, HealthInterval: 100 * time.Millisecond, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	d := &driver{rt: rt, out: out, opts: opts, bin: bin, kept: kept}
	if opts.Listen != "" {
		stop, err := d.serveUI(opts.Listen)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	return d.run(ctx)
}

// serveUI serves the runtime's API and web UI while the demo runs.
func (d *driver) serveUI(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("serve the web UI: %w", err)
		}
	}
	srv := &http.Server{Handler: d.rt.API(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(d.out, "▸ watch it in a browser: http://%s/#/applications/%s/executions\n", ln.Addr(), app)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

type driver struct {
	rt   *local.Runtime
	out  io.Writer
	opts Options
	bin  string
	kept bool // the data directory outlives the demo
}

func (d *driver) run(ctx context.Context) (*Summary, error) {
	s := &Summary{}
	if err := d.rt.Store.Applications().Put(ctx, &model.Application{Name: app, Email: "demo@example.com", Description: "gennaker's demo service"}); err != nil {
		return nil, err
	}
	lbPipeline, err := d.save(ctx, "Create load balancer", `[{"refId": "1", "type": "upsertLoadBalancer", "name": "Upsert load balancer",
	  "loadBalancers": [{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-lb", "listenPort": 0}]}]`, "")
	if err != nil {
		return nil, err
	}
	deploy, err := d.save(ctx, "Deploy hello", fmt.Sprintf(`[{"refId": "1", "type": "deploy", "name": "Deploy", "stageTimeoutMs": %d,
	  "clusters": [{"cloudProvider": "local", "account": "local", "region": "local",
	    "application": "hello", "stack": "prod", "strategy": "redblack",
	    "capacity": {"min": %d, "max": %d, "desired": %d},
	    "scaleDown": true, "maxRemainingAsgs": 2, "rollback": {"onFailure": true},
	    "loadBalancers": ["hello-lb"], "healthCheckPath": "/health",
	    "artifact": {"type": "local/command", "command": %q,
	      "env": {"VERSION": "${parameters.version}", "FAIL_HEALTH": "${parameters.failHealth}"}}}]}]`,
		d.opts.StageTimeout.Milliseconds(), d.opts.Instances, d.opts.Instances, d.opts.Instances, d.bin),
		`[{"name": "version", "required": true}, {"name": "failHealth", "default": "false"}]`)
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(d.out, "\n▸ creating the load balancer")
	e, err := d.runPipeline(ctx, lbPipeline, nil, nil)
	if err != nil {
		return nil, err
	}
	lbs, _ := e.Stages[0].Outputs["loadBalancers"].([]any)
	if e.Status != model.StatusSucceeded || len(lbs) == 0 {
		return nil, fmt.Errorf("creating the load balancer ended %s", e.Status)
	}
	s.LoadBalancer, _ = lbs[0].(map[string]any)["url"].(string)
	fmt.Fprintf(d.out, "  load balancer hello-lb listens on %s\n", s.LoadBalancer)

	fmt.Fprintf(d.out, "\n▸ deploying v1 (%d instances)\n", d.opts.Instances)
	if e, err = d.runPipeline(ctx, deploy, map[string]any{"version": "v1"}, nil); err != nil {
		return nil, err
	}
	s.Statuses = append(s.Statuses, e.Status)
	if e.Status != model.StatusSucceeded {
		return s, fmt.Errorf("deploying v1 ended %s", e.Status)
	}

	tr := startTraffic(s.LoadBalancer)
	defer tr.stopOnce()
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintln(d.out, "\n▸ deploying v2 by red/black while traffic flows through the load balancer")
	start := time.Now()
	if e, err = d.runPipeline(ctx, deploy, map[string]any{"version": "v2"}, tr); err != nil {
		return nil, err
	}
	s.RedBlack = time.Since(start)
	s.Statuses = append(s.Statuses, e.Status)

	fmt.Fprintln(d.out, "\n▸ deploying a broken v3: its health check fails, the stage times out and rolls back")
	if e, err = d.runPipeline(ctx, deploy, map[string]any{"version": "v3", "failHealth": "true"}, tr); err != nil {
		return nil, err
	}
	s.Statuses = append(s.Statuses, e.Status)
	if msg := failure(e); msg != "" {
		fmt.Fprintf(d.out, "  failed as it should: %s\n", msg)
	}
	if rb, ok := e.Stages[0].Context["rollback"].(map[string]any); ok {
		fmt.Fprintf(d.out, "  rolled back: destroyed %v; the enabled server group kept serving\n", rb["destroyedServerGroup"])
	}
	time.Sleep(300 * time.Millisecond)
	tr.stopOnce()
	s.Served, s.Failed, s.FirstFailure = tr.counts()
	s.Cluster = d.clusterState(ctx)
	d.printSummary(s)
	switch {
	case s.Failed > 0:
		return s, fmt.Errorf("%d requests failed through the load balancer; first: %s", s.Failed, s.FirstFailure)
	case s.Statuses[1] != model.StatusSucceeded:
		return s, fmt.Errorf("the red/black of v2 ended %s", s.Statuses[1])
	case s.Statuses[2] != model.StatusTerminal:
		return s, fmt.Errorf("the broken v3 ended %s, not TERMINAL", s.Statuses[2])
	}
	return s, nil
}

func (d *driver) save(ctx context.Context, name, stages, params string) (*model.Pipeline, error) {
	if params == "" {
		params = "[]"
	}
	src := fmt.Sprintf(`{"application": %q, "name": %q, "id": %q, "parameterConfig": %s, "stages": %s}`,
		app, name, strings.ToLower(strings.ReplaceAll(name, " ", "-")), params, stages)
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", name, err)
	}
	if _, err := d.rt.Store.Pipelines().Save(ctx, &p, "demo", 0); err != nil {
		return nil, fmt.Errorf("save pipeline %s: %w", name, err)
	}
	return &p, nil
}

// runPipeline runs a pipeline to its end, printing each task as it ends and
// the traffic once a second.
func (d *driver) runPipeline(ctx context.Context, p *model.Pipeline, params map[string]any, tr *traffic) (*model.Execution, error) {
	id, err := d.rt.Orchestrator.TriggerPipeline(ctx, p, model.ExecutionTrigger{Type: "manual", User: "demo", Parameters: params}, "")
	if err != nil {
		return nil, err
	}
	printed := map[string]bool{}
	lastTraffic := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e, err := d.rt.Store.Executions().Get(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, st := range e.Stages {
			for _, t := range st.Tasks {
				k := string(st.ID) + t.ID
				if t.Status.IsComplete() && !printed[k] {
					printed[k] = true
					fmt.Fprintf(d.out, "  %-28s %-10s %5.1fs\n", t.Name, t.Status, float64(t.EndTime-t.StartTime)/1000)
				}
			}
		}
		if e.Status.IsComplete() && e.Orchestration.Finalized {
			return e, nil
		}
		if tr != nil && time.Since(lastTraffic) >= time.Second {
			lastTraffic = time.Now()
			served, failed, _ := tr.counts()
			fmt.Fprintf(d.out, "    traffic: %s, failed %d\n", describeServed(served), failed)
		}
		if time.Now().After(deadline) {
			return e, errors.New("the pipeline did not finish within 2 minutes")
		}
		select {
		case <-ctx.Done():
			return e, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func failure(e *model.Execution) string {
	for _, s := range e.Stages {
		if exc, ok := s.Context["exception"].(map[string]any); ok {
			details, _ := exc["details"].(map[string]any)
			msg, _ := details["error"].(string)
			return msg
		}
	}
	return ""
}

func (d *driver) clusterState(ctx context.Context) string {
	c, err := d.rt.Providers.Cloud("local", "local")
	if err != nil {
		return err.Error()
	}
	gs, err := c.ServerGroups.List(ctx, app)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, g := range gs {
		state := "enabled"
		if g.Disabled {
			state = "disabled"
		}
		version := ""
		if env, ok := g.Artifact["env"].(map[string]any); ok {
			version, _ = env["VERSION"].(string)
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s, %d/%d up)", g.Name, version, state, g.Counts.Up, g.Capacity.Desired))
	}
	return strings.Join(parts, "; ")
}

func (d *driver) printSummary(s *Summary) {
	fmt.Fprintln(d.out, "\n▸ summary")
	fmt.Fprintf(d.out, "  requests served: %s\n", describeServed(s.Served))
	fmt.Fprintf(d.out, "  failed requests: %d\n", s.Failed)
	fmt.Fprintf(d.out, "  red/black of v2: %.1fs end to end\n", s.RedBlack.Seconds())
	fmt.Fprintf(d.out, "  cluster hello-prod: %s\n", s.Cluster)
	fmt.Fprintln(d.out, "\n▸ where to look next")
	fmt.Fprintln(d.out, "  gennaker up                          the platform on http://localhost:8084 (Gate's API)")
	fmt.Fprintln(d.out, "  GET /applications/hello/serverGroups  server groups with health, capacity and provenance")
	fmt.Fprintln(d.out, "  <load balancer>/metrics              Prometheus request metrics per server group")
	fmt.Fprintln(d.out, "  examples/                            pipelines to save and run")
	if d.kept {
		fmt.Fprintf(d.out, "\n▸ the red/black and the rollback in the web UI: run\n    gennaker up --data-dir %s\n  and open http://127.0.0.1:8084/#/applications/%s/executions (clusters: #/applications/%s/clusters)\n", d.opts.DataDir, app, app)
	}
}

func describeServed(served map[string]int) string {
	if len(served) == 0 {
		return "none yet"
	}
	versions := make([]string, 0, len(served))
	total := 0
	for v, n := range served {
		versions = append(versions, v)
		total += n
	}
	sort.Strings(versions)
	parts := make([]string, 0, len(versions))
	for _, v := range versions {
		parts = append(parts, fmt.Sprintf("%s %d", v, served[v]))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// traffic sends requests through the load balancer until stopped, at most
// maxRequests over at most maxDuration.
type traffic struct {
	mu     sync.Mutex
	served map[string]int
	failed int
	first  string
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

const (
	maxRequests = 100000
	maxDuration = 3 * time.Minute
)

func startTraffic(url string) *traffic {
	tr := &traffic{served: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(tr.done)
		deadline := time.Now().Add(maxDuration)
		for i := 0; i < maxRequests && time.Now().Before(deadline); i++ {
			select {
			case <-tr.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			resp, err := client.Get(url)
			tr.mu.Lock()
			switch {
			case err != nil:
				tr.fail(err.Error())
			case resp.StatusCode != http.StatusOK:
				tr.fail(resp.Status)
			default:
				tr.served[resp.Header.Get("X-Version")]++
			}
			tr.mu.Unlock()
			if resp != nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	return tr
}

func (tr *traffic) fail(msg string) {
	tr.failed++
	if tr.first == "" {
		tr.first = msg
	}
}

func (tr *traffic) stopOnce() {
	tr.once.Do(func() { close(tr.stop) })
	<-tr.done
}

func (tr *traffic) counts() (map[string]int, int, string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[string]int, len(tr.served))
	for k, v := range tr.served {
		out[k] = v
	}
	return out, tr.failed, tr.first
}
