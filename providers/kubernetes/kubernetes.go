// Package kubernetes is the Kubernetes provider: an account is a cluster
// reached through a kubeconfig file and context, limited to an allow-list of
// namespaces, and manifests are deployed with server-side apply through
// client-go. What Spinnaker's conventions say about manifests (versions,
// monikers, stability, traffic) lives in the client-free package manifest;
// this package only talks to the API server.
package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes/account"
	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
)

// Name is the provider's name in pipelines and accounts.
const Name = "kubernetes"

// FieldManager owns the fields gennaker applies.
const FieldManager = "gennaker"

// Provider builds Kubernetes accounts' views.
type Provider struct{}

// New returns the Kubernetes provider.
func New() *Provider { return &Provider{} }

var _ providers.Provider = (*Provider)(nil)

// Name implements providers.Provider.
func (*Provider) Name() string { return Name }

// Config is a Kubernetes account's own fields in the accounts file (see
// package account, which reads them without linking client-go).
type Config = account.Config

// ParseConfig reads an account's fields.
func ParseConfig(acct providers.Account) (Config, error) { return account.Parse(acct) }

// Cloud implements providers.Provider. A Kubernetes account serves its
// manifests (deployed to with the manifest stages), its ReplicaSets as server
// groups (region: their namespace) that can be enabled, disabled, resized and
// destroyed, and its Deployments as their managers. Server groups are created
// by deployManifest, so it serves no ServerGroupCreator; nor load balancers
// or images yet.
func (*Provider) Cloud(acct providers.Account) (*providers.Cloud, error) {
	cfg, err := ParseConfig(acct)
	if err != nil {
		return nil, err
	}
	cl, err := NewCluster(acct.Name, cfg)
	if err != nil {
		return nil, err
	}
	sg := serverGroups{account: acct.Name, c: cl}
	return &providers.Cloud{Account: acct, ServerGroups: sg, Managers: sg, Manifests: cl}, nil
}

// Cluster is a Kubernetes account's cluster; it implements manifest.Cluster.
// Its clients are built at the first call, so an account whose cluster is
// unreachable (or whose EKS endpoint is not looked up yet) does not keep the
// runtime from starting.
type Cluster struct {
	account   string
	allowed   []string
	omitted   []string
	defaultNS string
	connect   func(context.Context) (*rest.Config, error)

	mu sync.Mutex
	// rest reaches paths the dynamic client does not (pod logs). The typed
	// clientset would do it too, but links every API group into each
	// Lambda function.
	rest   rest.Interface
	dyn    dynamic.Interface
	mapper *discoveryMapper
}

var _ manifest.Cluster = (*Cluster)(nil)

// NewCluster reads an account's kubeconfig (or notes its EKS cluster). It
// does not contact the cluster: an unreachable cluster fails the first call.
func NewCluster(account string, cfg Config) (*Cluster, error) {
	c := &Cluster{account: account, allowed: cfg.Namespaces, omitted: cfg.OmitNamespaces}
	ns := ""
	if cfg.EKSCluster != "" {
		c.connect = eksConnect(cfg)
	} else {
		rc, kubeNS, err := restConfig(cfg)
		if err != nil {
			return nil, err
		}
		ns = kubeNS
		c.connect = func(context.Context) (*rest.Config, error) { return rc, nil }
	}
	switch {
	case len(cfg.Namespaces) > 0 && (ns == "" || !slices.Contains(cfg.Namespaces, ns)):
		c.defaultNS = cfg.Namespaces[0]
	case ns != "":
		c.defaultNS = ns
	default:
		c.defaultNS = "default"
	}
	return c, nil
}

// clients connects once; a failed connection is tried again next call.
func (c *Cluster) clients(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dyn != nil {
		return nil
	}
	rc, err := c.connect(ctx)
	if err != nil {
		return fmt.Errorf("account %q: %w", c.account, err)
	}
	// Bound every call, so that an unreachable cluster fails a stage rather
	// than hanging it.
	rc.Timeout = 30 * time.Second
	rc.UserAgent = "gennaker"
	rc.QPS, rc.Burst = 50, 100
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	raw, err := rawClient(rc)
	if err != nil {
		return err
	}
	c.rest, c.dyn = raw, dyn
	c.mapper = &discoveryMapper{client: raw}
	return nil
}

// restConfig loads the kubeconfig's context, returning its namespace too.
func restConfig(cfg Config) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		path := cfg.Kubeconfig
		if strings.HasPrefix(path, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, "", err
			}
			path = filepath.Join(home, path[2:])
		}
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("kubeconfig: %w", err)
		}
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Context})
	rc, err := cc.ClientConfig()
	if err != nil {
		if cfg.Context != "" {
			return nil, "", fmt.Errorf("kubeconfig context %q: %w", cfg.Context, err)
		}
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", err
	}
	return rc, ns, nil
}
