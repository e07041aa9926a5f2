package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// corpusDir holds real Spinnaker artifacts written by other people, beside
// the repository (../shared/corpus).
func corpusDir() string { return filepath.Join(repoRoot, "..", "shared", "corpus") }

// serverManaged are the fields a save sets, as Front50 does: they are not
// compared when a pipeline is read back.
var serverManaged = []string{"id", "updateTs", "lastModifiedBy"}

// corpusPipeline is one pipeline file of the corpus and what became of it.
type corpusPipeline struct {
	file     string
	doc      map[string]any
	app      string
	name     string
	status   int
	message  string
	warnings []string
}

// TestCorpusPipelines saves every pipeline of the corpus through the real
// API of `gennaker up`, reads it back and compares it with the file, unknown
// fields and all; it reports how many load, how many would run here, and
// why the others would not. Run it with -v to see the report:
//
//	go test -v -run TestCorpusPipelines ./tests/e2e/
func TestCorpusPipelines(t *testing.T) {
	needBinaries(t)
	files, err := filepath.Glob(filepath.Join(corpusDir(), "pipelines", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus pipelines under %s (%v): the corpus is part of the test data", corpusDir(), err)
	}
	s := startServer(t, t.TempDir(), "--accounts", corpusAccounts(t, files))
	apps := map[string]string{} // application → why it cannot be created, or ""
	var all []*corpusPipeline
	for _, f := range files {
		if strings.HasPrefix(strings.SplitN(filepath.Base(f), "__", 2)[1], "orchestration-") {
			continue // ad-hoc orchestration bodies, not pipelines
		}
		p := loadCorpusPipeline(t, f)
		all = append(all, p)
		app := strings.ToLower(p.app)
		if _, tried := apps[app]; !tried {
			apps[app] = s.createApp(t, p.app)
		}
		if msg := apps[app]; msg != "" {
			p.status, p.message = http.StatusBadRequest, msg
			continue
		}
		s.saveCorpusPipeline(t, p)
	}

	saved, runnable := 0, 0
	refusals := map[string][]string{}
	reasons := map[string]int{}
	triggerReasons := map[string]int{}
	for _, p := range all {
		// Warnings about triggers say a trigger will not fire here; they
		// do not keep the pipeline from running.
		var blocking []string
		seenTrigger := map[string]bool{}
		for _, w := range p.warnings {
			if strings.HasPrefix(w, "triggers[") {
				if r := warningReason(w); !seenTrigger[r] {
					triggerReasons[r]++
					seenTrigger[r] = true
				}
				continue
			}
			blocking = append(blocking, w)
		}
		switch {
		case p.status != http.StatusOK:
			refusals[p.message] = append(refusals[p.message], filepath.Base(p.file))
		case len(blocking) == 0:
			saved++
			runnable++
		default:
			saved++
			seen := map[string]bool{}
			for _, w := range blocking {
				r := warningReason(w)
				if !seen[r] {
					reasons[r]++
					seen[r] = true
				}
			}
		}
	}
	pct := func(n int) string { return strconv.FormatFloat(100*float64(n)/float64(len(all)), 'f', 1, 64) + "%" }
	t.Logf("corpus: %d pipelines; %d save and read back equal (%s); %d would run here (%s)", len(all), saved, pct(saved), runnable, pct(runnable))
	for _, r := range sortedByCount(reasons) {
		t.Logf("  cannot run here, %3d pipelines: %s", reasons[r], r)
	}
	for _, r := range sortedByCount(triggerReasons) {
		t.Logf("  a trigger will not fire, %3d pipelines: %s", triggerReasons[r], r)
	}
	for msg, fs := range refusals {
		t.Logf("  refused, %d: %s (%s)", len(fs), msg, strings.Join(fs, ", "))
	}
	if saved*100 < 95*len(all) {
		t.Errorf("only %d of %d corpus pipelines save (%s); at least 95%% must", saved, len(all), pct(saved))
	}
}

// corpusAccounts writes an accounts file with a Kubernetes account for every
// account the corpus's Kubernetes stages name, and an AWS account with its
// regions for every account its AWS stages name, as the teams that wrote
// them would have configured. Nothing is called: saving and checking a
// pipeline reaches neither the cluster nor AWS. Accounts of providers
// gennaker lacks (gce, titus, …) cannot be configured: their stages keep
// their warnings.
func corpusAccounts(t *testing.T, files []string) string {
	t.Helper()
	names := map[string]bool{}
	awsRegions := map[string]map[string]bool{} // aws account → its regions
	var visit func(v any, provider string)
	visit = func(v any, provider string) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["cloudProvider"].(string); ok {
				provider = p
			}
			if provider == "aws" || x["provider"] == "aws" || x["cloudProviderType"] == "aws" {
				collectAWSAccount(x, awsRegions)
			}
			if provider == "kubernetes" {
				for _, k := range []string{"account", "credentials"} {
					// "local" is the local provider's own account.
					if a, ok := x[k].(string); ok && a != "" && a != "local" && !strings.Contains(a, "${") {
						names[a] = true
					}
				}
			}
			for _, c := range x {
				visit(c, provider)
			}
		case []any:
			for _, c := range x {
				visit(c, provider)
			}
		}
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		visit(doc, "")
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: corpus, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: corpus, user: {token: corpus}}]
contexts: [{name: corpus, context: {cluster: corpus, user: corpus}}]
current-context: corpus
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("accounts:\n")
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		fmt.Fprintf(&b, "- name: %q\n  provider: kubernetes\n  kubeconfig: %q\n  context: corpus\n", n, kubeconfig)
	}
	awsNames := writeAWSAccounts(&b, awsRegions)
	path := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("accounts named as in the corpus: kubernetes %s; aws %s", strings.Join(sorted, ", "), strings.Join(awsNames, ", "))
	return path
}

