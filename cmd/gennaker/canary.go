package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gennaker/gennaker/shared/canary"
)

// printCanaryReports writes, after an execution's stages, the report of
// every judged interval of its kayentaCanary stages: the score and, per
// metric, the baseline's and the canary's mean, the classification and why.
func printCanaryReports(ctx context.Context, g *globals, e *execution) {
	for _, s := range e.Stages {
		if s.Type != "kayentaCanary" {
			continue
		}
		state, _ := s.Context["canaryState"].(map[string]any)
		intervals, _ := state["intervals"].([]any)
		if len(intervals) == 0 {
			continue
		}
		fmt.Fprintf(g.stdout, "\nCanary analysis %q:\n", s.Name)
		if scores, ok := s.Context["canaryScores"].([]any); ok {
			fmt.Fprintf(g.stdout, "  interval scores %v\n", scores)
		}
		for _, raw := range intervals {
			iv, _ := raw.(map[string]any)
			id := str(iv["canaryPipelineExecutionId"])
			fmt.Fprintf(g.stdout, "\n%s (%s – %s):\n", str(iv["name"]), str(iv["startTimeIso"]), str(iv["endTimeIso"]))
			var run canary.Execution
			if err := g.client().do(ctx, http.MethodGet, "/v2/canaries/canary/"+seg(id), nil, &run); err != nil {
				fmt.Fprintf(g.stdout, "  report %s unavailable: %v\n", id, err)
				continue
			}
			canary.WriteReport(g.stdout, &run)
		}
	}
}
