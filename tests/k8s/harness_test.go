// Package k8s_test runs the Kubernetes manifest stages end to end: real
// pipelines, saved, triggered, judged and read through the HTTP API of a
// real local runtime, against a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok nodes) that
// hack/k8s-up.sh builds and starts.
//
// Set GENNAKER_K8S_KUBECONFIG to the kubeconfig of a running control plane
// (the last line of `make k8s-up`) to reuse it; otherwise the tests start
// their own in a temporary directory and stop it at the end. A machine that
// cannot run one fails the suite unless GENNAKER_K8S_SKIP is set.
package k8s_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gennaker/gennaker/providers"
	k8sprovider "github.com/gennaker/gennaker/providers/kubernetes"
	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

var (
	kubeconfig string
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	kubeconfig = os.Getenv("GENNAKER_K8S_KUBECONFIG")
	var stop func()
	if kubeconfig == "" {
		if reason := cannotRun(); reason != "" {
			// A suite that quietly skips hides whatever it would have
			// caught: skipping is a choice the person running it makes.
			if os.Getenv("GENNAKER_K8S_SKIP") == "" {
				fmt.Fprintf(os.Stderr, "the Kubernetes suite cannot run here: %s (set GENNAKER_K8S_SKIP=1 to skip it)\n", reason)
				return 1
			}
			skipReason = reason
			return m.Run()
		}
		var err error
		kubeconfig, stop, err = startControlPlane()
		if err != nil {
			fmt.Fprintf(os.Stderr, "start the control plane: %v\n", err)
			return 1
		}
		defer stop()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubeconfig %s: %v\n", kubeconfig, err)
		return 1
	}
	kube = kubernetes.NewForConfigOrDie(cfg)
	dyn = dynamic.NewForConfigOrDie(cfg)
	return m.Run()
}

// cannotRun names what this machine lacks to run a control plane, if
// anything: the components are Linux binaries and etcd comes from Debian.
func cannotRun() string {
	if runtime.GOOS != "linux" {
		return "the local control plane runs on Linux only; set GENNAKER_K8S_KUBECONFIG to use another cluster"
	}
	if _, err := exec.LookPath("etcd"); err == nil {
		return ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "etcd is not installed and there is no apt-get to install etcd-server"
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return "etcd is not installed, and installing etcd-server needs root or sudo"
		}
	}
	return ""
}

// startControlPlane runs hack/k8s-up.sh with its own state directory and
// returns the kubeconfig it printed last.
func startControlPlane() (string, func(), error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", nil, err
	}
	state, err := os.MkdirTemp("", "gennaker-k8s-test-")
	if err != nil {
		return "", nil, err
	}
	env := append(os.Environ(), "K8S_STATE_DIR="+state)
	start := time.Now()
	up := exec.Command(filepath.Join(root, "hack", "k8s-up.sh"))
	up.Env = env
	var stdout bytes.Buffer
	up.Stdout, up.Stderr = &stdout, os.Stderr
	if err := up.Run(); err != nil {
		return "", nil, fmt.Errorf("hack/k8s-up.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	kc := strings.TrimSpace(lines[len(lines)-1])
	fmt.Fprintf(os.Stderr, "control plane ready in %s: %s\n", time.Since(start).Round(time.Second), kc)
	stop := func() {
		down := exec.Command(filepath.Join(root, "hack", "k8s-down.sh"))
		down.Env, down.Stdout, down.Stderr = env, os.Stderr, os.Stderr
		if err := down.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "hack/k8s-down.sh: %v\n", err)
		}
	}
	return kc, stop, nil
}

func needCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

var nsCounter atomic.Int64

