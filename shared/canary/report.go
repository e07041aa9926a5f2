package canary

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteReport writes a run as people read it: the score and verdict, then
// one line per metric with the baseline's and the canary's summary, the
// classification and why.
func WriteReport(w io.Writer, e *Execution) {
	fmt.Fprintf(w, "canary run %s (config %s, %s)\n", e.PipelineID, e.CanaryConfigID, e.Status)
	if e.Exception != nil {
		fmt.Fprintf(w, "  failed: %v\n", e.Exception["message"])
	}
	if e.Result == nil {
		return
	}
	jr := e.Result.JudgeResult
	fmt.Fprintf(w, "  score %g: %s", jr.Score.Score, jr.Score.Classification)
	if jr.Score.ClassificationReason != "" {
		fmt.Fprintf(w, " (%s)", jr.Score.ClassificationReason)
	}
	fmt.Fprintln(w)
	if len(jr.GroupScores) > 0 {
		var gs []string
		for _, g := range jr.GroupScores {
			s := fmt.Sprintf("%s %.4g", g["name"], g["score"])
			if nd, _ := g["noData"].(bool); nd {
				s = fmt.Sprintf("%s no data", g["name"])
			}
			gs = append(gs, s)
		}
		fmt.Fprintf(w, "  groups: %s\n", strings.Join(gs, ", "))
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  METRIC\tRESULT\tBASELINE mean (n)\tCANARY mean (n)\tRATIO\tWHY")
	for _, r := range jr.Results {
		name := fmt.Sprint(r["name"])
		if tags, ok := r["tags"].(map[string]string); ok && len(tags) > 0 {
			name += tagString(tags)
		} else if tags, ok := r["tags"].(map[string]any); ok && len(tags) > 0 {
			t := map[string]string{}
			for k, v := range tags {
				t[k] = fmt.Sprint(v)
			}
			name += tagString(t)
		}
		class := fmt.Sprint(r["classification"])
		if c, _ := r["critical"].(bool); c {
			class += " (critical)"
		}
		if m, _ := r["muted"].(bool); m {
			class += " (muted)"
		}
		meta, _ := r["resultMetadata"].(map[string]any)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%v\n", name, class,
			side(r["controlMetadata"]), side(r["experimentMetadata"]), number(meta["ratio"]), meta["why"])
	}
	tw.Flush()
}

func tagString(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func side(v any) string {
	m, _ := v.(map[string]any)
	st, _ := m["stats"].(map[string]any)
	if st == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%v)", number(st["mean"]), st["count"])
}

func number(v any) string {
	switch f := v.(type) {
	case float64:
		return fmt.Sprintf("%.4g", f)
	case nil:
		return "n/a"
	}
	return fmt.Sprint(v)
}
