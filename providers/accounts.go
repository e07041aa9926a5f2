package providers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// LocalAccount is the account that always exists: this machine, through the
// local provider.
const LocalAccount = "local"

// LocalRegion is the local provider's only region.
const LocalRegion = "local"

// Account names one set of credentials of one provider: an AWS account and
// the role to assume, a Kubernetes cluster, or this machine.
type Account struct {
	Name     string   `json:"name" yaml:"name"`
	Provider string   `json:"provider" yaml:"provider"`
	Regions  []string `json:"regions,omitempty" yaml:"regions,omitempty"`
	// Environment is Spinnaker's free-form environment label (prod, test).
	Environment string `json:"environment,omitempty" yaml:"environment,omitempty"`
	// Permissions are Spinnaker's account permissions, the roles granted
	// READ and WRITE (deploying to the account needs WRITE); none means
	// the account is open to every user.
	Permissions map[string][]string `json:"permissions,omitempty" yaml:"permissions,omitempty"`
	// Fields are the provider's own fields (assumeRole, context, …).
	Fields map[string]any `json:"fields,omitempty" yaml:"-"`
}

// accountsFile is the YAML of `gennaker up --accounts FILE`.
type accountsFile struct {
	Accounts []map[string]any `yaml:"accounts"`
}

// LoadAccounts reads an accounts file. An empty path means no file. The
// local account is always among the result.
func LoadAccounts(path string) ([]Account, error) {
	if path == "" {
		return WithLocal(nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("accounts file: %w", err)
	}
	accts, err := ParseAccounts(data)
	if err != nil {
		return nil, fmt.Errorf("accounts file %s: %w", path, err)
	}
	return accts, nil
}

// ParseAccounts reads the YAML `accounts: [{name, provider, …}]`, where
// every key besides name, provider, regions and environment is a provider
// field. The local account is added when the file does not define it.
func ParseAccounts(data []byte) ([]Account, error) {
	var f accountsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not the YAML `accounts: [{name, provider, …}]`: %w", err)
	}
	var out []Account
	for i, raw := range f.Accounts {
		a := Account{Fields: map[string]any{}}
		for k, v := range raw {
			switch k {
			case "name", "provider", "environment":
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("accounts[%d].%s must be a string", i, k)
				}
				switch k {
				case "name":
					a.Name = s
				case "provider":
					a.Provider = s
				default:
					a.Environment = s
				}
			case "permissions":
				perms, err := parsePermissions(v)
				if err != nil {
					return nil, fmt.Errorf("accounts[%d].permissions%s", i, err)
				}
				a.Permissions = perms
			case "regions":
				list, ok := v.([]any)
				if !ok {
					return nil, fmt.Errorf("accounts[%d].regions must be a list of names", i)
				}
				for _, r := range list {
					s, ok := r.(string)
					if !ok {
						return nil, fmt.Errorf("accounts[%d].regions must be a list of names", i)
					}
					a.Regions = append(a.Regions, s)
				}
			default:
				a.Fields[k] = v
			}
		}
		switch {
		case a.Name == "":
			return nil, fmt.Errorf("accounts[%d] has no name", i)
		case a.Provider == "":
			return nil, fmt.Errorf("account %q (accounts[%d]) has no provider (local, aws or kubernetes)", a.Name, i)
		}
		out = append(out, a)
	}
	return WithLocal(out)
}

// WithLocal adds the local account unless it is defined; a local account of
// another provider is an error.
func WithLocal(accts []Account) ([]Account, error) {
	for i, a := range accts {
		if a.Name != LocalAccount {
			continue
		}
		if a.Provider != "local" {
			return nil, fmt.Errorf("account %q is reserved for the local provider, not %q", LocalAccount, a.Provider)
		}
		if len(a.Regions) == 0 {
			accts[i].Regions = []string{LocalRegion}
		}
		return accts, nil
	}
	return append(accts, Account{Name: LocalAccount, Provider: "local", Regions: []string{LocalRegion}, Environment: "local"}), nil
}

// parsePermissions reads `{READ: [roles], WRITE: [roles]}`; an error
// message starts with the path below "permissions".
func parsePermissions(v any) (map[string][]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(" must be a map: {READ: [roles], WRITE: [roles]}")
	}
	out := map[string][]string{}
	for k, raw := range m {
		key := strings.ToUpper(k)
		if key != "READ" && key != "WRITE" {
			return nil, fmt.Errorf(".%s: accounts take READ and WRITE permissions", k)
		}
		list, ok := raw.([]any)
		if !ok && raw != nil {
			return nil, fmt.Errorf(".%s must be a list of role names", k)
		}
		roles := []string{}
		for j, r := range list {
			s, ok := r.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf(".%s[%d] must be a role name", k, j)
			}
			roles = append(roles, s)
		}
		out[key] = roles
	}
	return out, nil
}
