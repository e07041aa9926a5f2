package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// lbRecord is a load balancer's recorded state.
type lbRecord struct {
	Account string                     `json:"account"`
	Spec    providers.LoadBalancerSpec `json:"spec"`
}

// loadBalancer is a reverse proxy on a loopback port.
type loadBalancer struct {
	p       *Provider
	rec     lbRecord
	rr      atomic.Uint64
	metrics *metrics
	proxy   *http.Transport

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

func newLoadBalancer(p *Provider, rec lbRecord) *loadBalancer {
	return &loadBalancer{
		p:       p,
		rec:     rec,
		metrics: newMetrics(),
		proxy: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

func (lb *loadBalancer) listening() bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.ln != nil
}

func (lb *loadBalancer) url() string {
	return fmt.Sprintf("http://127.0.0.1:%d", lb.rec.Spec.ListenPort)
}

// listen binds the recorded port (a free one when it is 0, recorded by the
// caller) and serves.
func (lb *loadBalancer) listen() error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lb.rec.Spec.ListenPort))
	if err != nil {
		return err
	}
	lb.rec.Spec.ListenPort = ln.Addr().(*net.TCPAddr).Port
	lb.ln = ln
	srv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	lb.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (lb *loadBalancer) close() {
	lb.mu.Lock()
	srv := lb.srv
	lb.srv, lb.ln = nil, nil
	lb.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	lb.proxy.CloseIdleConnections()
}

type backend struct {
	group string
	in    *instance
}

// pick chooses the next healthy instance of an enabled server group behind
// this load balancer, round-robin, skipping those in skip, and counts the
// request against it before anyone can start draining it.
func (lb *loadBalancer) pick(skip map[*instance]bool) (backend, bool) {
	p := lb.p
	p.mu.RLock()
	defer p.mu.RUnlock()
	var cands []backend
	for _, g := range p.groups {
		if g.rec.Disabled || g.rec.Account != lb.rec.Account || g.rec.Spec.Region != lb.rec.Spec.Region {
			continue
		}
		named := false
		for _, n := range g.rec.Spec.LoadBalancers {
			named = named || n == lb.rec.Spec.Name
		}
		if !named {
			continue
		}
		for _, in := range g.instances {
			if in.routable() && !skip[in] {
				cands = append(cands, backend{g.rec.Spec.Name, in})
			}
		}
	}
	if len(cands) == 0 {
		return backend{}, false
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].in.id < cands[j].in.id })
	b := cands[lb.rr.Add(1)%uint64(len(cands))]
	b.in.inflight.Add(1)
	return b, true
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// ServeHTTP proxies a request, or serves the metrics on /metrics.
func (lb *loadBalancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		lb.metrics.write(w, lb.rec.Spec.Name)
		return
	}
	start := time.Now()
	// A request without a body can be sent again when an instance goes away
	// before it answers (it was stopped between the pick and the dial).
	retryable := r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	skip := map[*instance]bool{}
	for attempt := 0; ; attempt++ {
		b, ok := lb.pick(skip)
		if !ok {
			lb.metrics.observe("", http.StatusServiceUnavailable, time.Since(start))
			http.Error(w, fmt.Sprintf("load balancer %s: no healthy instance of an enabled server group", lb.rec.Spec.Name), http.StatusServiceUnavailable)
			return
		}
		resp, err := lb.forward(r, b)
		if err != nil {
			b.in.inflight.Add(-1)
			skip[b.in] = true
			if retryable && attempt < 3 && r.Context().Err() == nil {
				continue
			}
			lb.metrics.observe(b.group, http.StatusBadGateway, time.Since(start))
			http.Error(w, fmt.Sprintf("load balancer %s: instance %s: %v", lb.rec.Spec.Name, b.in.id, err), http.StatusBadGateway)
			return
		}
		copyHeader(w.Header(), resp.Header)
		w.Header().Set("X-Server-Group", b.group)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		b.in.inflight.Add(-1)
		lb.metrics.observe(b.group, resp.StatusCode, time.Since(start))
		return
	}
}

