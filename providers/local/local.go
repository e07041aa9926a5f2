// Package local is the local provider: server groups are processes on this
// machine, started from a local/command artifact, and load balancers are
// reverse proxies on loopback ports that route only to healthy instances of
// enabled server groups and report request metrics per server group.
//
// What each server group and load balancer should be is recorded in the
// store under "local/", so after a restart they return to their recorded
// state. Processes are supervised: an instance that exits is replaced, and
// every process is stopped when the provider closes (and killed by the
// kernel if this process dies first).
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/store"
)

// Name is the provider's name in pipelines and accounts.
const Name = "local"

// ArtifactType is the artifact type a local server group runs.
const ArtifactType = "local/command"

// Key prefixes of the provider's records.
const (
	serverGroupPrefix  = "local/servergroups/"
	loadBalancerPrefix = "local/loadbalancers/"
)

// Options configure the local provider.
type Options struct {
	// Records holds the desired state; required.
	Records store.Records
	// LogDir receives one log file per instance; empty discards their output.
	LogDir string
	// HealthInterval is how often instances are health-checked and server
	// groups reconciled; 0 means one second.
	HealthInterval time.Duration
	// DrainTimeout bounds how long an instance leaving a server group may
	// finish the requests it is serving before it is stopped; 0 means 5 s.
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Provider is the local provider. It is safe for concurrent use.
type Provider struct {
	opts    Options
	log     *slog.Logger
	spawner *spawner

	mu     sync.RWMutex
	groups map[string]*serverGroup  // by key(account, region, name)
	lbs    map[string]*loadBalancer // by key(account, region, name)
	closed bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

var _ providers.Provider = (*Provider)(nil)

// New starts the provider and brings back every recorded load balancer and
// server group. Close stops them.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Records == nil {
		return nil, errors.New("local provider: Records is required")
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{
		opts:    opts,
		log:     log.With("provider", Name),
		spawner: newSpawner(),
		groups:  map[string]*serverGroup{},
		lbs:     map[string]*loadBalancer{},
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if err := p.restore(ctx); err != nil {
		p.spawner.close()
		return nil, err
	}
	go p.supervise()
	p.nudge()
	return p, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return Name }

// Cloud implements providers.Provider. A local account's regions default to
// "local".
func (p *Provider) Cloud(acct providers.Account) (*providers.Cloud, error) {
	if len(acct.Regions) == 0 {
		acct.Regions = []string{providers.LocalRegion}
	}
	c := &cloud{p: p, acct: acct}
	return &providers.Cloud{
		Account:            acct,
		ServerGroups:       serverGroups{c},
		ServerGroupCreator: serverGroups{c},
		LoadBalancers:      loadBalancers{c},
		Images:             images{c},
	}, nil
}

// Close stops every instance and load balancer. The recorded state stays,
// so the next New brings them back.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	p.mu.Unlock()
	<-p.done

	p.mu.Lock()
	var all []*instance
	for _, g := range p.groups {
		all = append(all, g.instances...)
	}
	lbs := make([]*loadBalancer, 0, len(p.lbs))
	for _, lb := range p.lbs {
		lbs = append(lbs, lb)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() { defer wg.Done(); in.terminate(2 * time.Second) }()
	}
	for _, lb := range lbs {
		lb.close()
	}
	wg.Wait()
	p.spawner.close()
	return nil
}

func (p *Provider) nudge() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func key(account, region, name string) string { return account + "/" + region + "/" + name }

func (p *Provider) restore(ctx context.Context) error {
	err := p.opts.Records.Scan(ctx, loadBalancerPrefix, func(k string, v []byte) error {
		var rec lbRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("local provider: load balancer record %s: %w", k, err)
		}
		lb := newLoadBalancer(p, rec)
		if err := lb.listen(); err != nil {
			// The port may be taken for now; the supervisor tries again.
			p.log.Warn("load balancer cannot listen yet", "loadBalancer", rec.Spec.Name, "port", rec.Spec.ListenPort, "error", err)
		}
		p.lbs[key(rec.Account, rec.Spec.Region, rec.Spec.Name)] = lb
		return nil
	})
	if err != nil {
		return err
	}
	return p.opts.Records.Scan(ctx, serverGroupPrefix, func(k string, v []byte) error {
		var rec sgRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("local provider: server group record %s: %w", k, err)
		}
		p.groups[key(rec.Account, rec.Spec.Region, rec.Spec.Name)] = &serverGroup{rec: rec}
		return nil
	})
}

func (p *Provider) put(ctx context.Context, k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.opts.Records.Put(ctx, k, b)
}

// cloud is one account's view of the provider.
type cloud struct {
	p    *Provider
	acct providers.Account
}

func (c *cloud) key(region, name string) string { return key(c.acct.Name, region, name) }

func (c *cloud) checkRegion(region string) error {
	for _, r := range c.acct.Regions {
		if r == region {
			return nil
		}
	}
	return fmt.Errorf("account %q has no region %q (regions: %s)", c.acct.Name, region, strings.Join(c.acct.Regions, ", "))
}
