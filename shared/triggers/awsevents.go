package triggers

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// CodeBuild "Build State Change" and S3 "Object Created" events fire
// webhook triggers whose source is codebuild or s3, as if the event's
// detail had been posted to /webhooks/webhook/{source}: payloadConstraints
// apply to the detail (a dotted key such as "bucket.name" reaches into
// it), and the run receives the build's output or the new object as an
// s3/object artifact.

func codeBuildEvent(ev EventBridgeEvent) (*Event, error) {
	var d struct {
		Status  string `json:"build-status"`
		Project string `json:"project-name"`
		Info    struct {
			Artifact struct {
				Location string `json:"location"`
			} `json:"artifact"`
		} `json:"additional-information"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	var arts []model.Artifact
	if loc, ok := strings.CutPrefix(d.Info.Artifact.Location, "arn:aws:s3:::"); ok && loc != "" {
		arts = append(arts, s3Object(loc))
	}
	return detailWebhook(ev, "codebuild", fmt.Sprintf("CodeBuild build of %s %s", d.Project, d.Status), arts)
}

func s3Event(ev EventBridgeEvent) (*Event, error) {
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	if d.Bucket.Name == "" || d.Object.Key == "" {
		return nil, fmt.Errorf("detail.bucket.name and detail.object.key must be set")
	}
	loc := d.Bucket.Name + "/" + d.Object.Key
	return detailWebhook(ev, "s3", "object s3://"+loc+" created", []model.Artifact{s3Object(loc)})
}

func s3Object(bucketKey string) model.Artifact {
	ref := "s3://" + bucketKey
	return model.Artifact{Type: "s3/object", Name: ref, Reference: ref}
}

// detailWebhook is a webhook event of the source whose payload is the
// EventBridge event's detail.
func detailWebhook(ev EventBridgeEvent, source, desc string, arts []model.Artifact) (*Event, error) {
	var payload map[string]any
	if err := json.Unmarshal(ev.Detail, &payload); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	return &Event{
		ID:          ev.ID,
		Type:        "webhook",
		Key:         model.TriggerIndexKey("webhook", source),
		Description: desc,
		Artifacts:   arts,
		match: func(tr model.Trigger) string {
			if s := tr.Field("source"); s != source {
				return fmt.Sprintf("the trigger's source %q is not %q", s, source)
			}
			var constraints map[string]string
			if err := decodeField(tr, "payloadConstraints", &constraints); err != nil {
				return "the trigger's payloadConstraints is not an object of strings"
			}
			return checkConstraints("event detail", constraints, payload)
		},
		fields: func(model.Trigger) map[string]any {
			return map[string]any{"payload": payload, "source": source}
		},
	}, nil
}