func (lb *loadBalancer) forward(r *http.Request, b backend) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	out.URL.Host = b.in.addr()
	out.Host = r.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		prior := r.Header.Get("X-Forwarded-For")
		if prior != "" {
			ip = prior + ", " + ip
		}
		out.Header.Set("X-Forwarded-For", ip)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	return lb.proxy.RoundTrip(out)
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		skip := false
		for _, h := range hopHeaders {
			skip = skip || strings.EqualFold(k, h)
		}
		if skip {
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// view is the load balancer as the interfaces report it.
func (lb *loadBalancer) view() providers.LoadBalancer {
	p := lb.p
	v := providers.LoadBalancer{
		Name:          lb.rec.Spec.Name,
		Application:   lb.rec.Spec.Application,
		Account:       lb.rec.Account,
		Region:        lb.rec.Spec.Region,
		CloudProvider: Name,
		ListenPort:    lb.rec.Spec.ListenPort,
		URL:           lb.url(),
		ServerGroups:  []providers.LoadBalancerServerGroup{},
	}
	for _, g := range p.groups {
		if g.rec.Account != lb.rec.Account || g.rec.Spec.Region != lb.rec.Spec.Region {
			continue
		}
		for _, n := range g.rec.Spec.LoadBalancers {
			if n == lb.rec.Spec.Name {
				gv := g.view()
				v.ServerGroups = append(v.ServerGroups, providers.LoadBalancerServerGroup{Name: gv.Name, IsDisabled: gv.Disabled, Instances: gv.Instances})
			}
		}
	}
	sort.Slice(v.ServerGroups, func(i, j int) bool { return v.ServerGroups[i].Name < v.ServerGroups[j].Name })
	return v
}

type loadBalancers struct{ c *cloud }

var _ providers.LoadBalancers = loadBalancers{}

// Upsert implements providers.LoadBalancers. The load balancer listens
// before Upsert returns; a port in use is an error naming it.
func (l loadBalancers) Upsert(ctx context.Context, spec providers.LoadBalancerSpec) (*providers.LoadBalancer, error) {
	if err := l.c.checkRegion(spec.Region); err != nil {
		return nil, err
	}
	if spec.Name == "" {
		return nil, errors.New("a load balancer needs a name")
	}
	if spec.ListenPort < 0 || spec.ListenPort > 65535 {
		return nil, fmt.Errorf("load balancer %s: listenPort %d is not a port", spec.Name, spec.ListenPort)
	}
	p := l.c.p
	k := l.c.key(spec.Region, spec.Name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if lb, ok := p.lbs[k]; ok {
		same := spec.ListenPort == 0 || spec.ListenPort == lb.rec.Spec.ListenPort
		if same {
			if spec.Application != "" && spec.Application != lb.rec.Spec.Application {
				lb.rec.Spec.Application = spec.Application
				if err := p.put(ctx, recordKey(loadBalancerPrefix, lb.rec.Account, spec.Region, spec.Name), lb.rec); err != nil {
					return nil, err
				}
			}
			v := lb.view()
			return &v, nil
		}
		lb.close()
		delete(p.lbs, k)
	}
	lb := newLoadBalancer(p, lbRecord{Account: l.c.acct.Name, Spec: spec})
	if err := lb.listen(); err != nil {
		return nil, fmt.Errorf("load balancer %s cannot listen on 127.0.0.1:%d: %w", spec.Name, spec.ListenPort, err)
	}
	if err := p.put(ctx, recordKey(loadBalancerPrefix, lb.rec.Account, spec.Region, spec.Name), lb.rec); err != nil {
		lb.close()
		return nil, fmt.Errorf("record load balancer %s: %w", spec.Name, err)
	}
	p.lbs[k] = lb
	v := lb.view()
	return &v, nil
}

// Get implements providers.LoadBalancers.
func (l loadBalancers) Get(_ context.Context, region, name string) (*providers.LoadBalancer, error) {
	p := l.c.p
	p.mu.RLock()
	defer p.mu.RUnlock()
	lb, ok := p.lbs[l.c.key(region, name)]
	if !ok {
		return nil, fmt.Errorf("load balancer %s in %s/%s: %w", name, l.c.acct.Name, region, providers.ErrNotFound)
	}
	v := lb.view()
	return &v, nil
}

// List implements providers.LoadBalancers.
func (l loadBalancers) List(context.Context) ([]providers.LoadBalancer, error) {
	p := l.c.p
	p.mu.RLock()
	out := []providers.LoadBalancer{}
	for _, lb := range p.lbs {
		if lb.rec.Account == l.c.acct.Name {
			out = append(out, lb.view())
		}
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements providers.LoadBalancers.
func (l loadBalancers) Delete(ctx context.Context, region, name string) error {
	p := l.c.p
	k := l.c.key(region, name)
	p.mu.Lock()
	lb, ok := p.lbs[k]
	if !ok {
		p.mu.Unlock()
		return nil
	}
	if err := p.opts.Records.Delete(ctx, recordKey(loadBalancerPrefix, l.c.acct.Name, region, name)); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("delete load balancer %s: %w", name, err)
	}
	delete(p.lbs, k)
	p.mu.Unlock()
	lb.close()
	return nil
}
