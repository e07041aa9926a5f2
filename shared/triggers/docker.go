package triggers

import (
	"encoding/json"
	"fmt"

	"github.com/gennaker/gennaker/shared/model"
)

// A docker trigger (registry, repository, tag pattern, account) fires on
// an image pushed to its repository. From Amazon ECR it is an "ECR Image
// Action" event with action PUSH; its registry is
// <account>.dkr.ecr.<region>.amazonaws.com. The run carries the image as a
// docker/image artifact and trigger.tag and trigger.digest.

type ecrDetail struct {
	Result     string `json:"result"`
	Repository string `json:"repository-name"`
	Digest     string `json:"image-digest"`
	Action     string `json:"action-type"`
	Tag        string `json:"image-tag"`
}

// ErrIgnoredEvent: the event is of a known kind that starts nothing (an
// image deleted, a branch removed, a failed push).
var ErrIgnoredEvent = fmt.Errorf("the event starts no pipeline")

func ecrEvent(ev EventBridgeEvent) (*Event, error) {
	var d ecrDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	if d.Action != "PUSH" || (d.Result != "" && d.Result != "SUCCESS") {
		return nil, fmt.Errorf("action %s with result %s: %w", d.Action, d.Result, ErrIgnoredEvent)
	}
	if d.Repository == "" {
		return nil, fmt.Errorf("detail.repository-name is empty")
	}
	registry := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", ev.Account, ev.Region)
	return DockerPush(ev.ID, registry, d.Repository, d.Tag, d.Digest), nil
}

// DockerPush is the event of an image pushed to registry/repository with a
// tag and a digest.
func DockerPush(id, registry, repository, tag, digest string) *Event {
	image := registry + "/" + repository
	ref := image + ":" + tag
	if tag == "" {
		ref = image + "@" + digest
	}
	art := model.Artifact{Type: "docker/image", Name: image, Version: tag, Reference: ref}
	if tag == "" {
		art.Version = digest
	}
	if digest != "" {
		art.Metadata = map[string]any{"digest": digest}
	}
	return &Event{
		ID:          id,
		Type:        "docker",
		Key:         model.TriggerIndexKey("docker", repository),
		Description: "image " + ref + " pushed",
		Artifacts:   []model.Artifact{art},
		match: func(tr model.Trigger) string {
			if r := tr.Field("repository"); r != repository {
				return fmt.Sprintf("the trigger's repository %q is not %q", r, repository)
			}
			if r := tr.Field("registry"); r != "" && r != registry {
				return fmt.Sprintf("the trigger's registry %q is not %q", r, registry)
			}
			pattern := tr.Field("tag")
			if pattern == "" {
				return "" // any tag
			}
			if tag == "" || !fullMatch(pattern, tag) {
				return fmt.Sprintf("tag %q does not match the trigger's tag pattern %q", tag, pattern)
			}
			return ""
		},
		fields: func(tr model.Trigger) map[string]any {
			f := map[string]any{"tag": tag, "repository": repository}
			if tr.Field("registry") == "" {
				f["registry"] = registry
			}
			if digest != "" {
				f["digest"] = digest
			}
			return f
		},
	}
}
