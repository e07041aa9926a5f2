package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// auditEvent is what the CLI shows of an event of GET /audit.
type auditEvent struct {
	Type        string `json:"type"`
	Time        int64  `json:"time"`
	Application string `json:"application"`
	Pipeline    string `json:"pipelineName"`
	ExecutionID string `json:"executionId"`
	Status      string `json:"status"`
	User        string `json:"user"`
	Error       string `json:"error"`
	Stage       *struct {
		Name string `json:"name"`
	} `json:"stage"`
}

func newAuditCmd(g *globals) *cobra.Command {
	var app, since, execution string
	var types []string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List what happened, newest first: runs, stages, judgments and pipeline changes, with who did them",
		Example: `  gennaker audit --app shop --since 24h
  gennaker audit --app shop --type pipeline --type manualJudgmentContinue`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"application": app, "since": since, "execution": execution} {
				if v != "" {
					q.Set(k, v)
				}
			}
			for _, t := range types {
				q.Add("type", t)
			}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			var raw json.RawMessage
			if err := g.client().do(cmd.Context(), http.MethodGet, "/audit?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, raw)
			}
			var events []auditEvent
			if err := json.Unmarshal(raw, &events); err != nil {
				return err
			}
			if len(events) == 0 {
				fmt.Fprintln(g.stdout, "No events.")
				return nil
			}
			t := newTable(g.stdout, "TIME", "EVENT", "APPLICATION", "PIPELINE", "STAGE", "EXECUTION", "STATUS", "USER", "ERROR")
			for _, e := range events {
				stage := ""
				if e.Stage != nil {
					stage = e.Stage.Name
				}
				t.row(ms(e.Time), e.Type, e.Application, orDash(e.Pipeline), orDash(stage), orDash(e.ExecutionID), orDash(e.Status), orDash(e.User), orDash(e.Error))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "only this application's events")
	cmd.Flags().StringVar(&since, "since", "", "only events since: ms since the epoch, an RFC 3339 time, or a duration back from now (24h)")
	cmd.Flags().StringArrayVar(&types, "type", nil, "only events of this type (pipeline.failed) or family (pipeline, stage); repeat for several")
	cmd.Flags().StringVar(&execution, "execution", "", "only this run's events")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many events")
	return cmd
}
