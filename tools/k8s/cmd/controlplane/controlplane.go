package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var errAlreadyRunning = errors.New("a control plane is already running in this state directory but is not healthy; run `make k8s-down` first")

// controlPlane is one control plane being started.
type controlPlane struct {
	state string // everything of this control plane lives here
	bin   string // kube-apiserver, kube-controller-manager, kube-scheduler, kwok
	crds  string // kwok's CRDs, installed when set
	nodes int

	pki   *pki
	token string
	procs []*process
}

// process is one started component.
type process struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	Exe  string `json:"exe"`
	// exited is closed when the process ends while up is still running.
	exited chan struct{}
	err    error
	log    string
}

func (cp *controlPlane) path(parts ...string) string {
	return filepath.Join(append([]string{cp.state}, parts...)...)
}

// up starts every component, waits until the control plane schedules pods
// onto Ready nodes, and returns the kubeconfig path. A healthy control plane
// already running in the state directory is reused.
func (cp *controlPlane) up(ctx context.Context) (string, error) {
	kubeconfig := cp.path("kubeconfig")
	if procs, err := readPids(cp.state); err == nil && len(procs) > 0 {
		if allAlive(procs) && apiHealthy(ctx, kubeconfig) {
			fmt.Fprintf(os.Stderr, "control plane already running (state %s)\n", cp.state)
			return kubeconfig, nil
		}
		fmt.Fprintf(os.Stderr, "stopping the unhealthy control plane left in %s\n", cp.state)
		if err := down(cp.state, true); err != nil {
			return "", err
		}
	}
	_ = os.RemoveAll(cp.state)
	for _, dir := range []string{"logs", "etcd", "pki", "kwok-logs"} {
		if err := os.MkdirAll(cp.path(dir), 0o700); err != nil {
			return "", err
		}
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return "", errors.New("etcd is not installed (apt-get install etcd-server)")
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, err := os.Stat(filepath.Join(cp.bin, b)); err != nil {
			return "", fmt.Errorf("%s is not built in %s (hack/k8s-up.sh builds it)", b, cp.bin)
		}
	}
	if err := cp.makePKI(); err != nil {
		return "", fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(7)
	if err != nil {
		return "", err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort, kwokMetrics := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]
	_ = kwokMetrics

	// etcd
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := cp.start("etcd", etcd,
		"--name=default",
		"--data-dir="+cp.path("etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--logger=zap", "--log-outputs=stderr",
	); err != nil {
		return "", err
	}
	if err := cp.waitHTTP(ctx, "etcd", etcdURL+"/health", nil, ""); err != nil {
		return "", err
	}

	// kube-apiserver, on loopback only, with token and certificate auth.
	p := cp.pki.path
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := cp.start("kube-apiserver", filepath.Join(cp.bin, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+p("apiserver.crt"), "--tls-private-key-file="+p("apiserver.key"),
		"--client-ca-file="+p("ca.crt"),
		"--token-auth-file="+p("tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p("sa.pub"),
		"--service-account-signing-key-file="+p("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate="+p("admin.crt"), "--kubelet-client-key="+p("admin.key"),
		"--allow-privileged=true",
		"--profiling=false",
	); err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cp.pki.caCert)
	if err := cp.waitHTTP(ctx, "kube-apiserver", apiURL+"/readyz", pool, cp.token); err != nil {
		return "", err
	}
	if err := cp.writeKubeconfig(kubeconfig, apiURL); err != nil {
		return "", err
	}

	// Controllers and the scheduler.
	if err := cp.start("kube-controller-manager", filepath.Join(cp.bin, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
		"--leader-elect=false",
		"--service-account-private-key-file="+p("sa.key"),
		"--root-ca-file="+p("ca.crt"),
		"--cluster-signing-cert-file="+p("ca.crt"), "--cluster-signing-key-file="+p("ca.key"),
		"--use-service-account-credentials=false",
		"--profiling=false",
	); err != nil {
		return "", err
	}
	if err := cp.start("kube-scheduler", filepath.Join(cp.bin, "kube-scheduler"),
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
		"--leader-elect=false",
		"--profiling=false",
	); err != nil {
		return "", err
	}

	api, err := newAPI(kubeconfig)
	if err != nil {
		return "", err
	}
	kwokArgs := []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + cp.path("kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(kwokPort),
		"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort),
		"--tls-cert-file=" + p("kwok.crt"), "--tls-private-key-file=" + p("kwok.key"),
		"--node-lease-duration-seconds=40",
		"--cidr=10.244.0.1/16",
	}
	if err := os.WriteFile(cp.path("kwok.yaml"), []byte(kwokStages()), 0o600); err != nil {
		return "", err
	}
	if cp.crds != "" {
		if err := api.installCRDs(ctx, cp.crds, "logs", "clusterlogs"); err != nil {
			return "", fmt.Errorf("kwok CRDs: %w", err)
		}
		kwokArgs = append(kwokArgs, "--enable-crds=Logs,ClusterLogs")
	}
	if err := cp.start("kwok", filepath.Join(cp.bin, "kwok"), kwokArgs...); err != nil {
		return "", err
	}
	if err := cp.waitHTTP(ctx, "kube-controller-manager", fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort), nil, ""); err != nil {
		return "", err
	}
	if err := cp.waitHTTP(ctx, "kube-scheduler", fmt.Sprintf("https://127.0.0.1:%d/healthz", schedPort), nil, ""); err != nil {
		return "", err
	}
	if err := api.createNodes(ctx, cp.nodes); err != nil {
		return "", err
	}
	if err := cp.until(ctx, "the fake nodes to become Ready", func() (bool, error) { return api.nodesReady(ctx, cp.nodes) }); err != nil {
		return "", err
	}
	if err := cp.until(ctx, "the default service account", func() (bool, error) { return api.defaultServiceAccount(ctx) }); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "control plane up: api %s, %d kwok nodes, state %s\n", apiURL, cp.nodes, cp.state)
	fmt.Fprintf(os.Stderr, "stop it with: make k8s-down (or hack/k8s-down.sh)\n")
	return kubeconfig, nil
}

func (cp *controlPlane) makePKI() error {
	pk, err := newPKI(cp.path("pki"))
	if err != nil {
		return err
	}
	cp.pki = pk
	loop := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
	if err := pk.issue("apiserver", "kube-apiserver", nil, loop,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}); err != nil {
		return err
	}
	if err := pk.issue("admin", "admin", []string{"system:masters"}, nil, nil); err != nil {
		return err
	}
	if err := pk.issue("kwok", "kwok", nil, loop[:1], []string{"localhost"}); err != nil {
		return err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	cp.token = hex.EncodeToString(b)
	return os.WriteFile(pk.path("tokens.csv"), []byte(cp.token+`,admin,admin,"system:masters"`+"\n"), 0o600)
}

func (cp *controlPlane) writeKubeconfig(path, server string) error {
	ca, err := os.ReadFile(cp.pki.path("ca.crt"))
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gennaker-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: gennaker-local
  context:
    cluster: gennaker-local
    user: admin
    namespace: default
current-context: gennaker-local
`, server, base64.StdEncoding.EncodeToString(ca), cp.token)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// start runs a component in its own session, so it outlives this command,
// with its output in logs/<name>.log, and records its pid.
func (cp *controlPlane) start(name, exe string, args ...string) error {
	logPath := cp.path("logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Stdin = nil
	cmd.Dir = cp.state
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{Name: name, Pid: cmd.Process.Pid, Exe: exe, exited: make(chan struct{}), log: logPath}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	cp.procs = append(cp.procs, p)
	fmt.Fprintf(os.Stderr, "started %s (pid %d, log %s)\n", name, p.Pid, logPath)
	return writePids(cp.state, cp.procs)
}

// until polls cond until it holds, a component exits, or ctx ends.
func (cp *controlPlane) until(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		for _, p := range cp.procs {
			select {
			case <-p.exited:
				return fmt.Errorf("%s exited while waiting for %s: %v\n%s", p.Name, what, p.err, tail(p.log, 25))
			default:
			}
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("timed out waiting for %s: %v", what, last)
			}
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// waitHTTP waits until url answers 200. A nil pool skips verification (the
// controllers' self-signed serving certificates).
func (cp *controlPlane) waitHTTP(ctx context.Context, name, url string, pool *x509.CertPool, token string) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, InsecureSkipVerify: pool == nil},
	}}
	return cp.until(ctx, name+" to be ready", func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
		}
		return true, nil
	})
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func writePids(state string, procs []*process) error {
	b, err := json.MarshalIndent(procs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(state, "pids.json"), b, 0o600)
}

func readPids(state string) ([]*process, error) {
	b, err := os.ReadFile(filepath.Join(state, "pids.json"))
	if err != nil {
		return nil, err
	}
	var procs []*process
	return procs, json.Unmarshal(b, &procs)
}

// alive reports whether the recorded process still runs the recorded
// binary, so a reused pid is never signalled.
func alive(p *process) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid))
	if err != nil {
		return false
	}
	return strings.TrimSuffix(exe, " (deleted)") == p.Exe
}

func allAlive(procs []*process) bool {
	for _, p := range procs {
		if !alive(p) {
			return false
		}
	}
	return true
}

// down stops the recorded processes, newest first, and removes the state
// directory when remove is set.
func down(state string, remove bool) error {
	procs, err := readPids(state)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if !alive(p) {
			continue
		}
		_ = syscall.Kill(p.Pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(p) {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
		fmt.Fprintf(os.Stderr, "stopped %s (pid %d)\n", p.Name, p.Pid)
	}
	if remove {
		return os.RemoveAll(state)
	}
	return nil
}
