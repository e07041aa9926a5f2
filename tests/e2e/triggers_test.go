package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// triggerPipelines are the pipelines the trigger suite saves in application
// "shop": each has one trigger, and the test asserts which ones each event
// starts.
var triggerPipelines = []string{
	`{"id":"on-push","name":"OnPush","triggers":[{"type":"docker","enabled":true,"registry":"123456789012.dkr.ecr.us-west-2.amazonaws.com",
	   "repository":"my-repository-name","tag":"lat.*","runAsUser":"ci-bot","expectedArtifactIds":["image"]}],
	  "expectedArtifacts":[{"id":"image","displayName":"service image","matchArtifact":{"type":"docker/image","name":".*/my-repository-name"}}],
	  "stages":[{"refId":"1","type":"evaluateVariables","name":"Image","variables":[{"key":"image","value":"${#triggerResolvedArtifactByType('docker/image')['reference']}"}]}]}`,
	`{"id":"on-semver","name":"OnSemver","triggers":[{"type":"docker","enabled":true,"repository":"my-repository-name","tag":"v[0-9.]+"}]}`,
	`{"id":"disabled","name":"Disabled","triggers":[{"type":"docker","enabled":false,"repository":"my-repository-name"}]}`,
	`{"id":"on-commit","name":"OnCommit","triggers":[{"type":"git","enabled":true,"source":"codecommit","slug":"MyDemoRepo","branch":"my.*"}]}`,
	`{"id":"on-main","name":"OnMain","triggers":[{"type":"git","enabled":true,"source":"codecommit","slug":"MyDemoRepo","branch":"main"}]}`,
	`{"id":"on-github","name":"OnGitHub","triggers":[{"type":"git","enabled":true,"source":"github","project":"jervi","slug":"expert-waffle","branch":"main","secret":"s3cret"}]}`,
	`{"id":"on-hook","name":"OnHook","parameterConfig":[{"name":"stack","default":"dev"}],
	  "triggers":[{"type":"webhook","enabled":true,"source":"cihook"}]}`,
	`{"id":"chain-a","name":"A"}`,
	`{"id":"chain-b","name":"B","triggers":[{"type":"pipeline","enabled":true,"application":"shop","pipeline":"chain-a","status":["successful"]}]}`,
	`{"id":"chain-c","name":"C","triggers":[{"type":"pipeline","enabled":true,"application":"shop","pipeline":"chain-b","status":["successful"]}]}`,
	`{"id":"after-failure","name":"AfterFailure","triggers":[{"type":"pipeline","enabled":true,"application":"shop","pipeline":"chain-a","status":["failed"]}]}`,
}

// triggerRun is a run as the trigger suite reads it.
type triggerRun struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Status           string         `json:"status"`
	PipelineConfigID string         `json:"pipelineConfigId"`
	Trigger          map[string]any `json:"trigger"`
	Stages           []struct {
		Name    string         `json:"name"`
		Outputs map[string]any `json:"outputs"`
	} `json:"stages"`
}

func corpusFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir(), dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body as is, with the given headers, and returns the status
// and the answer.
func (s *server) post(t *testing.T, path string, body []byte, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// deliver posts an event or webhook and returns the names of the pipelines
// it started (new runs, not duplicates) and those it found an earlier
// delivery had started.
func (s *server) deliver(t *testing.T, path string, body []byte, header http.Header) (started, duplicates []string) {
	t.Helper()
	code, out := s.post(t, path, body, header)
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, code, out)
	}
	var resp struct {
		Events []struct {
			Pipelines []struct {
				PipelineName string `json:"pipelineName"`
				Started      bool   `json:"started"`
				Duplicate    bool   `json:"duplicate"`
			} `json:"pipelines"`
		} `json:"events"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("POST %s: %v: %s", path, err, out)
	}
	for _, e := range resp.Events {
		for _, p := range e.Pipelines {
			switch {
			case p.Started && p.Duplicate:
				duplicates = append(duplicates, p.PipelineName)
			case p.Started:
				started = append(started, p.PipelineName)
			}
		}
	}
	return started, duplicates
}

// runsOf returns the pipeline's runs, newest first.
func (s *server) runsOf(t *testing.T, pipelineID string) []triggerRun {
	t.Helper()
	var all []triggerRun
	s.getJSON(t, "/applications/shop/pipelines", &all)
	var out []triggerRun
	for _, r := range all {
		if r.PipelineConfigID == pipelineID {
			out = append(out, r)
		}
	}
	return out
}

// onlyRun waits until the pipeline has exactly one run that has ended
// with status, and returns it as GET /pipelines/{id} serves it.
func (s *server) onlyRun(t *testing.T, pipelineID, status string) triggerRun {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs := s.runsOf(t, pipelineID)
		if len(runs) > 1 {
			t.Fatalf("pipeline %s has %d runs, want 1", pipelineID, len(runs))
		}
		if len(runs) == 1 && runs[0].Status == status {
			var r triggerRun
			s.getJSON(t, "/pipelines/"+runs[0].ID, &r)
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline %s never had one %s run: %+v", pipelineID, status, runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sameNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s started %v, want %v", what, got, want)
	}
}

func TestTriggersStartPipelines(t *testing.T) {
	needBinaries(t)
	s := startServer(t, t.TempDir())
	if why := s.createApp(t, "shop"); why != "" {
		t.Fatal(why)
	}
	for _, doc := range triggerPipelines {
		var p map[string]any
		if err := json.Unmarshal([]byte(doc), &p); err != nil {
			t.Fatalf("%v: %s", err, doc)
		}
		p["application"] = "shop"
		if p["stages"] == nil {
			p["stages"] = []any{map[string]any{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}}
		}
		if code, out := s.send(t, "POST", "/pipelines", p, nil); code != http.StatusOK {
			t.Fatalf("save %s: %d %s", p["name"], code, out)
		}
	}

	t.Run("ECR push", func(t *testing.T) {
		push := corpusFile(t, "events", "awsdocs_amazon-ecr-user-guide__ecr-image-action-push.json")
		explained := ok(t, s.gennaker(t, "trigger", "explain", filepath.Join(corpusDir(), "events", "awsdocs_amazon-ecr-user-guide__ecr-image-action-push.json")), "trigger explain").stdout
		for _, want := range []string{"OnPush", "yes", "OnSemver", `tag "latest" does not match the trigger's tag pattern`, "Disabled", "the trigger is disabled"} {
			if !strings.Contains(explained, want) {
				t.Errorf("gennaker trigger explain does not say %q:\n%s", want, explained)
			}
		}
		if runs := s.runsOf(t, "on-push"); len(runs) != 0 {
			t.Fatalf("explaining the event started %d runs", len(runs))
		}
		started, _ := s.deliver(t, "/events", push, nil)
		sameNames(t, "the ECR push", started, "OnPush")
		run := s.onlyRun(t, "on-push", "SUCCEEDED")
		tr := run.Trigger
		image := "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name:latest"
		for k, want := range map[string]any{
			"type": "docker", "tag": "latest", "user": "ci-bot", "runAsUser": "ci-bot",
			"digest":  "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
			"eventId": "13cde686-328b-6117-af20-0e5566167482",
		} {
			if tr[k] != want {
				t.Errorf("trigger.%s = %v, want %v", k, tr[k], want)
			}
		}
		arts, _ := tr["artifacts"].([]any)
		if len(arts) != 1 || arts[0].(map[string]any)["reference"] != image {
			t.Errorf("trigger.artifacts = %v, want the pushed image", tr["artifacts"])
		}
		if got := run.Stages[0].Outputs["image"]; got != image {
			t.Errorf("#triggerResolvedArtifactByType('docker/image') gave %v, want %s", got, image)
		}

		started, dups := s.deliver(t, "/events", push, nil)
		sameNames(t, "a second delivery of the push", started)
		sameNames(t, "a second delivery of the push (duplicates)", dups, "OnPush")
		time.Sleep(300 * time.Millisecond)
		if runs := s.runsOf(t, "on-push"); len(runs) != 1 {
			t.Fatalf("two deliveries of one event made %d runs", len(runs))
		}
		for _, id := range []string{"on-semver", "disabled"} {
			if runs := s.runsOf(t, id); len(runs) != 0 {
				t.Errorf("%s ran %d times on the push of tag latest", id, len(runs))
			}
		}
	})

	t.Run("findArtifactFromExecution", func(t *testing.T) {
		p := map[string]any{"id": "find-image", "application": "shop", "name": "FindImage", "stages": []any{
			map[string]any{"refId": "1", "type": "findArtifactFromExecution", "name": "Find", "application": "shop", "pipeline": "on-push",
				"executionOptions":  map[string]any{"successful": true},
				"expectedArtifacts": []any{map[string]any{"id": "img", "matchArtifact": map[string]any{"type": "docker/image", "name": ".*my-repository-name"}}}},
			map[string]any{"refId": "2", "requisiteStageRefIds": []any{"1"}, "type": "findArtifactFromExecution", "name": "Missing", "application": "shop", "pipeline": "on-push",
				"expectedArtifacts": []any{map[string]any{"id": "jar", "displayName": "the jar", "matchArtifact": map[string]any{"type": "s3/object"}}}},
		}}
		if code, out := s.send(t, "POST", "/pipelines", p, nil); code != http.StatusOK {
			t.Fatalf("save: %d %s", code, out)
		}
		if code, out := s.send(t, "POST", "/pipelines/shop/FindImage", map[string]any{"type": "manual"}, nil); code != http.StatusAccepted {
			t.Fatalf("run: %d %s", code, out)
		}
		run := s.onlyRun(t, "find-image", "TERMINAL")
		found, _ := json.Marshal(run.Stages[0].Outputs["resolvedExpectedArtifacts"])
		if !strings.Contains(string(found), `"boundArtifact":{`) || !strings.Contains(string(found), "my-repository-name:latest") {
			t.Errorf("Find bound %s, want the image OnPush's run received", found)
		}
		var full struct {
			Stages []struct {
				Name    string         `json:"name"`
				Context map[string]any `json:"context"`
			} `json:"stages"`
		}
		s.getJSON(t, "/pipelines/"+run.ID, &full)
		msg, _ := json.Marshal(full.Stages[1].Context["exception"])
		if !strings.Contains(string(msg), `expected artifact \"the jar\"`) {
			t.Errorf("Missing failed with %s, want it to name the jar", msg)
		}
	})

	t.Run("CodeCommit push as PutEvents", func(t *testing.T) {
		var ev struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
			Account    string          `json:"account"`
		}
		raw := corpusFile(t, "events", "awsdocs_aws-codecommit-user-guide__codecommit-referenceupdated.json")
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		// The real event, as EventBridge delivers it, and then the same
		// event as a PutEvents entry: both name one commit push.
		started, _ := s.deliver(t, "/events", raw, nil)
		sameNames(t, "the CodeCommit event", started, "OnCommit")
		run := s.onlyRun(t, "on-commit", "SUCCEEDED")
		if run.Trigger["hash"] != "7f0103fMERGE" || run.Trigger["branch"] != "myBranch" || run.Trigger["project"] != "123456789012" {
			t.Errorf("trigger = %v, want hash 7f0103fMERGE on branch myBranch of account 123456789012", run.Trigger)
		}
		if runs := s.runsOf(t, "on-main"); len(runs) != 0 {
			t.Errorf("a push to myBranch ran the pipeline of branch main")
		}
		// Put on the bus again with PutEvents, it is a new event (EventBridge
		// would give it a new id); sending that request twice is one event.
		entries, _ := json.Marshal(map[string]any{"Entries": []any{map[string]any{
			"Source": ev.Source, "DetailType": ev.DetailType, "Detail": string(ev.Detail)}}})
		started, _ = s.deliver(t, "/events", entries, nil)
		sameNames(t, "the event put again", started, "OnCommit")
		started, _ = s.deliver(t, "/events", entries, nil)
		sameNames(t, "the same PutEvents request again", started)
		if runs := s.runsOf(t, "on-commit"); len(runs) != 2 {
			t.Errorf("pipeline on-commit has %d runs, want 2", len(runs))
		}
	})

	t.Run("GitHub push", func(t *testing.T) {
		body := corpusFile(t, "webhooks", "spinnaker_echo__github-push-payload.json")
		bad := http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-1"}, "X-Hub-Signature-256": {"sha256=" + strings.Repeat("0", 64)}}
		started, _ := s.deliver(t, "/webhooks/git/github", body, bad)
		sameNames(t, "a push with a bad signature", started)
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(body)
		good := http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-2"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
		started, _ = s.deliver(t, "/webhooks/git/github", body, good)
		sameNames(t, "a signed push", started, "OnGitHub")
		run := s.onlyRun(t, "on-github", "SUCCEEDED")
		if run.Trigger["hash"] != "da68b0f38d58d68196651e808317bfae708fa9f0" || run.Trigger["branch"] != "main" || run.Trigger["slug"] != "expert-waffle" {
			t.Errorf("trigger = %v, want the pushed commit on main of expert-waffle", run.Trigger)
		}
		started, _ = s.deliver(t, "/webhooks/git/github", body, good)
		sameNames(t, "the signed push delivered again", started)
	})

	t.Run("generic webhook with parameters", func(t *testing.T) {
		body := corpusFile(t, "webhooks", "spinnaker_spinnaker.io__generic-webhook-parameters.json")
		started, _ := s.deliver(t, "/webhooks/webhook/cihook", body, nil)
		sameNames(t, "the webhook", started, "OnHook")
		run := s.onlyRun(t, "on-hook", "SUCCEEDED")
		params, _ := run.Trigger["parameters"].(map[string]any)
		if params["stack"] != "prod" || run.Trigger["type"] != "webhook" {
			t.Errorf("trigger = %v, want a webhook run with parameter stack=prod", run.Trigger)
		}
		if code, out := s.post(t, "/webhooks/webhook/cihook", []byte("not json"), nil); code != http.StatusBadRequest {
			t.Errorf("a body that is not JSON: %d %s, want 400", code, out)
		}
	})

	t.Run("pipeline chain A, B, C", func(t *testing.T) {
		code, out := s.send(t, "POST", "/pipelines/shop/A", map[string]any{"type": "manual", "user": "alice"}, nil)
		if code != http.StatusAccepted {
			t.Fatalf("run A: %d %s", code, out)
		}
		a := s.onlyRun(t, "chain-a", "SUCCEEDED")
		b := s.onlyRun(t, "chain-b", "SUCCEEDED")
		c := s.onlyRun(t, "chain-c", "SUCCEEDED")
		for _, link := range []struct {
			child  triggerRun
			parent string
		}{{b, a.ID}, {c, b.ID}} {
			pe, _ := link.child.Trigger["parentExecution"].(map[string]any)
			if link.child.Trigger["type"] != "pipeline" || pe["id"] != link.parent {
				t.Errorf("run %s of %s: trigger type %v, parentExecution %v; want pipeline and %s",
					link.child.ID, link.child.Name, link.child.Trigger["type"], pe["id"], link.parent)
			}
		}
		if runs := s.runsOf(t, "after-failure"); len(runs) != 0 {
			t.Errorf("a trigger on A failing ran after A succeeded")
		}
	})
}

