package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// newWhoamiCmd shows who the API takes the caller for (GET /auth/user):
// the way to check a token before using it.
func newWhoamiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the API takes you for: your user name, roles and the accounts you may deploy to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodGet, "/auth/user", nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var u struct {
				Username        string   `json:"username"`
				Roles           []string `json:"roles"`
				Admin           bool     `json:"admin"`
				AllowedAccounts []string `json:"allowedAccounts"`
				Authenticated   bool     `json:"authenticated"`
			}
			if err := json.Unmarshal(raw, &u); err != nil {
				return fmt.Errorf("GET /auth/user: unexpected answer: %w", err)
			}
			fmt.Fprintf(g.stdout, "user:     %s\n", u.Username)
			fmt.Fprintf(g.stdout, "roles:    %s\n", orDash(strings.Join(u.Roles, ", ")))
			fmt.Fprintf(g.stdout, "admin:    %v\n", u.Admin)
			fmt.Fprintf(g.stdout, "accounts: %s\n", orDash(strings.Join(u.AllowedAccounts, ", ")))
			if !u.Authenticated {
				fmt.Fprintln(g.stdout, "this gennaker runs without authentication: every caller may do everything")
			}
			return nil
		},
	}
}
