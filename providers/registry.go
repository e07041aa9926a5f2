package providers

import (
	"fmt"

	"slices"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
)

// Provider builds accounts' views of one cloud.
type Provider interface {
	// Name is Spinnaker's name for the provider: "aws", "kubernetes", "local".
	Name() string
	// Cloud returns the account's view of the provider, with the abilities
	// it serves, or an error naming what is wrong with the account's fields.
	// It is called once per account when the registry is built.
	Cloud(acct Account) (*Cloud, error)
}

// Registry knows the providers and accounts of a runtime. It is built at
// start-up and only read afterwards. Asking it for an unknown provider or
// account is an error that names it; it never falls back to a default.
type Registry struct {
	providers map[string]Provider
	accounts  []Account
	clouds    map[string]*Cloud
}

// NewRegistry builds every account's view of its provider. An account whose
// provider is not among provs, or whose fields its provider rejects, is an
// error naming the account.
func NewRegistry(accounts []Account, provs ...Provider) (*Registry, error) {
	r := &Registry{providers: map[string]Provider{}, clouds: map[string]*Cloud{}}
	for _, p := range provs {
		if _, dup := r.providers[p.Name()]; dup {
			return nil, fmt.Errorf("cloud provider %q registered twice", p.Name())
		}
		r.providers[p.Name()] = p
	}
	for _, a := range accounts {
		if _, dup := r.clouds[a.Name]; dup {
			return nil, fmt.Errorf("account %q is defined twice", a.Name)
		}
		p, err := r.Provider(a.Provider)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", a.Name, err)
		}
		c, err := p.Cloud(a)
		if err != nil {
			return nil, fmt.Errorf("account %q (%s): %w", a.Name, a.Provider, err)
		}
		r.clouds[a.Name] = c
		r.accounts = append(r.accounts, a)
	}
	sort.Slice(r.accounts, func(i, j int) bool { return r.accounts[i].Name < r.accounts[j].Name })
	return r, nil
}

// Provider returns the provider registered under name.
func (r *Registry) Provider(name string) (Provider, error) {
	p, ok := r.providers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (available: %s)", ErrUnknownProvider, name, strings.Join(r.ProviderNames(), ", "))
	}
	return p, nil
}

// ProviderNames lists the registered providers in order.
func (r *Registry) ProviderNames() []string {
	names := make([]string, 0, len(r.providers))
	for n := range r.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Accounts lists every account, ordered by name.
func (r *Registry) Accounts() []Account { return slices.Clone(r.accounts) }

// Account returns the named account.
func (r *Registry) Account(name string) (Account, error) {
	for _, a := range r.accounts {
		if a.Name == name {
			return a, nil
		}
	}
	names := make([]string, 0, len(r.accounts))
	for _, a := range r.accounts {
		names = append(names, a.Name)
	}
	return Account{}, fmt.Errorf("%w %q (known accounts: %s)", ErrUnknownAccount, name, strings.Join(names, ", "))
}

// Cloud returns the account's view of its provider. When cloudProvider is
// not empty the account must belong to that provider.
func (r *Registry) Cloud(account, cloudProvider string) (*Cloud, error) {
	a, err := r.Account(account)
	if err != nil {
		return nil, err
	}
	if cloudProvider != "" && cloudProvider != a.Provider {
		if _, err := r.Provider(cloudProvider); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("account %q belongs to cloud provider %q, not %q", account, a.Provider, cloudProvider)
	}
	return r.clouds[account], nil
}

// Check reports, for a pipeline being saved, whether a literally written
// cloud provider and account exist and belong together. Empty names are not
// checked.
func (r *Registry) Check(cloudProvider, account string) error {
	if cloudProvider != "" {
		if _, err := r.Provider(cloudProvider); err != nil {
			return err
		}
	}
	if account != "" {
		_, err := r.Cloud(account, cloudProvider)
		return err
	}
	return nil
}

// ServerGroups returns the account's server groups, or an error when the
// account is unknown, of another provider, or serves none.
func (r *Registry) ServerGroups(account, cloudProvider string) (ServerGroups, error) {
	return ability(r, account, cloudProvider, "server groups", func(c *Cloud) ServerGroups { return c.ServerGroups })
}

// ServerGroupCreator returns what starts the account's new server groups.
func (r *Registry) ServerGroupCreator(account, cloudProvider string) (ServerGroupCreator, error) {
	return ability(r, account, cloudProvider, "server group creation (use the manifest stages for Kubernetes)", func(c *Cloud) ServerGroupCreator { return c.ServerGroupCreator })
}

// LoadBalancers returns the account's load balancers.
func (r *Registry) LoadBalancers(account, cloudProvider string) (LoadBalancers, error) {
	return ability(r, account, cloudProvider, "load balancers", func(c *Cloud) LoadBalancers { return c.LoadBalancers })
}

// Images returns the account's images.
func (r *Registry) Images(account, cloudProvider string) (Images, error) {
	return ability(r, account, cloudProvider, "images", func(c *Cloud) Images { return c.Images })
}

// Manifests returns the account's Kubernetes cluster.
func (r *Registry) Manifests(account, cloudProvider string) (manifest.Cluster, error) {
	return ability(r, account, cloudProvider, "Kubernetes manifests", func(c *Cloud) manifest.Cluster { return c.Manifests })
}

// Functions returns the account's serverless functions.
func (r *Registry) Functions(account, cloudProvider string) (Functions, error) {
	return ability(r, account, cloudProvider, "functions (AWS Lambda)", func(c *Cloud) Functions { return c.Functions })
}

// ability returns one ability of an account, or an error wrapping
// ErrUnsupported that names the account and the ability.
func ability[T comparable](r *Registry, account, cloudProvider, what string, get func(*Cloud) T) (T, error) {
	var zero T
	c, err := r.Cloud(account, cloudProvider)
	if err != nil {
		return zero, err
	}
	a := get(c)
	if a == zero {
		return zero, fmt.Errorf("account %q (%s): %s %w", account, c.Account.Provider, what, ErrUnsupported)
	}
	return a, nil
}