// loadCorpusPipeline reads a pipeline file. Files copied from Deck's "Edit
// as JSON" view have no application or name (the pipeline being edited has
// them); they are saved under the application "corpus" and a name made from
// the file name, as a user pasting them would choose.
func loadCorpusPipeline(t *testing.T, file string) *corpusPipeline {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	p := &corpusPipeline{file: file, doc: doc}
	p.app, _ = doc["application"].(string)
	if p.app == "" {
		p.app = "corpus"
		doc["application"] = p.app
	}
	p.name, _ = doc["name"].(string)
	if p.name == "" {
		p.name = strings.TrimSuffix(filepath.Base(file), ".json")
		doc["name"] = p.name
	}
	return p
}

// createApp creates an application through Gate's task endpoint and
// returns why it could not, or "".
func (s *server) createApp(t *testing.T, name string) string {
	t.Helper()
	body := map[string]any{"application": name, "description": "Create Application: " + name,
		"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": name, "email": "corpus@example.com"}}}}
	code, out := s.send(t, "POST", "/tasks", body, nil)
	if code >= 500 {
		t.Errorf("create application %s: %d %s", name, code, out)
	}
	if code == http.StatusOK {
		return ""
	}
	var e struct{ Message string }
	_ = json.Unmarshal(out, &e)
	return "application: " + e.Message
}

// saveCorpusPipeline saves a pipeline, and when it saved, reads it back,
// compares it with the file and deletes it, so that pipelines of other files
// with the same name or id start afresh.
func (s *server) saveCorpusPipeline(t *testing.T, p *corpusPipeline) {
	t.Helper()
	header := http.Header{}
	code, out := s.send(t, "POST", "/pipelines", p.doc, header)
	p.status = code
	if code >= 500 {
		t.Errorf("%s: save answered %d: %s", filepath.Base(p.file), code, out)
	}
	if code != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(out, &e)
		p.message = e.Message
		return
	}
	for _, w := range header.Values("Warning") {
		if _, text, ok := strings.Cut(w, " gennaker "); ok {
			if unq, err := strconv.Unquote(text); err == nil {
				w = unq
			}
		}
		p.warnings = append(p.warnings, w)
	}
	path := "/applications/" + url.PathEscape(strings.ToLower(p.app)) + "/pipelineConfigs/" + url.PathEscape(p.name)
	code, out = s.send(t, "GET", path, nil, nil)
	if code != http.StatusOK {
		t.Errorf("%s: read back %s: %d %s", filepath.Base(p.file), path, code, out)
		return
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%s: %v", filepath.Base(p.file), err)
	}
	want := stripManaged(p.doc)
	got := stripManaged(back)
	want["application"] = strings.ToLower(p.app) // application names are stored in lower case
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: read back differs:\n%s", filepath.Base(p.file), jsonDiff(want, got))
	}
	id, _ := back["id"].(string)
	if code, out := s.send(t, "DELETE", "/pipelines/"+url.PathEscape(strings.ToLower(p.app))+"/"+url.PathEscape(p.name), nil, nil); code != http.StatusOK {
		t.Fatalf("%s: delete pipeline %s (%s): %d %s", filepath.Base(p.file), p.name, id, code, out)
	}
}

func stripManaged(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = v
	}
	for _, k := range serverManaged {
		delete(out, k)
	}
	return out
}

// jsonDiff names the top-level fields that differ.
func jsonDiff(want, got map[string]any) string {
	var b strings.Builder
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !reflect.DeepEqual(want[k], got[k]) {
			w, _ := json.Marshal(want[k])
			g, _ := json.Marshal(got[k])
			fmt.Fprintf(&b, "  %s:\n    file: %.300s\n    read: %.300s\n", k, w, g)
		}
	}
	return b.String()
}

var (
	stagePath = regexp.MustCompile(`^stages\[\d+\](\.|: )`)
	index     = regexp.MustCompile(`\[\d+\]`)
	known     = regexp.MustCompile(` \((available|known)[^)]*\)`)
)

// warningReason is a warning without the stage and list entry it is about,
// nor the list of what is available, so warnings of one cause group
// together.
func warningReason(w string) string {
	w = stagePath.ReplaceAllString(w, "")
	w = index.ReplaceAllString(w, "[]")
	return known.ReplaceAllString(w, "")
}

func sortedByCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// send makes a JSON request and returns the status and body; the answer's
// headers are copied into header when it is not nil.
func (s *server) send(t *testing.T, method, path string, body any, header http.Header) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		if header != nil {
			header[k] = vs
		}
	}
	return resp.StatusCode, out
}
