package cluster

import (
	"fmt"
	"strings"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/stages"
)

// A deployment strategy is how a deploy moves traffic to its new server
// group. Each lives in its own strategy_<name>.go: the struct of the
// cluster fields it reads, their validation, and its plan, a flat list of
// named steps. Adding one is that file and one line in strategies.

// strategy is one deployment strategy with its fields decoded from the
// cluster.
type strategy interface {
	// decode reads the strategy's fields of the cluster into the strategy.
	decode(d fieldDecoder) stages.Problems
	// validate checks the decoded fields of a saved cluster at path. Fields
	// holding expressions (exprs) are only known at run time and pass.
	validate(path string, exprs stages.Expressions, p *stages.Problems)
	// plan lists the deploy's steps by task name, the cluster lock included
	// (lockedDeploy) when the strategy creates the server group itself.
	plan() ([]string, error)
}

// strategies is the one place a deployment strategy is chosen, in the
// order error messages list them. Each entry returns a strategy with its
// fields unset.
var strategies = []struct {
	name string
	new  func() strategy
}{
	{"none", func() strategy { return &noneStrategy{} }},
	{"redblack", func() strategy { return &redBlackStrategy{} }},
	{"highlander", func() strategy { return &highlanderStrategy{} }},
	{"rollingredblack", func() strategy { return &rollingRedBlackStrategy{} }},
	{"custom", func() strategy { return &customStrategy{} }},
}

// strategyFor returns the named strategy with its fields unset; no name is
// none, Spinnaker's default. An unknown name is an error that names it.
func strategyFor(name string) (strategy, error) {
	if name == "" {
		name = "none"
	}
	known := make([]string, 0, len(strategies))
	for _, s := range strategies {
		if s.name == name {
			return s.new(), nil
		}
		known = append(known, s.name)
	}
	return nil, fmt.Errorf("unknown deployment strategy %q (known: %s)", name, strings.Join(known, ", "))
}

// lockedDeploy wraps a strategy's steps in what every deploy that creates
// its own server group shares: the cluster lock and the name allocation.
func lockedDeploy(steps ...string) []string {
	out := []string{AcquireClusterLockTask{}.Name(), AllocateServerGroupNameTask{}.Name()}
	out = append(out, steps...)
	return append(out, ReleaseClusterLockTask{}.Name())
}

// fieldDecoder decodes a cluster's fields, wherever the stage keeps its
// cluster: at the top level or as clusters[0].
type fieldDecoder struct {
	// decode reads the stage (Decode at run time, DecodeConfig when a
	// pipeline is saved) into a pointer.
	decode func(cfg any) stages.Problems
	// inClusters: the cluster is clusters[0].
	inClusters bool
}

// decodeFields decodes the cluster's fields into into, with the problems'
// paths relative to the stage.
func decodeFields[T any](d fieldDecoder, into *T) stages.Problems {
	if !d.inClusters {
		return d.decode(into)
	}
	var w struct {
		Clusters []T `json:"clusters"`
	}
	p := d.decode(&w)
	if len(w.Clusters) > 0 {
		*into = w.Clusters[0]
	}
	return p
}

// delayer is a strategy that plans WaitBefore steps: it says how long
// each of them waits.
type delayer interface {
	delay(step string) time.Duration
}

// shrinker is a strategy that destroys the oldest server groups beyond a
// number it keeps.
type shrinker interface {
	remaining() int
}

// emptyStart is a strategy that creates its server group with no
// instances and grows it itself.
type emptyStart interface {
	initialCapacity(c providers.Capacity) providers.Capacity
}

// checkNotNegative records a problem for a negative count or delay.
func checkNotNegative(path, field string, n int, exprs stages.Expressions, p *stages.Problems) {
	at := stages.Path(path, field)
	if n < 0 && !exprs.Has(at) {
		p.Add(at, "must not be negative, got %d", n)
	}
}
