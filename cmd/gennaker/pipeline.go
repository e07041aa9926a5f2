package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

func newPipelineCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pipeline",
		Aliases: []string{"pipelines", "pl"},
		Short:   "Manage pipeline configurations and run them",
	}
	cmd.AddCommand(
		newPipelineSaveCmd(g),
		newPipelineGetCmd(g),
		newPipelineListCmd(g),
		newPipelineDeleteCmd(g),
		newPipelineValidateCmd(g),
		newPipelineHistoryCmd(g),
		newPipelineRestoreCmd(g),
		newPipelineDiffCmd(g),
		newPipelineRunCmd(g),
	)
	return cmd
}

// pipelineRef names a pipeline: APP NAME as arguments, or -a/-n as spin
// takes them.
type pipelineRef struct{ app, name string }

func (r *pipelineRef) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.app, "application", "a", "", "application (or give APP as the first argument)")
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "pipeline name (or give NAME as the second argument)")
}

// resolve fills the reference from args and returns the args left over.
func (r *pipelineRef) resolve(args []string) ([]string, error) {
	if r.app == "" && len(args) > 0 {
		r.app, args = args[0], args[1:]
	}
	if r.name == "" && len(args) > 0 {
		r.name, args = args[0], args[1:]
	}
	if r.app == "" || r.name == "" {
		return nil, fmt.Errorf("name the pipeline: APP NAME, or -a APP -n NAME")
	}
	return args, nil
}

// lookup resolves the pipeline named by the flags or arguments and fetches
// its configuration; it returns the arguments left over.
func (r *pipelineRef) lookup(ctx context.Context, c *client, args []string) (*pipelineConfig, []string, error) {
	rest, err := r.resolve(args)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.pipelineConfig(ctx, r.app, r.name)
	return p, rest, err
}

// readDocument reads a JSON document from a file ("-" is stdin). YAML files
// (.yaml, .yml) are converted to JSON.
func readDocument(file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml":
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return json.Marshal(v)
	}
	return data, nil
}

func newPipelineSaveCmd(g *globals) *cobra.Command {
	var file string
	var staleCheck bool
	cmd := &cobra.Command{
		Use:   "save -f FILE",
		Short: "Create or update a pipeline from a Spinnaker pipeline JSON file",
		Long: `Create or update a pipeline from a Spinnaker pipeline JSON (or YAML) file.

As with 'spin pipeline save', a pipeline without an id that has the name of an
existing pipeline of its application updates that pipeline. With --stale-check
the save is refused (HTTP 409) if someone saved the pipeline after the copy in
the file was read (its updateTs).`,
		Example: "  gennaker pipeline save -f examples/pipelines/approval.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the pipeline file with -f FILE")
			}
			doc, err := readDocument(file)
			if err != nil {
				return err
			}
			var p map[string]any
			if err := json.Unmarshal(doc, &p); err != nil {
				return fmt.Errorf("%s is not a JSON object: %w", file, err)
			}
			c := g.client()
			app, _ := p["application"].(string)
			name, _ := p["name"].(string)
			if id, _ := p["id"].(string); id == "" && app != "" && name != "" {
				existing, err := c.pipelineConfig(cmd.Context(), app, name)
				switch {
				case err == nil:
					p["id"] = existing.ID
				case !isStatus(err, http.StatusNotFound):
					return err
				}
			}
			path := "/pipelines"
			if staleCheck {
				path += "?staleCheck=true"
			}
			var raw json.RawMessage
			if err := c.do(cmd.Context(), http.MethodPost, path, p, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var saved pipelineConfig
			if err := json.Unmarshal(raw, &saved); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Pipeline %q of %s saved: id %s, version %d\n", saved.Name, saved.Application, saved.ID, saved.Version)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file ('-' for stdin)")
	cmd.Flags().BoolVar(&staleCheck, "stale-check", false, "refuse the save if the pipeline changed since the file's updateTs")
	return cmd
}

func newPipelineGetCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	cmd := &cobra.Command{
		Use:   "get APP NAME",
		Short: "Print a pipeline's configuration (JSON)",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ref.resolve(args); err != nil {
				return err
			}
			var raw json.RawMessage
			path := "/applications/" + seg(ref.app) + "/pipelineConfigs/" + seg(ref.name)
			if err := g.client().do(cmd.Context(), http.MethodGet, path, nil, &raw); err != nil {
				return err
			}
			return printJSON(g.stdout, raw)
		},
	}
	ref.flags(cmd)
	return cmd
}

