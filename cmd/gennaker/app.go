package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newAppCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"application", "apps"},
		Short:   "Manage applications",
	}
	cmd.AddCommand(newAppListCmd(g), newAppGetCmd(g), newAppSaveCmd(g), newAppDeleteCmd(g))
	return cmd
}

func newAppListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List applications",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodGet, "/applications", nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var apps []application
			if err := json.Unmarshal(raw, &apps); err != nil {
				return err
			}
			if len(apps) == 0 {
				fmt.Fprintln(g.stdout, "No applications yet. Create one with: gennaker app save NAME --email you@example.com")
				return nil
			}
			t := newTable(g.stdout, "NAME", "EMAIL", "CLOUD PROVIDERS", "DESCRIPTION")
			for _, a := range apps {
				t.row(a.Name, orDash(a.Email), orDash(providerList(a.CloudProviders)), orDash(a.Description))
			}
			return t.flush()
		},
	}
}

func providerList(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func newAppGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show an application's attributes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var view struct {
				Attributes json.RawMessage `json:"attributes"`
			}
			if err := g.client().do(cmd.Context(), http.MethodGet, "/applications/"+seg(args[0])+"?expand=false", nil, &view); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, view.Attributes)
			}
			var a application
			if err := json.Unmarshal(view.Attributes, &a); err != nil {
				return err
			}
			t := newTable(g.stdout, "NAME", a.Name)
			t.row("EMAIL", orDash(a.Email))
			t.row("DESCRIPTION", orDash(a.Description))
			t.row("CLOUD PROVIDERS", orDash(providerList(a.CloudProviders)))
			t.row("CREATED", msString(a.CreateTs))
			t.row("UPDATED", msString(a.UpdateTs)+" by "+orDash(a.User))
			return t.flush()
		},
	}
}

func newAppSaveCmd(g *globals) *cobra.Command {
	var file, email, description string
	var cloudProviders []string
	cmd := &cobra.Command{
		Use:   "save [NAME]",
		Short: "Create or update an application",
		Long: `Create or update an application, from flags or from a JSON file of its
attributes (as 'spin application save' takes). Flags override the file.`,
		Example: `  gennaker app save shop --email team@example.com --description "The shop"
  gennaker app save -f app.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			attrs := map[string]any{}
			if file != "" {
				doc, err := readDocument(file)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(doc, &attrs); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			}
			if len(args) == 1 {
				attrs["name"] = args[0]
			}
			if email != "" {
				attrs["email"] = email
			}
			if description != "" {
				attrs["description"] = description
			}
			if len(cloudProviders) > 0 {
				attrs["cloudProviders"] = strings.Join(cloudProviders, ",")
			}
			name, _ := attrs["name"].(string)
			if name == "" {
				return fmt.Errorf("the application needs a name: gennaker app save NAME, or a \"name\" in the file")
			}
			job := map[string]any{"type": "createApplication", "application": attrs}
			if err := g.client().runTask(cmd.Context(), name, "Create Application: "+name, job); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, map[string]any{"application": strings.ToLower(name), "saved": true})
			}
			fmt.Fprintf(g.stdout, "Application %s saved\n", strings.ToLower(name))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON file of the application's attributes ('-' for stdin)")
	cmd.Flags().StringVar(&email, "email", "", "owner email")
	cmd.Flags().StringVar(&description, "description", "", "description")
	cmd.Flags().StringSliceVar(&cloudProviders, "cloud-providers", nil, "cloud providers (comma-separated)")
	return cmd
}

func newAppDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an application and its pipelines (its executions are kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			job := map[string]any{"type": "deleteApplication", "application": map[string]any{"name": name}}
			if err := g.client().runTask(cmd.Context(), name, "Delete Application: "+name, job); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, map[string]any{"application": strings.ToLower(name), "deleted": true})
			}
			fmt.Fprintf(g.stdout, "Application %s deleted\n", strings.ToLower(name))
			return nil
		},
	}
}
