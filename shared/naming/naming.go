// Package naming parses, formats and validates Spinnaker's names for
// clusters and server groups.
//
// A cluster is <app>[-<stack>[-<detail>]] and a server group is its cluster
// plus a version suffix -vNNN (three digits, 000 to 999). An application name
// holds letters and digits only; stack holds letters, digits and
// underscores; detail also allows hyphens, so a name is read from the left:
// the first hyphen ends the application, the second ends the stack, and the
// rest (before the version) is the detail.
package naming

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxSequence is the largest version a server group can carry; the next one
// after it is v000, as Spinnaker wraps.
const MaxSequence = 999

// ErrInvalid is wrapped by every error about a malformed name.
var ErrInvalid = errors.New("invalid name")

var (
	appPattern    = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
	stackPattern  = regexp.MustCompile(`^[a-zA-Z0-9_]*$`)
	detailPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]*$`)
	versionSuffix = regexp.MustCompile(`-v([0-9]{3,})$`)
)

// Cluster names a cluster: an application, a stack and a free-form detail.
type Cluster struct {
	App    string
	Stack  string
	Detail string
}

// ServerGroup names one version of a cluster.
type ServerGroup struct {
	Cluster
	// Sequence is the version, 0 to 999; -1 for a server group without a
	// version suffix (one created outside Spinnaker's convention).
	Sequence int
}

// NewCluster validates the parts and returns the cluster.
func NewCluster(app, stack, detail string) (Cluster, error) {
	c := Cluster{App: app, Stack: stack, Detail: detail}
	return c, c.Validate()
}

// Validate reports what is wrong with the parts, if anything.
func (c Cluster) Validate() error {
	switch {
	case c.App == "":
		return fmt.Errorf("%w: the application is empty", ErrInvalid)
	case !appPattern.MatchString(c.App):
		return fmt.Errorf("%w: application %q may hold only letters and digits", ErrInvalid, c.App)
	case !stackPattern.MatchString(c.Stack):
		return fmt.Errorf("%w: stack %q may hold only letters, digits and underscores", ErrInvalid, c.Stack)
	case !detailPattern.MatchString(c.Detail):
		return fmt.Errorf("%w: detail %q may hold only letters, digits, underscores and hyphens", ErrInvalid, c.Detail)
	case versionSuffix.MatchString("-" + c.Detail):
		return fmt.Errorf("%w: detail %q looks like a version suffix", ErrInvalid, c.Detail)
	}
	return nil
}

// String formats the cluster name: app, app-stack, app-stack-detail, or
// app--detail when there is a detail but no stack.
func (c Cluster) String() string {
	switch {
	case c.Detail != "":
		return c.App + "-" + c.Stack + "-" + c.Detail
	case c.Stack != "":
		return c.App + "-" + c.Stack
	default:
		return c.App
	}
}

// ServerGroup returns the server group of this cluster with the version.
func (c Cluster) ServerGroup(sequence int) ServerGroup {
	return ServerGroup{Cluster: c, Sequence: sequence}
}

// String formats the server group name, such as app-stack-detail-v003.
func (g ServerGroup) String() string {
	if g.Sequence < 0 {
		return g.Cluster.String()
	}
	return fmt.Sprintf("%s-v%03d", g.Cluster.String(), g.Sequence)
}

// ParseCluster parses a cluster name.
func ParseCluster(name string) (Cluster, error) {
	if versionSuffix.MatchString(name) {
		return Cluster{}, fmt.Errorf("%w: %q is a server group name, not a cluster name", ErrInvalid, name)
	}
	c := split(name)
	if err := c.Validate(); err != nil {
		return Cluster{}, fmt.Errorf("cluster %q: %w", name, err)
	}
	return c, nil
}

// ParseServerGroup parses a server group name. A name without a version
// suffix parses with Sequence -1.
func ParseServerGroup(name string) (ServerGroup, error) {
	seq := -1
	base := name
	if m := versionSuffix.FindStringSubmatchIndex(name); m != nil {
		digits := name[m[2]:m[3]]
		if len(digits) != 3 {
			return ServerGroup{}, fmt.Errorf("server group %q: %w: the version must have three digits", name, ErrInvalid)
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			return ServerGroup{}, fmt.Errorf("server group %q: %w: %v", name, ErrInvalid, err)
		}
		seq, base = n, name[:m[0]]
	}
	c := split(base)
	if err := c.Validate(); err != nil {
		return ServerGroup{}, fmt.Errorf("server group %q: %w", name, err)
	}
	return ServerGroup{Cluster: c, Sequence: seq}, nil
}

// ClusterOf returns the cluster name of a server group name, or the name
// itself when it does not parse.
func ClusterOf(serverGroup string) string {
	g, err := ParseServerGroup(serverGroup)
	if err != nil {
		return serverGroup
	}
	return g.Cluster.String()
}

func split(name string) Cluster {
	app, rest, hasStack := strings.Cut(name, "-")
	if !hasStack {
		return Cluster{App: app}
	}
	stack, detail, _ := strings.Cut(rest, "-")
	return Cluster{App: app, Stack: stack, Detail: detail}
}

// NextSequence returns the version a new server group of a cluster gets,
// given the versions its existing server groups carry: one past the version
// of the newest, wrapping from 999 to 0, and skipping versions still in use.
// newest is the sequence of the most recently created server group, or -1
// when the cluster is empty.
func NextSequence(newest int, inUse []int) (int, error) {
	used := make(map[int]bool, len(inUse))
	for _, n := range inUse {
		used[n] = true
	}
	next := 0
	if newest >= 0 {
		next = (newest + 1) % (MaxSequence + 1)
	}
	for range MaxSequence + 1 {
		if !used[next] {
			return next, nil
		}
		next = (next + 1) % (MaxSequence + 1)
	}
	return 0, fmt.Errorf("%w: every version from v000 to v999 is in use", ErrInvalid)
}
