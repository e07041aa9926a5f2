package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// githubSender sets a commit status on the commit that triggered the run.
type githubSender struct {
	cfg    GitHub
	client HTTPDoer
}

func githubState(typ string) string {
	switch typ {
	case PipelineStarting, StageStarting, JudgmentWaiting:
		return "pending"
	case PipelineComplete, StageComplete, JudgmentContinue:
		return "success"
	case PipelineCanceled:
		return "error"
	}
	return "failure"
}

func (s githubSender) Send(ctx context.Context, j Job) error {
	if s.cfg.Token == "" {
		return permanent("githubStatus: no token (notifications.github.token in the configuration file)")
	}
	if strings.Count(j.Repo, "/") != 1 {
		return permanent("githubStatus: no repository: set address to owner/repo, or trigger the run from a git trigger with project and slug")
	}
	if j.SHA == "" {
		return permanent("githubStatus: the run's trigger names no commit (trigger.hash)")
	}
	base := s.cfg.BaseURL
	if base == "" {
		base = "https://api.github.com"
	}
	statusContext := "gennaker/" + j.Event.Pipeline
	if j.Event.Stage != nil {
		statusContext += "/" + j.Event.Stage.Name
	}
	desc, _, _ := strings.Cut(j.Text, "\n")
	if len(desc) > 140 {
		desc = desc[:137] + "..."
	}
	body, _ := json.Marshal(map[string]any{
		"state": githubState(j.Event.Type), "target_url": j.Event.Link,
		"description": desc, "context": statusContext,
	})
	url := fmt.Sprintf("%s/repos/%s/statuses/%s", strings.TrimRight(base, "/"), j.Repo, j.SHA)
	headers := map[string]string{
		"Authorization": "Bearer " + s.cfg.Token,
		"Accept":        "application/vnd.github+json",
	}
	if _, err := postJSON(ctx, s.client, url, headers, body); err != nil {
		return fmt.Errorf("githubStatus: %w", err)
	}
	return nil
}
