package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newExecutionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "execution",
		Aliases: []string{"executions", "ex"},
		Short:   "Inspect and act on pipeline executions",
	}
	cmd.AddCommand(
		newExecutionGetCmd(g),
		newExecutionListCmd(g),
		newExecutionWatchCmd(g),
		newExecutionActionCmd(g, "cancel", "Cancel a running execution"),
		newExecutionActionCmd(g, "pause", "Pause a running execution"),
		newExecutionActionCmd(g, "resume", "Resume a paused execution"),
		newExecutionJudgeCmd(g),
		newExecutionSkipCmd(g),
		newExecutionRestartCmd(g),
	)
	return cmd
}

func newExecutionGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show an execution and its stages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodGet, "/pipelines/"+seg(args[0]), nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var e execution
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			printExecution(g, &e)
			printCanaryReports(cmd.Context(), g, &e)
			return nil
		},
	}
}

func printExecution(g *globals, e *execution) {
	fmt.Fprintf(g.stdout, "Execution %s: %q of %s\n", e.ID, e.Name, e.Application)
	fmt.Fprintf(g.stdout, "Status:    %s\n", e.Status)
	fmt.Fprintf(g.stdout, "Started:   %s by %s (%v trigger)\n", ms(firstOf(e.StartTime, e.BuildTime)), orDash(str(e.Trigger["user"])), orDash(str(e.Trigger["type"])))
	fmt.Fprintf(g.stdout, "Duration:  %s\n\n", duration(firstOf(e.StartTime, e.BuildTime), e.EndTime))
	t := newTable(g.stdout, "STAGE", "TYPE", "STATUS", "DURATION", "ID")
	for _, s := range e.Stages {
		name := s.Name
		if s.ParentStageID != "" {
			name = "  " + name
		}
		t.row(name, s.Type, s.Status, duration(s.StartTime, s.EndTime), s.ID)
	}
	_ = t.flush()
	for _, s := range e.Stages {
		if msg := s.failure(); msg != "" {
			fmt.Fprintf(g.stdout, "\nStage %q: %s\n", s.Name, msg)
		}
	}
}

func firstOf(a, b int64) int64 {
	if a > 0 {
		return a
	}
	return b
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func newExecutionListCmd(g *globals) *cobra.Command {
	var app, pipeline, statuses string
	var limit int
	cmd := &cobra.Command{
		Use:     "list APP",
		Aliases: []string{"ls"},
		Short:   "List an application's executions, newest first",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if app == "" && len(args) == 1 {
				app = args[0]
			}
			if app == "" {
				return fmt.Errorf("name the application: gennaker execution list APP [--pipeline NAME]")
			}
			c := g.client()
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if statuses != "" {
				q.Set("statuses", strings.ToUpper(statuses))
			}
			path := "/applications/" + seg(app) + "/pipelines?" + q.Encode()
			if pipeline != "" {
				p, err := c.pipelineConfig(cmd.Context(), app, pipeline)
				if err != nil {
					return err
				}
				q.Set("pipelineConfigIds", p.ID)
				path = "/executions?" + q.Encode()
			}
			var raw json.RawMessage
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var list []execution
			if err := json.Unmarshal(raw, &list); err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(g.stdout, "No executions.")
				return nil
			}
			t := newTable(g.stdout, "ID", "PIPELINE", "STATUS", "STARTED", "DURATION")
			for _, e := range list {
				start := firstOf(e.StartTime, e.BuildTime)
				t.row(e.ID, e.Name, e.Status, ms(start), duration(start, e.EndTime))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVarP(&app, "application", "a", "", "application")
	cmd.Flags().StringVarP(&pipeline, "pipeline", "p", "", "only this pipeline's executions (by name)")
	cmd.Flags().StringVar(&statuses, "status", "", "only these statuses (comma-separated, e.g. RUNNING,TERMINAL)")
	cmd.Flags().IntVar(&limit, "limit", 10, "most executions to list")
	return cmd
}

func newExecutionWatchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow an execution until it ends; exits 0 only if it SUCCEEDED",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return watchAndReport(cmd, g, g.client(), args[0])
		},
	}
}