func newPipelineListCmd(g *globals) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "list APP",
		Aliases: []string{"ls"},
		Short:   "List an application's pipelines",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if app == "" && len(args) == 1 {
				app = args[0]
			}
			if app == "" {
				return fmt.Errorf("name the application: gennaker pipeline list APP")
			}
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodGet, "/applications/"+seg(app)+"/pipelineConfigs", nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var list []pipelineConfig
			if err := json.Unmarshal(raw, &list); err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(g.stdout, "Application %s has no pipelines yet. Save one with: gennaker pipeline save -f FILE\n", app)
				return nil
			}
			t := newTable(g.stdout, "NAME", "ID", "STAGES", "UPDATED", "BY")
			for _, p := range list {
				name := p.Name
				if p.Disabled {
					name += " (disabled)"
				}
				t.row(name, p.ID, strconv.Itoa(len(p.Stages)), msString(p.UpdateTs), orDash(p.LastModifiedBy))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVarP(&app, "application", "a", "", "application")
	return cmd
}

func newPipelineDeleteCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	cmd := &cobra.Command{
		Use:   "delete APP NAME",
		Short: "Delete a pipeline and its version history (its executions are kept)",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ref.resolve(args); err != nil {
				return err
			}
			path := "/pipelines/" + seg(ref.app) + "/" + seg(ref.name)
			if err := g.client().do(cmd.Context(), http.MethodDelete, path, nil, nil); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, map[string]any{"application": ref.app, "name": ref.name, "deleted": true})
			}
			fmt.Fprintf(g.stdout, "Pipeline %q of %s deleted\n", ref.name, ref.app)
			return nil
		},
	}
	ref.flags(cmd)
	return cmd
}

func newPipelineValidateCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a pipeline file as a save would, without saving it",
		Long: `Check a pipeline file as a save would — stage types, refIds and
requisiteStageRefIds, cycles, each stage's own fields, the application — and
list every problem with its JSON path, and what keeps it from running here
(a stage type or an account this installation lacks): such a pipeline can be
saved, as Spinnaker would, but not run. Exits 1 if there is a problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return fmt.Errorf("give the pipeline file with -f FILE")
			}
			doc, err := readDocument(file)
			if err != nil {
				return err
			}
			type problem struct {
				Path    string `json:"path"`
				Message string `json:"message"`
			}
			var res struct {
				Valid    bool      `json:"valid"`
				Problems []problem `json:"problems"`
				Warnings []problem `json:"warnings"`
			}
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodPost, "/pipelines/validate", doc, &raw); err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return err
			}
			if g.json() {
				if err := printJSON(g.stdout, raw); err != nil {
					return err
				}
			} else {
				list := func(ps []problem) {
					for _, p := range ps {
						if p.Path != "" {
							fmt.Fprintf(g.stdout, "  %s: %s\n", p.Path, p.Message)
						} else {
							fmt.Fprintf(g.stdout, "  %s\n", p.Message)
						}
					}
				}
				switch {
				case !res.Valid:
					fmt.Fprintf(g.stdout, "%s has %d problem(s):\n", file, len(res.Problems))
					list(res.Problems)
				case len(res.Warnings) == 0:
					fmt.Fprintf(g.stdout, "%s is valid\n", file)
				default:
					fmt.Fprintf(g.stdout, "%s is valid and can be saved, but cannot run here:\n", file)
				}
				if !res.Valid && len(res.Warnings) > 0 {
					fmt.Fprintf(g.stdout, "It also cannot run here:\n")
				}
				list(res.Warnings)
			}
			if !res.Valid {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "pipeline file ('-' for stdin)")
	return cmd
}

func newPipelineHistoryCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	var limit int
	cmd := &cobra.Command{
		Use:   "history APP NAME",
		Short: "List a pipeline's saved versions, newest first",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			p, _, err := ref.lookup(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			path := fmt.Sprintf("/pipelineConfigs/%s/history?limit=%d", seg(p.ID), limit)
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var versions []pipelineConfig
			if err := json.Unmarshal(raw, &versions); err != nil {
				return err
			}
			t := newTable(g.stdout, "VERSION", "SAVED", "BY", "NAME", "STAGES")
			for _, v := range versions {
				t.row(strconv.Itoa(v.Version), msString(v.UpdateTs), orDash(v.LastModifiedBy), v.Name, strconv.Itoa(len(v.Stages)))
			}
			return t.flush()
		},
	}
	ref.flags(cmd)
	cmd.Flags().IntVar(&limit, "limit", 20, "most versions to list")
	return cmd
}

func newPipelineRestoreCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	cmd := &cobra.Command{
		Use:   "restore APP NAME VERSION",
		Short: "Save an earlier version of a pipeline again as its newest version",
		Args:  cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			p, rest, err := ref.lookup(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			if len(rest) != 1 {
				return fmt.Errorf("give the version to restore: gennaker pipeline restore APP NAME VERSION")
			}
			var raw json.RawMessage
			path := fmt.Sprintf("/pipelineConfigs/%s/history/%s/restore", seg(p.ID), seg(rest[0]))
			if err := c.do(cmd.Context(), http.MethodPost, path, nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var saved pipelineConfig
			if err := json.Unmarshal(raw, &saved); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Version %s of %q restored as version %d\n", rest[0], saved.Name, saved.Version)
			return nil
		},
	}
	ref.flags(cmd)
	return cmd
}

func newPipelineDiffCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	var from, to int
	cmd := &cobra.Command{
		Use:   "diff APP NAME [--from N] [--to M]",
		Short: "Show what changed between two versions of a pipeline (default: the last save)",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			p, _, err := ref.lookup(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			q := url.Values{}
			if from > 0 {
				q.Set("from", strconv.Itoa(from))
			}
			if to > 0 {
				q.Set("to", strconv.Itoa(to))
			}
			var raw json.RawMessage
			path := "/pipelineConfigs/" + seg(p.ID) + "/diff"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var d struct {
				From, To struct {
					Version        int    `json:"version"`
					UpdateTs       string `json:"updateTs"`
					LastModifiedBy string `json:"lastModifiedBy"`
				}
				Changes []struct {
					Path string `json:"path"`
					Kind string `json:"kind"`
					From any    `json:"from"`
					To   any    `json:"to"`
				} `json:"changes"`
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "--- version %d (%s by %s)\n+++ version %d (%s by %s)\n",
				d.From.Version, msString(d.From.UpdateTs), orDash(d.From.LastModifiedBy),
				d.To.Version, msString(d.To.UpdateTs), orDash(d.To.LastModifiedBy))
			if len(d.Changes) == 0 {
				fmt.Fprintln(g.stdout, "no changes")
			}
			for _, ch := range d.Changes {
				switch ch.Kind {
				case "added":
					fmt.Fprintf(g.stdout, "+ %s: %s\n", ch.Path, compact(ch.To))
				case "removed":
					fmt.Fprintf(g.stdout, "- %s: %s\n", ch.Path, compact(ch.From))
				default:
					fmt.Fprintf(g.stdout, "~ %s: %s -> %s\n", ch.Path, compact(ch.From), compact(ch.To))
				}
			}
			return nil
		},
	}
	ref.flags(cmd)
	cmd.Flags().IntVar(&from, "from", 0, "older version (default: the one before --to)")
	cmd.Flags().IntVar(&to, "to", 0, "newer version (default: the newest)")
	return cmd
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func newPipelineRunCmd(g *globals) *cobra.Command {
	var ref pipelineRef
	var params []string
	var watchRun bool
	cmd := &cobra.Command{
		Use:   "run APP NAME [--param k=v]... [--watch]",
		Short: "Start a pipeline, and with --watch follow it to the end",
		Long: `Start a pipeline. With --watch, print each stage's status as it changes
with the time elapsed, then the final status; the command exits 0 only if the
pipeline SUCCEEDED.`,
		Example: `  gennaker pipeline run shop "Deploy to prod" --param version=1.2.3 --watch`,
		Args:    cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ref.resolve(args); err != nil {
				return err
			}
			parameters := map[string]any{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return fmt.Errorf("--param %q: give parameters as key=value", p)
				}
				parameters[k] = v
			}
			trigger := map[string]any{"type": "manual", "parameters": parameters}
			if c := newClient(g.api); c.user != "" {
				trigger["user"] = c.user
			}
			var res struct {
				Ref string `json:"ref"`
			}
			c := g.client()
			path := "/pipelines/" + seg(ref.app) + "/" + seg(ref.name)
			if err := c.do(cmd.Context(), http.MethodPost, path, trigger, &res); err != nil {
				return err
			}
			id := res.Ref[strings.LastIndex(res.Ref, "/")+1:]
			if !watchRun {
				if g.json() {
					return printJSON(g.stdout, map[string]string{"id": id, "ref": res.Ref})
				}
				fmt.Fprintf(g.stdout, "Started execution %s of %q\nFollow it with: gennaker execution watch %s\n", id, ref.name, id)
				return nil
			}
			return watchAndReport(cmd, g, c, id)
		},
	}
	ref.flags(cmd)
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "pipeline parameter key=value (repeatable)")
	cmd.Flags().BoolVarP(&watchRun, "watch", "w", false, "follow the execution until it ends")
	return cmd
}
