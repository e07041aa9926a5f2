package platform

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/sources"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
)

// Config is an installation's configuration file, the YAML (or JSON) that
// `gennaker up --accounts FILE` reads and the Lambda functions read from
// GENNAKER_ACCOUNTS:
//
//	accounts:   [{name, provider, …}]                 # deployment accounts
//	stageTypes: [{type, label, webhook: {url, …}, parameters}]
//	metricsAccounts: [{name, type: prometheus|cloudwatch, …}]  # canary metrics
//	notifications: {baseUrl, slack: {token, baseUrl}, email: {…}, …}   # see notify.Config
//
// Every section is optional.
type Config struct {
	// Accounts are the deployment accounts, the local one among them (see
	// providers.ParseAccounts).
	Accounts []providers.Account
	// StageTypes are the installation's own stage types.
	StageTypes []preconfigured.Type
	// MetricsAccounts are the canary analysis's metric sources.
	MetricsAccounts *canary.Sources
	// Notifications configures the channels notifications go through.
	Notifications notify.Config
}

// configSections are the top-level keys of a configuration file.
var configSections = []string{"accounts", "stageTypes", "metricsAccounts", "notifications"}

// ParseConfig reads a configuration file. A document either runtime cannot
// start with is an *AccountsError whose message gives the path of what is
// wrong ("stageTypes[0].webhook.url: is required …").
func ParseConfig(doc []byte) (Config, error) {
	var top map[string]any
	if err := yaml.Unmarshal(doc, &top); err != nil {
		return Config{}, &AccountsError{Err: fmt.Errorf("not the YAML `accounts: [{name, provider, …}]` and `stageTypes: [{type, webhook, …}]`: %w", err)}
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(configSections, k) {
			return Config{}, &AccountsError{Err: fmt.Errorf("%s: is not a section of the configuration (%s)", k, strings.Join(configSections, ", "))}
		}
	}
	// The accounts section is the accounts file it always was, read by the
	// providers' parser.
	accountsDoc := []byte{}
	if raw, ok := top["accounts"]; ok {
		b, err := yaml.Marshal(map[string]any{"accounts": raw})
		if err != nil {
			return Config{}, &AccountsError{Err: fmt.Errorf("accounts: %w", err)}
		}
		accountsDoc = b
	}
	accts, err := providers.ParseAccounts(accountsDoc)
	if err != nil {
		return Config{}, &AccountsError{Err: err}
	}
	types, problems := preconfigured.Decode(top["stageTypes"])
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			path := "stageTypes"
			if p.Path != "" {
				if p.Path[0] != '[' {
					path += "."
				}
				path += p.Path
			}
			msgs[i] = path + ": " + p.Message
		}
		return Config{}, &AccountsError{Err: fmt.Errorf("%s", strings.Join(msgs, "; "))}
	}
	metrics, err := sources.Parse(context.Background(), top["metricsAccounts"], nil)
	if err != nil {
		return Config{}, &AccountsError{Err: err}
	}
	notifications, err := notify.ParseConfig(top["notifications"])
	if err != nil {
		return Config{}, &AccountsError{Err: err}
	}
	return Config{Accounts: accts, StageTypes: types, MetricsAccounts: metrics, Notifications: notifications}, nil
}
