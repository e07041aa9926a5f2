package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// pollInterval is how often a watch reads the execution.
var pollInterval = 500 * time.Millisecond

// watchAndReport follows an execution to its end, printing progress, then
// reports how it ended. It fails (exit status 1) unless the execution
// SUCCEEDED. With -o json, progress goes to stderr and the final execution
// is printed to stdout as JSON.
func watchAndReport(cmd *cobra.Command, g *globals, c *client, id string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	progress := g.stdout
	if g.json() {
		progress = g.stderr
	}
	final, raw, err := watch(ctx, c, id, progress)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, msg: fmt.Sprintf("Stopped watching; execution %s goes on. Follow it again with: gennaker execution watch %s", id, id)}
		}
		return err
	}
	if g.json() {
		if err := printJSON(g.stdout, raw); err != nil {
			return err
		}
	} else {
		start := firstOf(final.StartTime, final.BuildTime)
		fmt.Fprintf(g.stdout, "Pipeline %q %s in %s (execution %s)\n", final.Name, final.Status, duration(start, final.EndTime), final.ID)
		for _, s := range final.Stages {
			if msg := s.failure(); msg != "" {
				fmt.Fprintf(g.stdout, "  stage %q: %s\n", s.Name, msg)
			}
		}
		printCost(ctx, g.stdout, c, final)
	}
	if final.Status != "SUCCEEDED" {
		return &exitError{code: 1}
	}
	return nil
}

// watch polls the execution until it is complete and prints each change of
// the pipeline's and its stages' statuses, with the time since the
// execution was triggered.
func watch(ctx context.Context, c *client, id string, w io.Writer) (*execution, json.RawMessage, error) {
	var (
		begin    = time.Now()
		offset   time.Duration
		first    = true
		seen     = map[string]string{}
		lastOK   = time.Now()
		pipeline string
	)
	for {
		var raw json.RawMessage
		err := c.do(ctx, http.MethodGet, "/pipelines/"+seg(id), nil, &raw)
		var e execution
		if err == nil {
			err = json.Unmarshal(raw, &e)
		}
		switch {
		case err == nil:
			lastOK = time.Now()
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case isStatus(err, http.StatusNotFound), time.Since(lastOK) > 30*time.Second:
			return nil, nil, err
		default:
			// The API may be restarting; keep trying for a while.
			if !sleep(ctx, pollInterval) {
				return nil, nil, ctx.Err()
			}
			continue
		}
		if first {
			first = false
			if e.BuildTime > 0 {
				offset = max(0, time.Since(time.UnixMilli(e.BuildTime)))
			}
		}
		observed := time.Since(begin) + offset
		// Times come from the execution where it records them, so they do
		// not depend on when this poll happened to run.
		at := func(t int64) string {
			d := observed
			if t > 0 && e.BuildTime > 0 {
				d = time.Duration(t-e.BuildTime) * time.Millisecond
			}
			return fmt.Sprintf("[%8s]", roundDuration(d))
		}
		// A pipeline that starts is reported before its stages, one that
		// ends after them.
		changed := e.Status != pipeline && !(pipeline == "" && e.Status == "NOT_STARTED")
		pipeline = e.Status
		pipelineLine := fmt.Sprintf("%s pipeline %q %s", at(eventTime(e.Status, e.StartTime, e.EndTime)), e.Name, e.Status)
		if changed && !isComplete(e.Status) {
			fmt.Fprintln(w, pipelineLine)
		}
		for i := range e.Stages {
			s := &e.Stages[i]
			prev, known := seen[s.ID]
			seen[s.ID] = s.Status
			if s.Status == prev || (!known && s.Status == "NOT_STARTED") {
				continue
			}
			indent := "  "
			if s.ParentStageID != "" {
				indent = "    "
			}
			stamp := at(eventTime(s.Status, s.StartTime, s.EndTime))
			line := fmt.Sprintf("%s %sstage %q (%s) %s", stamp, indent, s.Name, s.Type, s.Status)
			if s.EndTime > 0 && s.StartTime > 0 {
				line += " after " + duration(s.StartTime, s.EndTime)
			}
			if s.Status == "RUNNING" && s.Type == "manualJudgment" {
				line += fmt.Sprintf("\n%s     waiting for a judgment: gennaker execution judge %s --stage %q continue|stop", stamp, e.ID, s.Name)
			}
			fmt.Fprintln(w, line)
		}
		if changed && isComplete(e.Status) {
			fmt.Fprintln(w, pipelineLine)
		}
		if isComplete(e.Status) {
			return &e, raw, nil
		}
		if !sleep(ctx, pollInterval) {
			return nil, nil, ctx.Err()
		}
	}
}

// eventTime is when something reached status: its end time once it is
// complete, its start time while it runs, else 0 (unknown).
func eventTime(status string, start, end int64) int64 {
	if isComplete(status) && end > 0 {
		return end
	}
	if status == "RUNNING" {
		return start
	}
	return 0
}

func isComplete(status string) bool {
	switch status {
	case "SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED":
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// costSettle is how long after a run ends its last invocations and state
// machines take to add themselves to its cost.
var costSettle = 300 * time.Millisecond

// printCost prints what the run cost on AWS (or would cost, for a run on
// this machine), read again a moment after the run ended so its last
// invocations are in.
func printCost(ctx context.Context, w io.Writer, c *client, final *execution) {
	if final.Cost == nil {
		return
	}
	if sleep(ctx, costSettle) {
		if e, err := c.execution(ctx, final.ID); err == nil && e.Cost != nil {
			final.Cost = e.Cost
		}
	}
	k := final.Cost
	fmt.Fprintf(w, "Cost on AWS: $%.6f at %s list prices (%d state transitions, %d Lambda invocations, %.3f GB-s, %.0f read and %.0f write units, %d API calls)\n",
		k.TotalUSD, k.Region, k.Transitions, k.Invocations, k.GBSeconds, k.ReadUnits, k.WriteUnits, k.APICalls)
}
