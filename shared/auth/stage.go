package auth

import (
	"fmt"
	"slices"
	"sort"

	"github.com/gennaker/gennaker/shared/model"
)

// accountKeys are the stage fields that name a deployment account, at any
// depth of a stage's context: Spinnaker's "account" and "credentials" (a
// deploy's clusters, a load balancer's, a manifest's), and the older
// spellings.
var accountKeys = []string{"account", "credentials", "accountName", "deploymentAccount"}

// StageAccounts returns the accounts a stage's context names, sorted and
// without repeats.
func StageAccounts(ctx map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && slices.Contains(accountKeys, k) && s != "" {
					if !slices.Contains(out, s) {
						out = append(out, s)
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(ctx)
	sort.Strings(out)
	return out
}

// Stage returns nil when id may run stage s of a run of app: EXECUTE on the
// application and WRITE on every account the stage names. The refusal says
// which stage, which permission and which resource.
func (p *Policy) Stage(id Identity, app *model.Application, s *model.StageExecution) error {
	if p.Admin(id) {
		return nil
	}
	if err := p.Application(id, app, Execute); err != nil {
		return fmt.Errorf("stage %q may not run as %s: %w", s.Name, id.Name, err)
	}
	for _, acct := range StageAccounts(s.Context) {
		if err := p.Account(id, acct, Write); err != nil {
			return fmt.Errorf("stage %q may not run as %s: %w", s.Name, id.Name, err)
		}
	}
	return nil
}
