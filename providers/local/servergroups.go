package local

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/naming"
)

// sgRecord is a server group's recorded desired state.
type sgRecord struct {
	Account     string                    `json:"account"`
	Spec        providers.ServerGroupSpec `json:"spec"`
	Capacity    providers.Capacity        `json:"capacity"`
	Disabled    bool                      `json:"disabled"`
	CreatedTime int64                     `json:"createdTime"`
}

// serverGroup is a server group and its running instances.
type serverGroup struct {
	rec       sgRecord
	cmd       command
	instances []*instance
	next      int // index of the next instance
	failures  int // quick exits in a row
	restartAt time.Time
	lastError string
}

func recordKey(prefix, account, region, name string) string {
	return prefix + key(account, region, name)
}

// decodeCommand checks and decodes a local/command artifact.
func decodeCommand(artifact map[string]any) (command, error) {
	var c command
	if artifact == nil {
		return c, fmt.Errorf("the artifact is missing: a local server group runs a %s artifact {type, command, args, env}", ArtifactType)
	}
	if t, _ := artifact["type"].(string); t != ArtifactType {
		return c, fmt.Errorf("artifact type %q is not %q", t, ArtifactType)
	}
	b, err := json.Marshal(artifact)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("artifact: %w", err)
	}
	if c.Path == "" {
		if ref, _ := artifact["reference"].(string); ref != "" {
			c.Path = ref
		}
	}
	if c.Path == "" {
		return c, fmt.Errorf("artifact has no command to run")
	}
	return c, nil
}

// view is the group as the interfaces report it. Call with p.mu held.
func (g *serverGroup) view() providers.ServerGroup {
	cluster := naming.ClusterOf(g.rec.Spec.Name)
	app := g.rec.Spec.Provenance.Application
	sg := providers.ServerGroup{
		Name:            g.rec.Spec.Name,
		Cluster:         cluster,
		Application:     string(app),
		Account:         g.rec.Account,
		Region:          g.rec.Spec.Region,
		CloudProvider:   Name,
		Disabled:        g.rec.Disabled,
		Capacity:        g.rec.Capacity,
		Instances:       []providers.Instance{},
		CreatedTime:     g.rec.CreatedTime,
		Artifact:        g.rec.Spec.Artifact,
		LoadBalancers:   append([]string{}, g.rec.Spec.LoadBalancers...),
		HealthCheckPath: g.rec.Spec.HealthCheckPath,
		Provenance:      g.rec.Spec.Provenance,
	}
	if n, err := naming.ParseServerGroup(g.rec.Spec.Name); err == nil && sg.Application == "" {
		sg.Application = n.App
	}
	for _, in := range g.instances {
		if in.draining.Load() {
			continue
		}
		h := in.state()
		if h == providers.HealthUp && g.rec.Disabled {
			h = providers.HealthOutOfService
		}
		sg.Instances = append(sg.Instances, providers.Instance{ID: in.id, Health: h, LaunchTime: in.launch.UnixMilli(), Address: in.addr()})
		sg.Counts.Total++
		switch h {
		case providers.HealthUp:
			sg.Counts.Up++
		case providers.HealthDown:
			sg.Counts.Down++
		case providers.HealthStarting:
			sg.Counts.Starting++
		case providers.HealthOutOfService:
			sg.Counts.OutOfService++
		default:
			sg.Counts.Unknown++
		}
	}
	return sg
}

type serverGroups struct{ c *cloud }

var _ providers.ServerGroups = serverGroups{}

// Create implements providers.ServerGroups.
func (s serverGroups) Create(ctx context.Context, spec providers.ServerGroupSpec) (*providers.ServerGroup, error) {
	if err := s.c.checkRegion(spec.Region); err != nil {
		return nil, err
	}
	if _, err := naming.ParseServerGroup(spec.Name); err != nil {
		return nil, err
	}
	cmd, err := decodeCommand(spec.Artifact)
	if err != nil {
		return nil, fmt.Errorf("server group %s: %w", spec.Name, err)
	}
	if err := checkCapacity(spec.Capacity); err != nil {
		return nil, fmt.Errorf("server group %s: %w", spec.Name, err)
	}
	p := s.c.p
	k := s.c.key(spec.Region, spec.Name)
	p.mu.Lock()
	defer p.mu.Unlock()
	if g, ok := p.groups[k]; ok {
		v := g.view()
		return &v, nil
	}
	rec := sgRecord{Account: s.c.acct.Name, Spec: spec, Capacity: spec.Capacity, Disabled: spec.Disabled, CreatedTime: p.opts.Now().UnixMilli()}
	if err := p.put(ctx, recordKey(serverGroupPrefix, rec.Account, spec.Region, spec.Name), rec); err != nil {
		return nil, fmt.Errorf("record server group %s: %w", spec.Name, err)
	}
	g := &serverGroup{rec: rec, cmd: cmd}
	p.groups[k] = g
	p.nudge()
	v := g.view()
	return &v, nil
}

func checkCapacity(c providers.Capacity) error {
	if c.Min < 0 || c.Desired < 0 || c.Max < 0 {
		return fmt.Errorf("capacity %+v must not be negative", c)
	}
	if c.Min > c.Desired || (c.Max > 0 && c.Desired > c.Max) {
		return fmt.Errorf("capacity must satisfy min ≤ desired ≤ max, got min %d, desired %d, max %d", c.Min, c.Desired, c.Max)
	}
	return nil
}

