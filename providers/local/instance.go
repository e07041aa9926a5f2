package local

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// command is a decoded local/command artifact.
type command struct {
	Path string            `json:"command"`
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
}

// instance is one process of a server group.
type instance struct {
	id     string
	port   int
	launch time.Time
	cmd    *exec.Cmd
	logf   io.Closer

	health   atomic.Value // providers.Health
	draining atomic.Bool
	inflight atomic.Int64
	exited   chan struct{}
	stopOnce sync.Once
}

func (in *instance) state() providers.Health { return in.health.Load().(providers.Health) }

func (in *instance) addr() string { return fmt.Sprintf("127.0.0.1:%d", in.port) }

func (in *instance) isExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

// routable reports whether the load balancer may send it a request.
func (in *instance) routable() bool {
	return in.state() == providers.HealthUp && !in.draining.Load() && !in.isExited()
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the instance binds it; the instance then exits and is
// replaced on another port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start launches one instance of the group.
func (p *Provider) start(g *serverGroup, c command, index int) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a port: %w", err)
	}
	in := &instance{
		id:     fmt.Sprintf("%s-%d", g.rec.Spec.Name, index),
		port:   port,
		launch: p.opts.Now(),
		exited: make(chan struct{}),
	}
	in.health.Store(providers.HealthStarting)
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = os.Environ()
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("PORT=%d", port), "INSTANCE_ID="+in.id, "SERVER_GROUP="+g.rec.Spec.Name)
	if p.opts.LogDir != "" {
		dir := filepath.Join(p.opts.LogDir, g.rec.Account, g.rec.Spec.Name)
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if f, err := os.OpenFile(filepath.Join(dir, in.id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				cmd.Stdout, cmd.Stderr, in.logf = f, f, f
			}
		}
	}
	setProcAttrs(cmd)
	in.cmd = cmd
	if err := p.spawner.start(cmd); err != nil {
		if in.logf != nil {
			in.logf.Close()
		}
		return nil, fmt.Errorf("start %s: %w", c.Path, err)
	}
	go func() {
		_ = cmd.Wait()
		in.health.Store(providers.HealthDown)
		if in.logf != nil {
			in.logf.Close()
		}
		close(in.exited)
		p.nudge()
	}()
	go p.watch(in, g.rec.Spec.HealthCheckPath)
	return in, nil
}

// watch health-checks the instance until it exits.
func (p *Provider) watch(in *instance, path string) {
	client := &http.Client{
		Timeout:   max(p.opts.HealthInterval, time.Second),
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	t := time.NewTicker(p.opts.HealthInterval)
	defer t.Stop()
	for {
		check(client, in, path)
		select {
		case <-in.exited:
			return
		case <-t.C:
		}
	}
}

func check(client *http.Client, in *instance, path string) {
	if in.isExited() {
		return
	}
	if path == "" {
		conn, err := net.DialTimeout("tcp", in.addr(), client.Timeout)
		if err == nil {
			conn.Close()
			in.health.Store(providers.HealthUp)
		} else if in.state() == providers.HealthUp {
			in.health.Store(providers.HealthDown)
		}
		return
	}
	resp, err := client.Get("http://" + in.addr() + path)
	if err != nil {
		// Not listening yet is still starting; an instance that was up and
		// stops answering is down.
		if in.state() == providers.HealthUp {
			in.health.Store(providers.HealthDown)
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		in.health.Store(providers.HealthUp)
	} else {
		in.health.Store(providers.HealthDown)
	}
}

// drain takes the instance out of rotation, lets the requests it serves
// finish (up to timeout), then stops it.
func (in *instance) drain(timeout time.Duration) {
	in.draining.Store(true)
	deadline := time.Now().Add(timeout)
	for in.inflight.Load() > 0 && time.Now().Before(deadline) && !in.isExited() {
		time.Sleep(10 * time.Millisecond)
	}
	in.terminate(2 * time.Second)
}

// terminate asks the process group to stop, and kills it after grace.
func (in *instance) terminate(grace time.Duration) {
	in.stopOnce.Do(func() {
		in.draining.Store(true)
		if in.cmd.Process == nil {
			return
		}
		signalGroup(in.cmd, syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(grace):
			signalGroup(in.cmd, syscall.SIGKILL)
			<-in.exited
		}
	})
	<-in.exited
}

// spawner starts every process from one goroutine locked to its OS thread,
// so the parent-death signal (which Linux ties to the thread that forked)
// fires only when this whole process dies.
type spawner struct {
	reqs chan spawnReq
	once sync.Once
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the goroutine
		for r := range s.reqs {
			r.done <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	s.reqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}

func (s *spawner) close() { s.once.Do(func() { close(s.reqs) }) }