// namespace creates a namespace for one test and waits until pods can be
// created in it (its default service account exists).
func namespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid()%10000, nsCounter.Add(1))
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	eventually(t, 30*time.Second, "the default service account of "+name, func() error {
		_, err := kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	return name
}

// env is a local runtime whose Kubernetes accounts reach the control plane.
type env struct {
	t   *testing.T
	rt  *local.Runtime
	api *httptest.Server
	app string
	n   int
}

// accountsYAML is an accounts file as a user writes it; %s is the
// kubeconfig, the namespaces are filled per test.
const accountsYAML = `
accounts:
- name: k8s
  provider: kubernetes
  kubeconfig: %[1]s
  context: gennaker-local
  namespaces: [%[2]s]
- name: k8s-staging
  provider: kubernetes
  kubeconfig: %[1]s
  namespaces: [%[3]s]
- name: k8s-prod
  provider: kubernetes
  kubeconfig: %[1]s
  namespaces: [%[4]s]
- name: k8s-unreachable
  provider: kubernetes
  kubeconfig: %[5]s
`

// newEnv opens a runtime whose "k8s" account may use namespaces, and whose
// "k8s-staging" and "k8s-prod" accounts may use staging and prod.
func newEnv(t *testing.T, namespaces []string, staging, prod string) *env {
	t.Helper()
	needCluster(t)
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "unreachable.kubeconfig")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`), 0o600); err != nil {
		t.Fatal(err)
	}
	accts, err := providers.ParseAccounts([]byte(fmt.Sprintf(accountsYAML, kubeconfig,
		strings.Join(namespaces, ", "), orNone(staging), orNone(prod), unreachable)))
	if err != nil {
		t.Fatalf("accounts: %v", err)
	}
	// The accounts reach the runtime as `gennaker up --accounts` hands them
	// over, and the API is the one `gennaker up` serves.
	rt, err := local.Open(context.Background(), local.Options{DataDir: dir, Accounts: accts})
	if err != nil {
		t.Fatalf("open runtime: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	srv := httptest.NewServer(api.New(api.Options{
		Store:        rt.Store,
		Orchestrator: rt.Orchestrator,
		Registry:     rt.Orchestrator.Registry(),
		Mounts:       []api.Mount{{Patterns: deployapi.Patterns, Handler: deployapi.New(rt.Providers, nil)}},
	}))
	t.Cleanup(srv.Close)
	e := &env{t: t, rt: rt, api: srv, app: "shop"}
	e.call("POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": e.app, "email": "shop@example.com"}}}}, nil)
	return e
}

// call sends one API request and decodes the answer into out; a status
// other than 2xx fails the test.
func (e *env) call(method, path string, body, out any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-SPINNAKER-USER", "tester")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// try sends one API request and returns the status and body, whatever they are.
func (e *env) try(method, path string, body any) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.api.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// judge makes a manual judgment through the API.
func (e *env) judge(id model.ExecutionID, stageID model.StageID, status, input string) {
	e.t.Helper()
	e.call("PATCH", "/pipelines/"+string(id)+"/stages/"+string(stageID), map[string]any{"judgmentStatus": status, "judgmentInput": input}, nil)
}

func orNone(s string) string {
	if s == "" {
		return "none-such"
	}
	return s
}

// start saves a pipeline of the given stages and triggers it.
func (e *env) start(stageJSON ...string) model.ExecutionID {
	e.t.Helper()
	e.n++
	src := fmt.Sprintf(`{"application": %q, "name": "p%d", "id": "%s-p%d", "stages": [%s]}`,
		e.app, e.n, strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(e.t.Name())), e.n, strings.Join(stageJSON, ","))
	var p map[string]any
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		e.t.Fatalf("pipeline JSON: %v\n%s", err, src)
	}
	e.call("POST", "/pipelines", p, nil)
	var ref struct{ Ref string }
	e.call("POST", fmt.Sprintf("/pipelines/%s/p%d", e.app, e.n), map[string]any{"type": "manual", "user": "tester"}, &ref)
	return model.ExecutionID(strings.TrimPrefix(ref.Ref, "/pipelines/"))
}

// run starts a pipeline and waits for it to end.
func (e *env) run(stageJSON ...string) *model.Execution {
	e.t.Helper()
	return e.wait(e.start(stageJSON...), 2*time.Minute)
}

// get reads a run as GET /pipelines/{id} renders it.
func (e *env) get(id model.ExecutionID) *model.Execution {
	e.t.Helper()
	var ex model.Execution
	e.call("GET", "/pipelines/"+string(id), nil, &ex)
	return &ex
}

func (e *env) wait(id model.ExecutionID, timeout time.Duration) *model.Execution {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ex := e.get(id)
		if ex.Status.IsComplete() {
			return ex
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s did not end within %s: %s", id, timeout, describe(ex))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describe(ex *model.Execution) string {
	if ex == nil {
		return "not stored"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s", ex.Status)
	for i := range ex.Stages {
		s := &ex.Stages[i]
		fmt.Fprintf(&b, "\n  %s (%s) %s %s", s.Name, s.Type, s.Status, strings.Join(stageErrors(s), "; "))
		if msgs, ok := s.Context["messages"]; ok {
			fmt.Fprintf(&b, " messages=%v", msgs)
		}
	}
	return b.String()
}

func stageErrors(s *model.StageExecution) []string {
	exc, _ := s.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	list, _ := details["errors"].([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func stageNamed(t *testing.T, ex *model.Execution, name string) *model.StageExecution {
	t.Helper()
	for i := range ex.Stages {
		if ex.Stages[i].Name == name {
			return &ex.Stages[i]
		}
	}
	t.Fatalf("no stage %q in %s", name, describe(ex))
	return nil
}

func assertStatus(t *testing.T, ex *model.Execution, want model.Status) {
	t.Helper()
	if ex.Status != want {
		t.Fatalf("run is %s, want %s: %s", ex.Status, want, describe(ex))
	}
}

// assertFailedWith asserts the run is TERMINAL and the stage's error says
// each fragment.
func assertFailedWith(t *testing.T, ex *model.Execution, stage string, fragments ...string) {
	t.Helper()
	assertStatus(t, ex, model.StatusTerminal)
	msg := strings.Join(stageErrors(stageNamed(t, ex, stage)), "\n")
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("stage %q failed with %q, which does not say %q", stage, msg, f)
		}
	}
}

// eventually retries check until it passes or the timeout ends.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stage builds a stage's JSON from a name, a type and extra members.
func stage(refID, name, typ string, fields map[string]any, requisites ...string) string {
	m := map[string]any{"refId": refID, "name": name, "type": typ}
	for k, v := range fields {
		m[k] = v
	}
	if len(requisites) > 0 {
		m["requisiteStageRefIds"] = requisites
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// yamlDocs reads YAML manifests the way a pipeline stores them: objects.
func objects(t *testing.T, js string) []any {
	t.Helper()
	var out []any
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("manifests JSON: %v\n%s", err, js)
	}
	return out
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

var jsonUnmarshal = json.Unmarshal

// providersAccount is the "k8s" account limited to ns, as the deployment
// stages see it through the providers interfaces.
func providersAccount(t *testing.T, ns string) *providers.Cloud {
	t.Helper()
	c, err := k8sprovider.New().Cloud(providers.Account{Name: "k8s", Provider: k8sprovider.Name,
		Fields: map[string]any{"kubeconfig": kubeconfig, "namespaces": []any{ns}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func providersCapacity(n int) providers.Capacity {
	return providers.Capacity{Min: n, Max: n, Desired: n}
}