// Get implements providers.ServerGroups.
func (s serverGroups) Get(_ context.Context, region, name string) (*providers.ServerGroup, error) {
	p := s.c.p
	p.mu.RLock()
	defer p.mu.RUnlock()
	g, ok := p.groups[s.c.key(region, name)]
	if !ok {
		return nil, fmt.Errorf("server group %s in %s/%s: %w", name, s.c.acct.Name, region, providers.ErrNotFound)
	}
	v := g.view()
	return &v, nil
}

// List implements providers.ServerGroups.
func (s serverGroups) List(_ context.Context, app string) ([]providers.ServerGroup, error) {
	p := s.c.p
	p.mu.RLock()
	out := []providers.ServerGroup{}
	for _, g := range p.groups {
		if g.rec.Account != s.c.acct.Name {
			continue
		}
		v := g.view()
		if app != "" && v.Application != app {
			continue
		}
		out = append(out, v)
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedTime != out[j].CreatedTime {
			return out[i].CreatedTime < out[j].CreatedTime
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// update changes a recorded group under the lock and records it.
func (s serverGroups) update(ctx context.Context, region, name string, fn func(g *serverGroup) bool) error {
	p := s.c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.groups[s.c.key(region, name)]
	if !ok {
		return fmt.Errorf("server group %s in %s/%s: %w", name, s.c.acct.Name, region, providers.ErrNotFound)
	}
	before := g.rec
	if !fn(g) {
		return nil
	}
	if err := p.put(ctx, recordKey(serverGroupPrefix, g.rec.Account, region, name), g.rec); err != nil {
		g.rec = before
		return fmt.Errorf("record server group %s: %w", name, err)
	}
	p.nudge()
	return nil
}

// SetEnabled implements providers.ServerGroups.
func (s serverGroups) SetEnabled(ctx context.Context, region, name string, enabled bool) error {
	return s.update(ctx, region, name, func(g *serverGroup) bool {
		if g.rec.Disabled == !enabled {
			return false
		}
		g.rec.Disabled = !enabled
		return true
	})
}

// Resize implements providers.ServerGroups.
func (s serverGroups) Resize(ctx context.Context, region, name string, c providers.Capacity) error {
	if err := checkCapacity(c); err != nil {
		return fmt.Errorf("resize %s: %w", name, err)
	}
	return s.update(ctx, region, name, func(g *serverGroup) bool {
		if g.rec.Capacity == c {
			return false
		}
		g.rec.Capacity = c
		return true
	})
}

// Destroy implements providers.ServerGroups.
func (s serverGroups) Destroy(ctx context.Context, region, name string) error {
	p := s.c.p
	k := s.c.key(region, name)
	p.mu.Lock()
	g, ok := p.groups[k]
	if !ok {
		p.mu.Unlock()
		return nil
	}
	if err := p.opts.Records.Delete(ctx, recordKey(serverGroupPrefix, s.c.acct.Name, region, name)); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("destroy server group %s: %w", name, err)
	}
	delete(p.groups, k)
	instances := g.instances
	g.instances = nil
	for _, in := range instances {
		in.draining.Store(true)
	}
	p.mu.Unlock()
	for _, in := range instances {
		go in.drain(p.opts.DrainTimeout)
	}
	return nil
}

// supervise reconciles every server group on each tick or nudge.
func (p *Provider) supervise() {
	defer close(p.done)
	t := time.NewTicker(p.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		case <-p.kick:
		}
		p.reconcile()
	}
}

// reconcile starts instances a group lacks (replacing those that exited)
// and drains those it has beyond its desired count.
func (p *Provider) reconcile() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.opts.Now()
	for _, lb := range p.lbs {
		if !lb.listening() {
			if err := lb.listen(); err == nil {
				p.log.Info("load balancer listening", "loadBalancer", lb.rec.Spec.Name, "url", lb.url())
			}
		}
	}
	for _, g := range p.groups {
		live := g.instances[:0]
		for _, in := range g.instances {
			if !in.isExited() {
				live = append(live, in)
				continue
			}
			if !in.draining.Load() {
				if now.Sub(in.launch) < 2*time.Second {
					g.failures++
					g.restartAt = now.Add(min(100*time.Millisecond<<min(g.failures, 6), 5*time.Second))
				} else {
					g.failures = 0
				}
				p.log.Warn("instance exited; replacing it", "serverGroup", g.rec.Spec.Name, "instance", in.id)
			}
		}
		g.instances = live
		var active []*instance
		for _, in := range g.instances {
			if !in.draining.Load() {
				active = append(active, in)
			}
		}
		want := g.rec.Capacity.Desired
		if len(active) > want {
			// Stop the least useful first: not up, then newest.
			sort.SliceStable(active, func(i, j int) bool {
				ui, uj := active[i].state() == providers.HealthUp, active[j].state() == providers.HealthUp
				if ui != uj {
					return !ui
				}
				return active[i].launch.After(active[j].launch)
			})
			for _, in := range active[:len(active)-want] {
				in.draining.Store(true)
				go in.drain(p.opts.DrainTimeout)
			}
			continue
		}
		if len(active) == want || now.Before(g.restartAt) {
			continue
		}
		if g.cmd.Path == "" {
			c, err := decodeCommand(g.rec.Spec.Artifact)
			if err != nil {
				g.lastError = err.Error()
				continue
			}
			g.cmd = c
		}
		for range want - len(active) {
			in, err := p.start(g, g.cmd, g.next)
			g.next++
			if err != nil {
				g.lastError = err.Error()
				g.failures++
				g.restartAt = now.Add(min(100*time.Millisecond<<min(g.failures, 6), 5*time.Second))
				p.log.Warn("cannot start instance", "serverGroup", g.rec.Spec.Name, "error", err)
				break
			}
			g.instances = append(g.instances, in)
		}
	}
}