func newExecutionActionCmd(g *globals, action, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/pipelines/" + seg(args[0]) + "/" + action
			if reason != "" {
				path += "?reason=" + url.QueryEscape(reason)
			}
			if err := g.client().do(cmd.Context(), http.MethodPut, path, nil, nil); err != nil {
				return err
			}
			past := map[string]string{"cancel": "canceled", "pause": "paused", "resume": "resumed"}[action]
			if g.json() {
				return printJSON(g.stdout, map[string]any{"id": args[0], past: true})
			}
			fmt.Fprintf(g.stdout, "Execution %s %s\n", args[0], past)
			return nil
		},
	}
	if action == "cancel" {
		cmd.Flags().StringVar(&reason, "reason", "", "why, recorded on the execution")
	}
	return cmd
}

// findStage finds a stage by name, id or refId.
func findStage(e *execution, want string) (*stage, error) {
	var byName []*stage
	for i := range e.Stages {
		s := &e.Stages[i]
		if s.ID == want {
			return s, nil
		}
		if s.Name == want {
			byName = append(byName, s)
		}
	}
	if len(byName) == 1 {
		return byName[0], nil
	}
	if len(byName) > 1 {
		return nil, fmt.Errorf("%d stages are named %q; give the stage id instead (gennaker execution get %s)", len(byName), want, e.ID)
	}
	for i := range e.Stages {
		if e.Stages[i].RefID == want && e.Stages[i].ParentStageID == "" {
			return &e.Stages[i], nil
		}
	}
	names := make([]string, 0, len(e.Stages))
	for _, s := range e.Stages {
		names = append(names, strconv.Quote(s.Name))
	}
	return nil, fmt.Errorf("execution %s has no stage %q; its stages are %s", e.ID, want, strings.Join(names, ", "))
}

// patchStage sends a PATCH to the stage named by --stage.
func patchStage(cmd *cobra.Command, g *globals, id, stageName string, patch map[string]any, done string) error {
	if stageName == "" {
		return fmt.Errorf("name the stage with --stage NAME")
	}
	c := g.client()
	e, err := c.execution(cmd.Context(), id)
	if err != nil {
		return err
	}
	s, err := findStage(e, stageName)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(cmd.Context(), http.MethodPatch, "/pipelines/"+seg(id)+"/stages/"+seg(s.ID), patch, &raw); err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, raw)
	}
	fmt.Fprintf(g.stdout, "Stage %q of %s: %s\n", s.Name, id, done)
	return nil
}

func newExecutionJudgeCmd(g *globals) *cobra.Command {
	var stageName, input string
	cmd := &cobra.Command{
		Use:   "judge ID --stage NAME continue|stop [--input X]",
		Short: "Make a manual judgment: continue or stop the pipeline",
		Example: `  gennaker execution judge 01J0000000000000000000000 --stage "Approve" continue
  gennaker execution judge 01J0000000000000000000000 --stage "Approve" stop --input "not today"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			choice := strings.ToLower(args[1])
			if choice != "continue" && choice != "stop" {
				return fmt.Errorf("the judgment is continue or stop, not %q", args[1])
			}
			patch := map[string]any{"judgmentStatus": choice}
			if input != "" {
				patch["judgmentInput"] = input
			}
			return patchStage(cmd, g, args[0], stageName, patch, "judged "+choice)
		},
	}
	cmd.Flags().StringVar(&stageName, "stage", "", "the manual judgment stage (name, id or refId)")
	cmd.Flags().StringVar(&input, "input", "", "judgment input (one of the stage's judgmentInputs, if it lists some)")
	return cmd
}

func newExecutionSkipCmd(g *globals) *cobra.Command {
	var stageName string
	cmd := &cobra.Command{
		Use:   "skip-wait ID --stage NAME",
		Short: "Skip the rest of a wait stage (or of an execution window)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return patchStage(cmd, g, args[0], stageName, map[string]any{"skipRemainingWait": true}, "wait skipped")
		},
	}
	cmd.Flags().StringVar(&stageName, "stage", "", "the waiting stage (name, id or refId)")
	return cmd
}

func newExecutionRestartCmd(g *globals) *cobra.Command {
	var stageName string
	cmd := &cobra.Command{
		Use:   "restart ID --stage NAME",
		Short: "Run a finished stage, and every stage after it, again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if stageName == "" {
				return fmt.Errorf("name the stage with --stage NAME")
			}
			c := g.client()
			e, err := c.execution(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			s, err := findStage(e, stageName)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			path := "/pipelines/" + seg(args[0]) + "/stages/" + seg(s.ID) + "/restart"
			if err := c.do(cmd.Context(), http.MethodPut, path, map[string]any{}, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			fmt.Fprintf(g.stdout, "Stage %q of %s restarted\n", s.Name, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&stageName, "stage", "", "the stage to restart (name, id or refId)")
	return cmd
}