func TestCronTriggerFiresInUp(t *testing.T) {
	needBinaries(t)
	s := startServer(t, t.TempDir())
	if why := s.createApp(t, "shop"); why != "" {
		t.Fatal(why)
	}
	p := map[string]any{"id": "every-2s", "application": "shop", "name": "Every2s",
		"triggers": []any{map[string]any{"type": "cron", "enabled": true, "cronExpression": "0/2 * * * * ?"}},
		"stages":   []any{map[string]any{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}}}
	header := http.Header{}
	if code, out := s.send(t, "POST", "/pipelines", p, header); code != http.StatusOK {
		t.Fatalf("save: %d %s", code, out)
	}
	if w := strings.Join(header.Values("Warning"), " "); !strings.Contains(w, "EventBridge Scheduler") {
		t.Errorf("a schedule at seconds other than 0 saved without a warning about the cloud (warnings: %q)", w)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs := s.runsOf(t, "every-2s")
		if len(runs) >= 2 {
			var r triggerRun
			s.getJSON(t, "/pipelines/"+runs[0].ID, &r)
			if r.Trigger["type"] != "cron" || r.Trigger["cronExpression"] != "0/2 * * * * ?" || r.Trigger["scheduledTime"] == nil {
				t.Fatalf("trigger = %v, want the cron trigger with its scheduled time", r.Trigger)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a schedule every two seconds ran %d times in 30 s", len(runs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Disabled, it stops.
	p["disabled"] = true
	if code, out := s.send(t, "POST", "/pipelines", p, nil); code != http.StatusOK {
		t.Fatalf("disable: %d %s", code, out)
	}
	time.Sleep(time.Second) // a run started just before the save may still be listed late
	before := len(s.runsOf(t, "every-2s"))
	time.Sleep(5 * time.Second)
	if after := len(s.runsOf(t, "every-2s")); after != before {
		t.Errorf("the disabled pipeline ran %d more times", after-before)
	}
}
