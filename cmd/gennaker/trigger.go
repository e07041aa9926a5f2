package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newTriggerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger",
		Short: "See what events start which pipelines",
	}
	cmd.AddCommand(newTriggerExplainCmd(g))
	return cmd
}

// explainAnswer is what the explain endpoints answer.
type explainAnswer struct {
	Events []struct {
		ID          string `json:"id"`
		Description string `json:"description"`
		Ignored     string `json:"ignored"`
		Pipelines   []struct {
			Application  string `json:"application"`
			PipelineName string `json:"pipelineName"`
			TriggerIndex int    `json:"triggerIndex"`
			Started      bool   `json:"started"`
			Reason       string `json:"reason"`
		} `json:"pipelines"`
	} `json:"events"`
}

func newTriggerExplainCmd(g *globals) *cobra.Command {
	var webhook string
	cmd := &cobra.Command{
		Use:   "explain EVENT.json",
		Short: "List the pipelines an event would start, and why the others listening to its source would not",
		Long: `Explain reads an EventBridge event (an ECR push, a CodeCommit change, or a
PutEvents request with Entries) and asks gennaker which pipelines it would
start, starting nothing. With --webhook TYPE/SOURCE (git/github,
webhook/mysource, …) the file is a webhook payload instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			path := "/events/explain"
			if webhook != "" {
				typ, source, ok := strings.Cut(webhook, "/")
				if !ok || typ == "" || source == "" {
					return fmt.Errorf("--webhook %q: give TYPE/SOURCE, such as git/github or webhook/ci", webhook)
				}
				path = "/webhooks/" + seg(typ) + "/" + seg(source) + "/explain"
			}
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodPost, path, body, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var ans explainAnswer
			if err := json.Unmarshal(raw, &ans); err != nil {
				return err
			}
			for _, e := range ans.Events {
				if e.Ignored != "" {
					fmt.Fprintf(g.stdout, "Event %s starts nothing: %s\n", orDash(e.ID), e.Ignored)
					continue
				}
				fmt.Fprintf(g.stdout, "Event %s: %s\n", e.ID, e.Description)
				if len(e.Pipelines) == 0 {
					fmt.Fprintln(g.stdout, "  No pipeline has a trigger on this source.")
					continue
				}
				t := newTable(g.stdout, "  APPLICATION", "PIPELINE", "TRIGGER", "STARTS", "WHY NOT")
				for _, p := range e.Pipelines {
					starts := "no"
					if p.Started {
						starts = "yes"
					}
					t.row("  "+p.Application, p.PipelineName, fmt.Sprint(p.TriggerIndex), starts, orDash(p.Reason))
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&webhook, "webhook", "", "explain a webhook payload sent to /webhooks/TYPE/SOURCE instead of an EventBridge event")
	return cmd
}
