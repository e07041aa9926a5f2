package triggers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

func openStore(t testing.TB) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "gennaker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pipelineWith is a one-stage pipeline with the given triggers and
// expected artifacts, as JSON documents.
func pipelineWith(t testing.TB, id, name string, triggers string, expected string) *model.Pipeline {
	t.Helper()
	if expected == "" {
		expected = "[]"
	}
	doc := fmt.Sprintf(`{"id":%q,"application":"shop","name":%q,"stages":[{"refId":"1","type":"wait","name":"Wait","waitTime":1}],
		"triggers":%s,"expectedArtifacts":%s}`, id, name, triggers, expected)
	var p model.Pipeline
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("pipeline %s: %v", id, err)
	}
	return &p
}

func savePipeline(t testing.TB, s store.Store, p *model.Pipeline) {
	t.Helper()
	if _, err := s.Pipelines().Save(context.Background(), p, "", 0); err != nil {
		t.Fatal(err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eventBridge(t testing.TB, name string) *Event {
	t.Helper()
	evs, err := ParseEventBridge(readTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := FromEventBridge(evs[0])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func webhook(t testing.TB, typ, source, name string, header http.Header) *Event {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	ev, err := FromWebhook(typ, source, header, readTestdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// started returns the names of pipelines the outcomes start, sorted, and
// the reasons of the others by name.
func started(outs []Outcome) ([]string, map[string]string) {
	var names []string
	why := map[string]string{}
	for _, o := range outs {
		if o.Started {
			names = append(names, o.PipelineName)
		} else {
			why[o.PipelineName] = o.Reason
		}
	}
	slices.Sort(names)
	return names, why
}

const ecrRegistry = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

func TestEventsStartTheirPipelines(t *testing.T) {
	s := openStore(t)
	for _, p := range []*model.Pipeline{
		pipelineWith(t, "p-any-tag", "AnyTag", `[{"type":"docker","enabled":true,"repository":"my-repository-name","runAsUser":"ci-bot"}]`, ""),
		pipelineWith(t, "p-latest", "Latest", `[{"type":"docker","enabled":true,"registry":"`+ecrRegistry+`","repository":"my-repository-name","tag":"lat.*"}]`, ""),
		pipelineWith(t, "p-semver", "Semver", `[{"type":"docker","enabled":true,"repository":"my-repository-name","tag":"v\\d+"}]`, ""),
		pipelineWith(t, "p-other-registry", "OtherRegistry", `[{"type":"docker","enabled":true,"registry":"gcr.io","repository":"my-repository-name"}]`, ""),
		pipelineWith(t, "p-off", "Off", `[{"type":"docker","enabled":false,"repository":"my-repository-name"}]`, ""),
		pipelineWith(t, "p-cc", "CodeCommit", `[{"type":"git","enabled":true,"source":"codecommit","slug":"MyDemoRepo","branch":"my.*"}]`, ""),
		pipelineWith(t, "p-cc-main", "CodeCommitMain", `[{"type":"git","enabled":true,"source":"codecommit","project":"123456789012","slug":"mydemorepo","branch":"main"}]`, ""),
		pipelineWith(t, "p-cc-acct", "CodeCommitOtherAccount", `[{"type":"git","enabled":true,"source":"codecommit","project":"999999999999","slug":"MyDemoRepo"}]`, ""),
		pipelineWith(t, "p-gh", "GitHub", `[{"type":"git","enabled":true,"source":"github","project":"jervi","slug":"expert-waffle","branch":"main"}]`, ""),
		pipelineWith(t, "p-bb", "Bitbucket", `[{"type":"git","enabled":true,"source":"bitbucket","project":"bitbucketfan","slug":"test_webhooks","branch":"master"}]`, ""),
		pipelineWith(t, "p-stash", "Stash", `[{"type":"git","enabled":true,"source":"stash","project":"RT","slug":"repo-test","branch":"feature-.*"}]`, ""),
		pipelineWith(t, "p-hook", "Hook", `[{"type":"webhook","enabled":true,"source":"cihook","payloadConstraints":{"mykey":"my.*"}}]`, ""),
		pipelineWith(t, "p-hook-strict", "HookStrict", `[{"type":"webhook","enabled":true,"source":"cihook","payloadConstraints":{"bing":"bop"}}]`, ""),
		pipelineWith(t, "p-build", "Build", `[{"type":"webhook","enabled":true,"source":"codebuild","payloadConstraints":{"project-name":"my-sample-project","build-status":"SUCCEEDED"}}]`, ""),
		pipelineWith(t, "p-build-other", "OtherBuild", `[{"type":"webhook","enabled":true,"source":"codebuild","payloadConstraints":{"project-name":"other"}}]`, ""),
		pipelineWith(t, "p-s3", "Upload", `[{"type":"webhook","enabled":true,"source":"s3","payloadConstraints":{"bucket.name":"example-bucket","object.key":".*\\.jpg"}}]`, ""),
	} {
		savePipeline(t, s, p)
	}
	h := &Handler{Store: s}
	cases := []struct {
		name    string
		event   *Event
		want    []string
		refused map[string]string
	}{
		{"ECR push", eventBridge(t, "ecr-push.json"), []string{"AnyTag", "Latest"}, map[string]string{
			"Semver": `tag "latest" does not match`, "OtherRegistry": `registry "gcr.io"`, "Off": "disabled"}},
		{"CodeCommit branch updated", eventBridge(t, "codecommit-updated.json"), []string{"CodeCommit"}, map[string]string{
			"CodeCommitMain": `branch "myBranch"`, "CodeCommitOtherAccount": `project "999999999999"`}},
		{"GitHub push", webhook(t, "git", "github", "github-push.json", nil), []string{"GitHub"}, nil},
		{"Bitbucket push", webhook(t, "git", "bitbucket", "bitbucket-push.json", nil), []string{"Bitbucket"}, nil},
		{"Bitbucket Server push", webhook(t, "git", "stash", "stash-refs-changed.json", nil), []string{"Stash"}, nil},
		{"generic webhook", webhook(t, "webhook", "cihook", "webhook-payload.json", nil), []string{"Hook"}, map[string]string{
			"HookStrict": `"bing" is "boooop"`}},
		{"CodeBuild build succeeded", eventBridge(t, "codebuild-succeeded.json"), []string{"Build"}, map[string]string{
			"OtherBuild": `"project-name" is "my-sample-project"`}},
		{"S3 object created", eventBridge(t, "s3-object-created.json"), []string{"Upload"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outs, err := h.Explain(t.Context(), tc.event)
			if err != nil {
				t.Fatal(err)
			}
			got, why := started(outs)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("started %v, want %v (refused: %v)", got, tc.want, why)
			}
			for name, reason := range tc.refused {
				if !strings.Contains(why[name], reason) {
					t.Errorf("%s refused with %q, want it to say %q", name, why[name], reason)
				}
			}
		})
	}
}

func TestRunTriggerCarriesWhatTheEventBrought(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "Deploy",
		`[{"type":"docker","enabled":true,"repository":"my-repository-name","runAsUser":"ci-bot","expectedArtifactIds":["img"]}]`,
		`[{"id":"img","matchArtifact":{"type":"docker/image","name":".*/my-repository-name"}}]`))
	outs, err := (&Handler{Store: s}).Explain(t.Context(), eventBridge(t, "ecr-push.json"))
	if err != nil || len(outs) != 1 || !outs[0].Started {
		t.Fatalf("got %+v, %v; want Deploy started", outs, err)
	}
	tr := outs[0].Trigger
	b, _ := json.Marshal(tr)
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	wantImage := ecrRegistry + "/my-repository-name"
	checks := map[string]any{
		"type": "docker", "user": "ci-bot", "runAsUser": "ci-bot", "tag": "latest",
		"digest":  "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
		"eventId": "13cde686-328b-6117-af20-0e5566167482", "registry": nil,
	}
	for k, v := range checks {
		if v != nil && doc[k] != v {
			t.Errorf("trigger.%s = %v, want %v", k, doc[k], v)
		}
	}
	arts, _ := doc["artifacts"].([]any)
	if len(arts) != 1 || arts[0].(map[string]any)["reference"] != wantImage+":latest" {
		t.Errorf("trigger.artifacts = %v, want the image %s:latest", doc["artifacts"], wantImage)
	}
	res, _ := doc["resolvedExpectedArtifacts"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["boundArtifact"].(map[string]any)["name"] != wantImage {
		t.Errorf("trigger.resolvedExpectedArtifacts = %v, want img bound to %s", doc["resolvedExpectedArtifacts"], wantImage)
	}
	if ev, _ := doc["event"].(map[string]any); ev["detail-type"] != "ECR Image Action" {
		t.Errorf("trigger.event = %v, want the ECR event", doc["event"])
	}
}

func TestExpectedArtifacts(t *testing.T) {
	image := model.Artifact{Type: "docker/image", Name: "gcr.io/p/app", Reference: "gcr.io/p/app:v2", Version: "v2"}
	def := &model.Artifact{Type: "docker/image", Name: "gcr.io/p/app", Reference: "gcr.io/p/app:stable"}
	cases := []struct {
		name     string
		expected model.ExpectedArtifact
		received []model.Artifact
		bound    string // the bound artifact's reference; "" when the run must not start
	}{
		{"matches by type and name pattern", model.ExpectedArtifact{ID: "a", MatchArtifact: &model.Artifact{Type: "docker/image", Name: "gcr.io/p/.*"}},
			[]model.Artifact{image}, "gcr.io/p/app:v2"},
		{"a pattern matches whole", model.ExpectedArtifact{ID: "a", MatchArtifact: &model.Artifact{Type: "docker/image", Name: "gcr.io/p"}},
			[]model.Artifact{image}, ""},
		{"falls back to the default", model.ExpectedArtifact{ID: "a", MatchArtifact: &model.Artifact{Type: "docker/image", Name: "other"}, UseDefaultArtifact: true, DefaultArtifact: def},
			[]model.Artifact{image}, "gcr.io/p/app:stable"},
		{"default not used unless asked", model.ExpectedArtifact{ID: "a", MatchArtifact: &model.Artifact{Type: "s3/object"}, DefaultArtifact: def},
			[]model.Artifact{image}, ""},
		{"nothing received", model.ExpectedArtifact{ID: "a", DisplayName: "the image", MatchArtifact: &model.Artifact{Type: "docker/image"}},
			nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			p := &model.Pipeline{ID: "p", Application: "shop", Name: "P", ExpectedArtifacts: []model.ExpectedArtifact{tc.expected}}
			tr := model.Trigger{Type: "webhook", Enabled: true, Extra: model.Extra{"expectedArtifactIds": json.RawMessage(`["a"]`)}}
			res, err := Resolve(t.Context(), s, p, tr, tc.received)
			if tc.bound == "" {
				var unmatched *UnmatchedArtifactError
				if !errors.As(err, &unmatched) {
					t.Fatalf("got %+v, %v; want an UnmatchedArtifactError", res, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Expected) != 1 || res.Expected[0].BoundArtifact.Reference != tc.bound {
				t.Fatalf("bound %+v, want %s", res.Expected, tc.bound)
			}
			if !slices.ContainsFunc(res.Artifacts, func(a model.Artifact) bool { return a.Reference == tc.bound }) {
				t.Errorf("trigger artifacts %+v lack the bound artifact", res.Artifacts)
			}
		})
	}
}

func TestAWSEventsCarryTheirArtifacts(t *testing.T) {
	for name, want := range map[string]string{
		"codebuild-succeeded.json": "s3://codebuild-123456789012-output-bucket/my-output-artifact.zip",
		"s3-object-created.json":   "s3://example-bucket/IMG_m7fzo3.jpg",
	} {
		ev := eventBridge(t, name)
		if len(ev.Artifacts) != 1 || ev.Artifacts[0].Type != "s3/object" || ev.Artifacts[0].Reference != want {
			t.Errorf("%s: artifacts %+v, want the s3/object %s", name, ev.Artifacts, want)
		}
	}
}

func TestUnmatchedArtifactsStartNothing(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "Deploy",
		`[{"type":"webhook","enabled":true,"source":"cihook","expectedArtifactIds":["manifest"]}]`,
		`[{"id":"manifest","displayName":"prod manifest","matchArtifact":{"type":"s3/object","name":"s3://bucket/prod\\.yml"}}]`))
	st := &fakeStarter{}
	outs, err := (&Handler{Store: s, Starter: st}).Handle(t.Context(), webhook(t, "webhook", "cihook", "webhook-artifacts.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Started || !strings.Contains(outs[0].Reason, `"prod manifest"`) || len(st.calls) != 0 {
		t.Fatalf("got %+v (%d runs); want no run, because prod manifest did not arrive", outs, len(st.calls))
	}
}

func TestGitHubSignature(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "Signed", `[{"type":"git","enabled":true,"source":"github","project":"jervi","slug":"expert-waffle","secret":"s3cret"}]`, ""))
	body := readTestdata(t, "github-push.json")
	sign := func(secret string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	for _, tc := range []struct {
		name, signature string
		start           bool
	}{
		{"signed with the secret", sign("s3cret"), true},
		{"signed with another secret", sign("guess"), false},
		{"not signed", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"X-Github-Event": {"push"}}
			if tc.signature != "" {
				h.Set("X-Hub-Signature-256", tc.signature)
			}
			ev, err := FromWebhook("git", "github", h, body)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := (&Handler{Store: s}).Explain(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 || outs[0].Started != tc.start {
				t.Fatalf("got %+v, want started=%v", outs, tc.start)
			}
		})
	}
}

func TestIgnoredEvents(t *testing.T) {
	for _, name := range []string{"ecr-delete.json", "codecommit-deleted.json"} {
		evs, err := ParseEventBridge(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := FromEventBridge(evs[0]); !errors.Is(err, ErrIgnoredEvent) {
			t.Errorf("%s: got %v, want ErrIgnoredEvent", name, err)
		}
	}
	if _, err := FromWebhook("git", "github", http.Header{"X-Github-Event": {"ping"}}, readTestdata(t, "github-ping.json")); !errors.Is(err, ErrIgnoredEvent) {
		t.Errorf("GitHub ping: got %v, want ErrIgnoredEvent", err)
	}
}

func TestDuplicateDeliveryStartsOneRun(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "Deploy", `[{"type":"docker","enabled":true,"repository":"my-repository-name"}]`, ""))
	st := &fakeStarter{}
	h := &Handler{Store: s, Starter: st}
	for i := range 3 {
		outs, err := h.Handle(t.Context(), eventBridge(t, "ecr-push.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || !outs[0].Started || outs[0].Duplicate != (i > 0) {
			t.Fatalf("delivery %d: %+v", i+1, outs)
		}
	}
	if len(st.calls) != 1 {
		t.Fatalf("three deliveries started %d runs, want 1", len(st.calls))
	}
}

// fakeStarter records the runs it is asked to start, in place of the
// orchestrator (the end-to-end suite runs them for real).
type fakeStarter struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeStarter) TriggerPipeline(_ context.Context, p *model.Pipeline, _ model.ExecutionTrigger, key string) (model.ExecutionID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, string(p.ID))
	return model.ExecutionID(fmt.Sprintf("run-%d", len(f.calls))), nil
}

func TestPriorArtifactIsTheLastRunsBinding(t *testing.T) {
	s := openStore(t)
	p := pipelineWith(t, "p1", "Deploy", `[{"type":"webhook","enabled":true,"source":"ci","expectedArtifactIds":["cfg"]}]`,
		`[{"id":"cfg","matchArtifact":{"type":"s3/object"},"usePriorArtifact":true}]`)
	savePipeline(t, s, p)
	tr := model.Trigger{Type: "webhook", Enabled: true, Extra: model.Extra{"expectedArtifactIds": json.RawMessage(`["cfg"]`)}}
	if _, err := Resolve(t.Context(), s, p, tr, nil); err == nil {
		t.Fatal("with no prior run and nothing received, the artifact resolved")
	}
	prior := &model.Execution{ID: "r1", Type: "PIPELINE", Application: "shop", Name: "Deploy", PipelineConfigID: "p1",
		Status: model.StatusSucceeded, BuildTime: 1, Stages: []model.StageExecution{{ID: "s1", RefID: "1", Type: "wait", Name: "Wait", Status: model.StatusSucceeded}}}
	if err := json.Unmarshal([]byte(`{"type":"webhook","resolvedExpectedArtifacts":[{"id":"cfg","boundArtifact":{"type":"s3/object","reference":"s3://b/v1.yml"}}]}`), &prior.Trigger); err != nil {
		t.Fatal(err)
	}
	if err := s.Executions().Create(t.Context(), prior); err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(t.Context(), s, p, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expected) != 1 || res.Expected[0].BoundArtifact.Reference != "s3://b/v1.yml" {
		t.Fatalf("bound %+v, want the prior run's s3://b/v1.yml", res.Expected)
	}
	res, err = Resolve(t.Context(), s, p, tr, []model.Artifact{{Type: "s3/object", Reference: "s3://b/v2.yml"}})
	if err != nil || res.Expected[0].BoundArtifact.Reference != "s3://b/v2.yml" {
		t.Fatalf("got %+v, %v; an artifact the event brings wins over the prior one", res, err)
	}
}

func TestSQSMessagesFirePubsubTriggers(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "OnRelease", `[{"type":"pubsub","enabled":true,"pubsubSystem":"amazon","subscriptionName":"releases",
		"payloadConstraints":{"service":"web"},"attributeConstraints":{"env":"prod"}}]`, ""))
	savePipeline(t, s, pipelineWith(t, "p2", "Google", `[{"type":"pubsub","enabled":true,"pubsubSystem":"google","subscriptionName":"releases"}]`, ""))
	sns := func(service, env string) string {
		msg, _ := json.Marshal(map[string]any{"Type": "Notification", "MessageId": "m-" + service + env,
			"Message":           fmt.Sprintf(`{"service":%q,"version":"1.2.3"}`, service),
			"MessageAttributes": map[string]any{"env": map[string]string{"Type": "String", "Value": env}}})
		return string(msg)
	}
	batch, _ := json.Marshal(map[string]any{"Records": []any{
		map[string]any{"messageId": "1", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:releases", "body": sns("web", "prod")},
		map[string]any{"messageId": "2", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:releases", "body": sns("web", "dev")},
		map[string]any{"messageId": "3", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:releases", "body": sns("api", "prod")},
	}})
	st := &fakeStarter{}
	resp, err := (&Handler{Store: s, Starter: st}).HandleLambda(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Events {
		names, why := started(e.Pipelines)
		got = append(got, fmt.Sprintf("%v %s", names, why["OnRelease"]))
	}
	want := []string{
		"[OnRelease] ",
		`[] message attributes field "env" is "dev", which does not match "prod"`,
		`[] payload field "service" is "api", which does not match "web"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(st.calls) != 1 {
		t.Fatalf("started %d runs, want 1", len(st.calls))
	}
}

// A GitHub push carries the files it changed as github/file artifacts, so
// an expected artifact can bind the manifest the push changed.
func TestGitHubPushCarriesChangedFiles(t *testing.T) {
	s := openStore(t)
	savePipeline(t, s, pipelineWith(t, "p1", "Docs", `[{"type":"git","enabled":true,"source":"github","project":"jervi","slug":"expert-waffle","expectedArtifactIds":["readme"]}]`,
		`[{"id":"readme","matchArtifact":{"type":"github/file","name":"README\\.md"}}]`))
	savePipeline(t, s, pipelineWith(t, "p2", "Manifests", `[{"type":"git","enabled":true,"source":"github","project":"jervi","slug":"expert-waffle","expectedArtifactIds":["m"]}]`,
		`[{"id":"m","matchArtifact":{"type":"github/file","name":"deploy/.*\\.yml"}}]`))
	outs, err := (&Handler{Store: s}).Explain(t.Context(), webhook(t, "git", "github", "github-push.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	got, why := started(outs)
	if fmt.Sprint(got) != "[Docs]" || !strings.Contains(why["Manifests"], "expected artifacts") {
		t.Fatalf("started %v (refused %v); want Docs, bound to the README it changed, and not Manifests", got, why)
	}
	for _, o := range outs {
		if o.Started {
			b, _ := json.Marshal(o.Trigger)
			if !strings.Contains(string(b), `"reference":"https://api.github.com/repos/jervi/expert-waffle/contents/README.md"`) {
				t.Errorf("the run's trigger does not carry the changed README: %s", b)
			}
		}
	}
}
