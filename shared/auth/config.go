package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the identity configuration: the file of `gennaker up --auth`,
// and in the cloud the document in GENNAKER_AUTH.
//
//	users:                       # who may call the API with a token (local)
//	  - name: alice
//	    token: s3cret            # or tokenSha256: <hex of SHA-256 of the token>
//	    roles: [dev]
//	    email: alice@example.com
//	admins: [ops]                # roles that may do everything
//	serviceAccounts:             # identities automated triggers may run as
//	  - name: deployer
//	    roles: [ops]
//	jwt:                         # cloud, JWT authorizer
//	  userClaim: email           # default: email, else sub
//	  rolesClaim: groups         # default: groups, else cognito:groups
//	iam:                         # cloud, IAM authorizer
//	  principals:
//	    - arn: arn:aws:iam::123456789012:role/Deployer   # a trailing * matches a prefix
//	      roles: [ops]
type Config struct {
	Users           []User           `yaml:"users" json:"users"`
	Admins          []string         `yaml:"admins" json:"admins"`
	ServiceAccounts []ServiceAccount `yaml:"serviceAccounts" json:"serviceAccounts"`
	JWT             JWTConfig        `yaml:"jwt" json:"jwt"`
	IAM             IAMConfig        `yaml:"iam" json:"iam"`
}

// User is one user who authenticates with a token.
type User struct {
	Name  string `yaml:"name" json:"name"`
	Token string `yaml:"token" json:"token"`
	// TokenSha256 is the hex SHA-256 of the token, so the file need not
	// hold the token itself.
	TokenSha256 string   `yaml:"tokenSha256" json:"tokenSha256"`
	Roles       []string `yaml:"roles" json:"roles"`
	Email       string   `yaml:"email" json:"email"`
}

// ServiceAccount is an identity automated triggers may run as.
type ServiceAccount struct {
	Name  string   `yaml:"name" json:"name"`
	Roles []string `yaml:"roles" json:"roles"`
}

// JWTConfig says which claims of an API Gateway JWT authorizer's token name
// the user and their roles.
type JWTConfig struct {
	// UserClaim names the user; empty means email, else sub.
	UserClaim string `yaml:"userClaim" json:"userClaim"`
	// RolesClaim holds the roles; empty means groups, else cognito:groups.
	RolesClaim string `yaml:"rolesClaim" json:"rolesClaim"`
}

// IAMConfig maps the principals API Gateway's IAM authorizer reports to
// roles.
type IAMConfig struct {
	Principals []IAMPrincipal `yaml:"principals" json:"principals"`
}

// IAMPrincipal gives the roles of the callers whose ARN matches ARN.
type IAMPrincipal struct {
	// ARN is a user or role ARN; a trailing * matches every ARN that
	// starts with what precedes it. A role ARN also matches the sessions
	// that assume the role.
	ARN   string   `yaml:"arn" json:"arn"`
	Roles []string `yaml:"roles" json:"roles"`
}

// LoadConfig reads the file of `gennaker up --auth`.
func LoadConfig(path string) (*Config, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	cfg, err := ParseConfig(doc)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads an identity configuration. Every problem names its
// path (users[1].token: …).
func ParseConfig(doc []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not the YAML `users: [{name, token | tokenSha256, roles}]`, `admins: [role]`: %w", err)
	}
	var probs []string
	seen := map[string]bool{}
	for i, u := range cfg.Users {
		at := fmt.Sprintf("users[%d]", i)
		switch {
		case strings.TrimSpace(u.Name) == "":
			probs = append(probs, at+".name: is required")
		case seen[u.Name]:
			probs = append(probs, fmt.Sprintf("%s.name: %q is listed twice", at, u.Name))
		}
		seen[u.Name] = true
		switch {
		case u.Token != "" && u.TokenSha256 != "":
			probs = append(probs, at+": give token or tokenSha256, not both")
		case u.Token == "" && u.TokenSha256 == "":
			probs = append(probs, at+": needs a token or a tokenSha256 (the hex SHA-256 of the token: printf %s TOKEN | sha256sum)")
		case u.TokenSha256 != "":
			if b, err := hex.DecodeString(u.TokenSha256); err != nil || len(b) != sha256.Size {
				probs = append(probs, at+".tokenSha256: must be 64 hex digits, the SHA-256 of the token")
			}
		case len(u.Token) < 8:
			probs = append(probs, at+".token: must be at least 8 characters")
		}
		if strings.Contains(u.Name, ":") {
			probs = append(probs, at+".name: may not contain ':' (HTTP Basic separates name and token with it)")
		}
		probs = append(probs, checkRoles(at+".roles", u.Roles)...)
	}
	probs = append(probs, checkRoles("admins", cfg.Admins)...)
	for i, sa := range cfg.ServiceAccounts {
		at := fmt.Sprintf("serviceAccounts[%d]", i)
		if strings.TrimSpace(sa.Name) == "" {
			probs = append(probs, at+".name: is required")
		}
		probs = append(probs, checkRoles(at+".roles", sa.Roles)...)
	}
	for i, p := range cfg.IAM.Principals {
		at := fmt.Sprintf("iam.principals[%d]", i)
		if !strings.HasPrefix(p.ARN, "arn:") {
			probs = append(probs, fmt.Sprintf("%s.arn: %q is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)", at, p.ARN))
		}
		probs = append(probs, checkRoles(at+".roles", p.Roles)...)
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	return &cfg, nil
}

func checkRoles(at string, roles []string) []string {
	var probs []string
	for i, r := range roles {
		if strings.TrimSpace(r) == "" {
			probs = append(probs, fmt.Sprintf("%s[%d]: must be a role name", at, i))
		}
	}
	return probs
}

// Policy returns the policy the configuration defines, with the accounts'
// permissions.
func (c *Config) Policy(accounts map[string]Permissions) *Policy {
	p := &Policy{Enabled: true, Accounts: accounts, ServiceAccounts: map[string][]string{}}
	if c != nil {
		p.Admins = c.Admins
		for _, sa := range c.ServiceAccounts {
			p.ServiceAccounts[sa.Name] = sa.Roles
		}
	}
	return p
}
