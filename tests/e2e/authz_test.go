package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The authorization matrix: every API endpoint, called by users whose roles
// give them no, READ, EXECUTE, WRITE or every permission on applications
// with explicit EXECUTE, EXECUTE falling back to WRITE, and no permissions
// at all, deploying to an account they may and one they may not WRITE —
// against a real `gennaker up --auth`. Each cell's expected answer comes
// from the table below, written out by hand, not from the code under test.
// The routes mounted on the API (triggers, notifications and the audit
// log, canary configs and runs, cost, the web UI) have their rows in
// authz_routes_test.go, with the runs webhooks start; the matrix fails
// when a route the API serves was not called as every user.

const authFile = `
users:
  - {name: admin, token: admin-token-1, roles: [admins]}
  - {name: none, token: none-token-1, roles: []}
  - {name: reader, token: reader-token-1, roles: [readers]}
  - {name: executor, token: executor-token-1, roles: [executors]}
  - {name: writer, token: writer-token-1, roles: [writers]}
  - {name: deployer, tokenSha256: %s, roles: [executors, writers, deployers]}
admins: [admins]
serviceAccounts:
  - {name: deploy-bot, roles: [deployers]}
`

const accountsFile = `
accounts:
  - {name: prod, provider: local, permissions: {WRITE: [deployers]}}
  - {name: staging, provider: local}
notifications:
  slack: {signingSecret: slack-secret-1}
`

// users of the matrix; "" sends no credentials.
var matrixUsers = []string{"", "none", "reader", "executor", "writer", "deployer", "admin"}

var matrixApps = map[string]map[string]any{
	"shop":   {"READ": []string{"readers", "executors"}, "WRITE": []string{"writers"}, "EXECUTE": []string{"executors"}},
	"legacy": {"READ": []string{"readers"}, "WRITE": []string{"writers"}},
	"open":   nil,
}

var authenticatedUsers = []string{"none", "reader", "executor", "writer", "deployer", "admin"}

// grants says who may do what, by application and permission, as fiat
// defines it: WRITE holders may READ; legacy has no EXECUTE, so it falls
// back to WRITE; open has no permissions, so every user may do everything.
var grants = map[string]map[string][]string{
	"shop": {
		"READ":    {"admin", "reader", "executor", "writer", "deployer"},
		"WRITE":   {"admin", "writer", "deployer"},
		"EXECUTE": {"admin", "executor", "deployer"},
	},
	"legacy": {
		"READ":    {"admin", "reader", "writer", "deployer"},
		"WRITE":   {"admin", "writer", "deployer"},
		"EXECUTE": {"admin", "writer", "deployer"},
	},
	"open": {"READ": authenticatedUsers, "WRITE": authenticatedUsers, "EXECUTE": authenticatedUsers},
}

// accountWriters may deploy to each account.
var accountWriters = map[string][]string{"prod": {"admin", "deployer"}, "staging": authenticatedUsers}

func may(user, app, perm string) bool { return slices.Contains(grants[app][perm], user) }

type matrix struct {
	t     *testing.T
	s     *server
	cells []cell
	// routes maps a request to the route pattern the API serves it with;
	// hits records, by pattern, the users the matrix called it as.
	routes *http.ServeMux
	hits   map[string]map[string]bool
}

type cell struct {
	endpoint, user, resource string
	want, got                bool
	detail                   string
}

func (m *matrix) record(endpoint, user, resource string, want, got bool, detail string) {
	m.cells = append(m.cells, cell{endpoint, user, resource, want, got, detail})
}

// call sends a request as user (a Bearer token; none for ""), always with a
// false X-SPINNAKER-USER that must be ignored, and counts it as a call of
// its route by the user.
func (m *matrix) call(user, method, path string, body any) (int, []byte) {
	m.t.Helper()
	return m.send(user, method, path, body, nil, true)
}

// send is call with raw bodies ([]byte) and extra headers; count says
// whether the call counts for the route's coverage (setup calls do not).
func (m *matrix) send(user, method, path string, body any, header http.Header, count bool) (int, []byte) {
	m.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(body)
		if err != nil {
			m.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, m.s.url+path, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("X-SPINNAKER-USER", "mallory")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user+"-token-1")
	}
	if count && m.routes != nil {
		if _, pattern := m.routes.Handler(req); pattern != "" {
			if m.hits[pattern] == nil {
				m.hits[pattern] = map[string]bool{}
			}
			m.hits[pattern][user] = true
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// admin calls as the admin, to set up, and fails the test unless the
// answer is 2xx.
func (m *matrix) admin(method, path string, body any) []byte {
	m.t.Helper()
	code, out := m.send("admin", method, path, body, nil, false)
	if code >= 300 {
		m.t.Fatalf("admin %s %s: %d %s", method, path, code, out)
	}
	return out
}

// check calls an endpoint as user and records whether it was allowed: a
// 2xx answer (or one of okAlso), against the denial the user must get —
// 401 without credentials, 403 with them, with a message naming the
// missing permission.
func (m *matrix) check(endpoint, user, resource string, want bool, method, path string, body any, okAlso ...int) (int, []byte) {
	m.t.Helper()
	code, out := m.call(user, method, path, body)
	allowed := code < 300 || slices.Contains(okAlso, code)
	denied := (user == "" && code == 401) || (user != "" && code == 403)
	detail := fmt.Sprintf("%s %s → %d %s", method, path, code, truncate(out))
	if !allowed && !denied {
		m.t.Errorf("%s as %q on %s: neither allowed nor denied: %s", endpoint, user, resource, detail)
	}
	if denied && user != "" && !bytes.Contains(out, []byte("access denied")) {
		m.t.Errorf("%s as %q: a 403 without a message naming the permission: %s", endpoint, user, out)
	}
	if denied && user == "" && !bytes.Contains(out, []byte("Bearer")) {
		m.t.Errorf("%s without credentials: a 401 that does not say how to authenticate: %s", endpoint, out)
	}
	m.record(endpoint, user, resource, want, allowed, detail)
	return code, out
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

type runView struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	CanceledBy  string         `json:"canceledBy"`
	Trigger     map[string]any `json:"trigger"`
	Application string         `json:"application"`
	Stages      []struct {
		ID           string         `json:"id"`
		Name         string         `json:"name"`
		Type         string         `json:"type"`
		Status       string         `json:"status"`
		Context      map[string]any `json:"context"`
		Tasks        []any          `json:"tasks"`
		LastModified *struct {
			User string `json:"user"`
		} `json:"lastModified"`
	} `json:"stages"`
}

func (m *matrix) get(id string) runView {
	m.t.Helper()
	var v runView
	if err := json.Unmarshal(m.admin("GET", "/pipelines/"+id, nil), &v); err != nil {
		m.t.Fatal(err)
	}
	return v
}

func (m *matrix) waitRun(id, what string, cond func(runView) bool) runView {
	m.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := m.get(id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("run %s never reached %s: %+v", id, what, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var finished = map[string]bool{"SUCCEEDED": true, "TERMINAL": true, "CANCELED": true, "STOPPED": true}

func runDone(v runView) bool { return finished[v.Status] }

func stageRunning(v runView) bool {
	return v.Status == "RUNNING" && len(v.Stages) > 0 && v.Stages[0].Status == "RUNNING"
}

// trigger starts a run as user and returns its id ("" when refused).
func refID(out []byte) string {
	var ref struct{ Ref string }
	_ = json.Unmarshal(out, &ref)
	return strings.TrimPrefix(ref.Ref, "/pipelines/")
}

// fixture starts a run of app's pipeline as the admin and waits for cond.
func (m *matrix) fixture(app, pipeline string, cond func(runView) bool) string {
	m.t.Helper()
	id := refID(m.admin("POST", "/pipelines/"+app+"/"+pipeline, map[string]any{}))
	m.waitRun(id, "ready", cond)
	return id
}

// deployedBy reports whether the run's stage of the given type got past
// the orchestrator's check: it planned tasks and records no denial.
func (m *matrix) deployedBy(id, stageType string) (bool, string) {
	m.t.Helper()
	v := m.waitRun(id, "finished", runDone)
	for _, st := range v.Stages {
		if st.Type != stageType {
			continue
		}
		b, _ := json.Marshal(st.Context)
		if bytes.Contains(b, []byte("access denied")) {
			return false, string(b)
		}
		if len(st.Tasks) == 0 {
			m.t.Fatalf("stage %s of run %s planned no tasks and records no denial: %s", st.Name, id, b)
		}
		return true, string(b)
	}
	m.t.Fatalf("run %s has no %s stage", id, stageType)
	return false, ""
}

func stage(kind string, fields map[string]any) map[string]any {
	s := map[string]any{"refId": "1", "requisiteStageRefIds": []string{}, "type": kind, "name": kind}
	for k, v := range fields {
		s[k] = v
	}
	return s
}

func destroy(app, account string) map[string]any {
	return stage("destroyServerGroup", map[string]any{"cloudProvider": "local", "credentials": account, "regions": []string{"local"}, "serverGroupName": app + "-main-v000"})
}

func TestAuthorizationMatrix(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("deployer-token-1"))
	authPath := filepath.Join(dir, "auth.yaml")
	accountsPath := filepath.Join(dir, "accounts.yaml")
	if err := os.WriteFile(authPath, []byte(fmt.Sprintf(authFile, hex.EncodeToString(sum[:]))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(accountsPath, []byte(accountsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--auth", authPath, "--accounts", accountsPath)
	m := &matrix{t: t, s: s, routes: http.NewServeMux(), hits: map[string]map[string]bool{}}
	served := servedRoutes(t)
	for _, p := range served {
		m.routes.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}

	apps := []string{"legacy", "open", "shop"}
	pipelineIDs := map[string]map[string]string{}
	for _, app := range apps {
		attrs := map[string]any{"name": app, "email": "team@example.com"}
		if perms := matrixApps[app]; perms != nil {
			attrs["permissions"] = perms
		}
		m.admin("POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": attrs}}})
		pipes := map[string][]map[string]any{
			"wait":           {stage("wait", map[string]any{"waitTime": 0})},
			"judge":          {stage("manualJudgment", nil)},
			"judge-roles":    {stage("manualJudgment", map[string]any{"selectedStageRoles": []string{"deployers"}})},
			"deploy-prod":    {destroy(app, "prod")},
			"deploy-staging": {destroy(app, "staging")},
			"deploy-param":   {destroy(app, "${parameters.account}")},
		}
		pipelineIDs[app] = map[string]string{}
		for _, name := range []string{"wait", "judge", "judge-roles", "deploy-prod", "deploy-staging", "deploy-param"} {
			doc := map[string]any{"application": app, "name": name, "stages": pipes[name]}
			if name == "deploy-param" {
				doc["parameterConfig"] = []any{map[string]any{"name": "account", "default": "staging"}}
			}
			var saved struct{ ID string }
			_ = json.Unmarshal(m.admin("POST", "/pipelines", doc), &saved)
			pipelineIDs[app][name] = saved.ID
		}
		for _, acct := range []string{"prod", "staging"} {
			doc := map[string]any{"application": app, "name": "parent-" + acct, "stages": []any{
				stage("pipeline", map[string]any{"application": app, "pipeline": pipelineIDs[app]["deploy-"+acct], "waitForCompletion": true}),
			}}
			m.admin("POST", "/pipelines", doc)
		}
	}
	canaryIDs := m.setupMountedRoutes(apps)
	finishedRun := map[string]string{}
	for _, app := range apps {
		finishedRun[app] = m.fixture(app, "wait", runDone)
	}

	for _, app := range apps {
		for _, u := range matrixUsers {
			read, write, execute := may(u, app, "READ"), may(u, app, "WRITE"), may(u, app, "EXECUTE")
			pid := pipelineIDs[app]["wait"]
			uniq := fmt.Sprintf("%s-%s", app, u)
			if u == "" {
				uniq = app + "-anonymous"
			}

			// Applications.
			m.check("GET /applications/{app}", u, app, read, "GET", "/applications/"+app, nil)
			m.check("POST /tasks updateApplication", u, app, write, "POST", "/tasks", map[string]any{"job": []any{map[string]any{
				"type": "updateApplication", "application": map[string]any{"name": app, "description": "by " + u}}}})
			del := "del-" + uniq
			m.admin("POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": del, "permissions": matrixApps[app]}}}})
			m.check("POST /tasks deleteApplication", u, app, write, "POST", "/tasks", map[string]any{"job": []any{map[string]any{
				"type": "deleteApplication", "application": map[string]any{"name": del}}}})

			// Pipeline configurations.
			m.check("GET /applications/{app}/pipelineConfigs", u, app, read, "GET", "/applications/"+app+"/pipelineConfigs", nil)
			m.check("GET /applications/{app}/pipelineConfigs/{name}", u, app, read, "GET", "/applications/"+app+"/pipelineConfigs/wait", nil)
			code, out := m.check("POST /pipelines", u, app, write, "POST", "/pipelines", map[string]any{"application": app, "name": "new-" + uniq, "stages": []any{stage("wait", nil)}})
			if code == 200 {
				var saved struct{ LastModifiedBy string }
				_ = json.Unmarshal(out, &saved)
				if saved.LastModifiedBy != u {
					t.Errorf("a save by %s records lastModifiedBy %q (X-SPINNAKER-USER said mallory)", u, saved.LastModifiedBy)
				}
			}
			m.check("PUT /pipelines/{id}", u, app, write, "PUT", "/pipelines/"+pid, map[string]any{"id": pid, "application": app, "name": "wait", "stages": []any{stage("wait", map[string]any{"waitTime": 0})}})
			m.admin("POST", "/pipelines", map[string]any{"application": app, "name": "gone-" + uniq, "stages": []any{stage("wait", nil)}})
			m.check("DELETE /pipelines/{app}/{name}", u, app, write, "DELETE", "/pipelines/"+app+"/gone-"+uniq, nil)
			m.admin("POST", "/pipelines", map[string]any{"application": app, "name": "gonejob-" + uniq, "stages": []any{stage("wait", nil)}})
			m.check("POST /tasks deletePipeline", u, app, write, "POST", "/tasks", map[string]any{"job": []any{map[string]any{
				"type": "deletePipeline", "pipeline": map[string]any{"application": app, "name": "gonejob-" + uniq}}}})
			m.check("POST /tasks savePipeline", u, app, write, "POST", "/tasks", map[string]any{"job": []any{map[string]any{
				"type": "savePipeline", "pipeline": map[string]any{"application": app, "name": "job-" + uniq, "stages": []any{stage("wait", nil)}}}}})
			m.check("GET /pipelineConfigs/{id}/history", u, app, read, "GET", "/pipelineConfigs/"+pid+"/history", nil)
			m.check("GET /pipelineConfigs/{id}/history/{version}", u, app, read, "GET", "/pipelineConfigs/"+pid+"/history/1", nil)
			m.check("GET /pipelineConfigs/{id}/diff", u, app, read, "GET", "/pipelineConfigs/"+pid+"/diff?from=1&to=1", nil)
			m.check("POST /pipelineConfigs/{id}/history/{version}/restore", u, app, write, "POST", "/pipelineConfigs/"+pid+"/history/1/restore", nil)
			// Roles and runAsUser a saver does not hold.
			m.check("POST /pipelines with roles", u, app, write && (u == "deployer" || u == "admin"), "POST", "/pipelines",
				map[string]any{"application": app, "name": "roles-" + uniq, "roles": []string{"deployers"}, "stages": []any{stage("wait", nil)}})
			m.check("POST /pipelines with runAsUser", u, app, write && (u == "deployer" || u == "admin"), "POST", "/pipelines",
				map[string]any{"application": app, "name": "bot-" + uniq, "stages": []any{stage("wait", nil)},
					"triggers": []any{map[string]any{"type": "cron", "enabled": true, "cronExpression": "0 0 * * * ?", "runAsUser": "deploy-bot"}}})

			// Executions.
			code, out = m.check("POST /pipelines/{app}/{name}", u, app, execute, "POST", "/pipelines/"+app+"/wait", map[string]any{"user": "mallory"})
			if code == 202 {
				if v := m.get(refID(out)); v.Trigger["user"] != u {
					t.Errorf("a run %s started records trigger.user %v", u, v.Trigger["user"])
				}
			}
			m.check("POST /applications/{app}/pipelineConfigs/{name}", u, app, execute, "POST", "/applications/"+app+"/pipelineConfigs/wait", map[string]any{})
			if code, out := m.check("GET /pipelines/{id}", u, app, read, "GET", "/pipelines/"+finishedRun[app], nil); code == 200 && !bytes.Contains(out, []byte(`"cost"`)) {
				t.Errorf("GET /pipelines/{id} as %s shows no cost: %s", u, truncate(out))
			}
			m.check("GET /applications/{app}/pipelines", u, app, read, "GET", "/applications/"+app+"/pipelines", nil)
			gone := m.fixture(app, "wait", runDone)
			m.check("DELETE /pipelines/{id}", u, app, write, "DELETE", "/pipelines/"+gone, nil)

			run := m.fixture(app, "judge", stageRunning)
			code, _ = m.check("PUT /pipelines/{id}/cancel", u, app, execute, "PUT", "/pipelines/"+run+"/cancel", nil)
			if code == 200 {
				if v := m.waitRun(run, "canceled", runDone); v.CanceledBy != u {
					t.Errorf("a cancel by %s records canceledBy %q", u, v.CanceledBy)
				}
			}
			run = m.fixture(app, "judge", stageRunning)
			if code, _ := m.check("PUT /applications/{app}/pipelines/{id}/cancel", u, app, execute, "PUT", "/applications/"+app+"/pipelines/"+run+"/cancel", nil); code != 200 {
				m.admin("PUT", "/pipelines/"+run+"/cancel", nil)
			}
			run = m.fixture(app, "judge", stageRunning)
			m.check("PUT /pipelines/{id}/pause", u, app, execute, "PUT", "/pipelines/"+run+"/pause", nil)
			m.admin("PUT", "/pipelines/"+run+"/cancel", nil)
			run = m.fixture(app, "judge", stageRunning)
			m.admin("PUT", "/pipelines/"+run+"/pause", nil)
			m.check("PUT /pipelines/{id}/resume", u, app, execute, "PUT", "/pipelines/"+run+"/resume", nil)
			m.admin("PUT", "/pipelines/"+run+"/cancel", nil)

			for _, pipe := range []string{"judge", "judge-roles"} {
				run = m.fixture(app, pipe, stageRunning)
				st := m.get(run).Stages[0].ID
				want := execute && (pipe == "judge" || u == "deployer" || u == "admin")
				code, _ = m.check("PATCH /pipelines/{id}/stages/{stageId} ("+pipe+")", u, app, want, "PATCH", "/pipelines/"+run+"/stages/"+st, map[string]any{"judgmentStatus": "continue"})
				if code == 200 {
					v := m.waitRun(run, "judged", runDone)
					if by := v.Stages[0].Context["lastModifiedBy"]; by != u || v.Stages[0].LastModified == nil || v.Stages[0].LastModified.User != u {
						t.Errorf("a judgment by %s records lastModifiedBy %v", u, by)
					}
				} else {
					m.admin("PUT", "/pipelines/"+run+"/cancel", nil)
				}
			}

			// Deploys: a pipeline, an expression naming the account, an
			// ad-hoc task, a child pipeline, a restarted stage.
			for _, acct := range []string{"prod", "staging"} {
				where := app + "/" + acct
				want := execute && slices.Contains(accountWriters[acct], u)
				m.deployCell("trigger deploy pipeline", u, where, execute, want, "POST", "/pipelines/"+app+"/deploy-"+acct, map[string]any{})
				m.deployCell("trigger with ${parameters.account}", u, where, execute, want, "POST", "/pipelines/"+app+"/deploy-param",
					map[string]any{"parameters": map[string]any{"account": acct}})
				m.deployCell("POST /tasks ad-hoc destroyServerGroup", u, where, execute, want, "POST", "/tasks", map[string]any{
					"application": app, "job": []any{func() map[string]any { j := destroy(app, acct); j["application"] = app; return j }()}})
				m.deployCell("child pipeline deploy", u, where, execute, want, "POST", "/pipelines/"+app+"/parent-"+acct, map[string]any{})
				// A parent the admin started, its pipeline stage restarted
				// by the user: the new child acts as the user.
				parentRun := m.fixture(app, "parent-"+acct, runDone)
				pst := m.get(parentRun).Stages[0].ID
				if code, _ := m.check("PUT restart of a pipeline stage", u, app, execute, "PUT", "/pipelines/"+parentRun+"/stages/"+pst+"/restart", map[string]any{}); code == 200 {
					v := m.waitRun(parentRun, "finished", runDone)
					child, _ := v.Stages[0].Context["executionId"].(string)
					got, detail := m.deployedBy(child, "destroyServerGroup")
					m.record("restarted child pipeline deploy", u, where, want, got, detail)
				}
				// A run the admin started, restarted by the user.
				run := m.fixture(app, "deploy-"+acct, runDone)
				st := m.get(run).Stages[0].ID
				code, _ := m.check("PUT /pipelines/{id}/stages/{stageId}/restart", u, app, execute, "PUT", "/pipelines/"+run+"/stages/"+st+"/restart", map[string]any{})
				if code == 200 {
					got, detail := m.deployedBy(run, "destroyServerGroup")
					m.record("restarted stage deploy", u, where, want, got, detail)
					if v := m.get(run); v.Stages[0].LastModified == nil || v.Stages[0].LastModified.User != u {
						t.Errorf("a restart by %s is not recorded as theirs: %+v", u, v.Stages[0].LastModified)
					}
				}
			}

			// Deployments read API.
			for _, p := range []string{"serverGroups", "clusters", "loadBalancers", "serverGroupManagers"} {
				m.check("GET /applications/{app}/"+p, u, app, read, "GET", "/applications/"+app+"/"+p, nil)
			}
			m.check("GET /serverGroups/{account}/{region}/{name}", u, app, read, "GET", "/serverGroups/staging/local/"+app+"-main-v000", nil, 404)

			// Listings leave out what the user may not READ.
			if u != "" {
				m.listed("GET /applications", u, app, read, "/applications", func(b []byte) bool { return bytes.Contains(b, []byte(`"name":"`+app+`"`)) })
				m.listed("GET /pipelineConfigs", u, app, read, "/pipelineConfigs", func(b []byte) bool { return bytes.Contains(b, []byte(`"application":"`+app+`"`)) })
				m.listed("GET /executions", u, app, read, "/executions?executionIds="+finishedRun[app], func(b []byte) bool { return bytes.Contains(b, []byte(finishedRun[app])) })
			} else {
				m.check("GET /applications", u, app, false, "GET", "/applications", nil)
				m.check("GET /pipelineConfigs", u, app, false, "GET", "/pipelineConfigs", nil)
				m.check("GET /executions", u, app, false, "GET", "/executions?executionIds="+finishedRun[app], nil)
			}

			// Tasks.
			task := m.admin("POST", "/tasks", map[string]any{"application": app, "job": []any{map[string]any{"type": "updateApplication", "application": map[string]any{"name": app}}}})
			var ref struct{ Ref string }
			_ = json.Unmarshal(task, &ref)
			m.check("GET /tasks/{id}", u, app, read, "GET", ref.Ref, nil)
			m.check("GET /applications/{app}/tasks/{id}", u, app, read, "GET", "/applications/"+app+ref.Ref, nil)
			m.check("POST /applications/{app}/tasks", u, app, write, "POST", "/applications/"+app+"/tasks", map[string]any{"application": app, "job": []any{map[string]any{
				"type": "updateApplication", "application": map[string]any{"name": app, "description": "by " + u + " in its tasks"}}}})

			// The routes mounted on the API.
			m.mountedAppRows(app, u, canaryIDs[app], m.fixture(app, "judge", stageRunning), m.fixture(app, "judge-roles", stageRunning))
		}
	}

	// Load balancers of the open application in both accounts, for the
	// listings that leave out accounts a user may not READ (prod: only its
	// writers, the deployers).
	for _, acct := range []string{"prod", "staging"} {
		out := m.admin("POST", "/tasks", map[string]any{"application": "open", "job": []any{map[string]any{
			"type": "upsertLoadBalancer", "application": "open", "cloudProvider": "local", "account": acct, "region": "local",
			"name": "open-" + acct, "listenPort": 0}}})
		var ref, task struct{ Ref string }
		_ = json.Unmarshal(out, &ref)
		_ = json.Unmarshal(m.admin("GET", ref.Ref, nil), &task)
		if v := m.waitRun(strings.TrimPrefix(task.Ref, "/pipelines/"), "finished", runDone); v.Status != "SUCCEEDED" {
			t.Fatalf("upsert load balancer in %s: %+v", acct, v)
		}
	}
	prodReaders := []string{"admin", "deployer"}

	// Endpoints that name no application.
	for _, u := range matrixUsers {
		authn := u != ""
		m.check("GET /auth/user", u, "-", authn, "GET", "/auth/user", nil)
		m.check("POST /tasks createApplication", u, "-", authn, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "made-by-" + strings.ReplaceAll(u+"x", "", "")}}}})
		m.check("POST /pipelines/validate", u, "-", authn, "POST", "/pipelines/validate", map[string]any{"application": "open", "name": "v", "stages": []any{}})
		m.check("GET /credentials", u, "-", authn, "GET", "/credentials", nil)
		m.check("GET /health", u, "-", true, "GET", "/health", nil)
		m.check("GET /version", u, "-", true, "GET", "/version", nil)
		exported := m.admin("GET", "/pipelines/"+finishedRun["open"], nil)
		var doc map[string]any
		_ = json.Unmarshal(exported, &doc)
		doc["id"] = "imported-" + u
		m.check("POST /pipelines/import", u, "-", u == "admin", "POST", "/pipelines/import", doc)
		m.mountedRows(u, finishedRun["open"])
		if !authn {
			for _, acct := range []string{"prod", "staging"} {
				m.check("GET /credentials/{account}", u, acct, false, "GET", "/credentials/"+acct, nil)
				m.check("GET /applications/{app}/serverGroups/{account}/{region}/{name}", u, acct, false, "GET", "/applications/open/serverGroups/"+acct+"/local/open-main-v000", nil, 404)
				m.check("GET /applications/{app}/clusters/{account}/{cluster}", u, acct, false, "GET", "/applications/open/clusters/"+acct+"/open-main", nil, 404)
			}
			continue
		}
		for _, acct := range []string{"prod", "staging"} {
			var a struct{ Authorized bool }
			_, out := m.call(u, "GET", "/credentials/"+acct, nil)
			_ = json.Unmarshal(out, &a)
			m.record("GET /credentials/{account} authorized", u, acct, slices.Contains(accountWriters[acct], u), a.Authorized, string(out))
		}
		for _, acct := range []string{"prod", "staging"} {
			canRead := acct == "staging" || slices.Contains(prodReaders, u)
			m.listed("GET /applications/{app}/loadBalancers in an account", u, acct, canRead, "/applications/open/loadBalancers",
				func(b []byte) bool { return bytes.Contains(b, []byte(`"name": "open-`+acct+`"`)) })
			m.check("GET /applications/{app}/serverGroups/{account}/{region}/{name}", u, acct, canRead, "GET", "/applications/open/serverGroups/"+acct+"/local/open-main-v000", nil, 404)
			m.check("GET /applications/{app}/clusters/{account}/{cluster}", u, acct, canRead, "GET", "/applications/open/clusters/"+acct+"/open-main", nil, 404)
		}
		var who struct{ Username string }
		_, out := m.call(u, "GET", "/auth/user", nil)
		if _ = json.Unmarshal(out, &who); who.Username != u {
			t.Errorf("GET /auth/user as %s names %q", u, who.Username)
		}
	}

	// Triggered runs act as their trigger's runAsUser or their pipeline's
	// managed service account.
	m.webhookRows(apps)
	m.githubRows()

	// Every route the API serves has rows, for every user.
	m.checkCoverage(served)

	// The outcome: every cell, every escape and every wrong refusal.
	escapes, refusals := 0, 0
	endpoints := map[string]bool{}
	for _, c := range m.cells {
		endpoints[c.endpoint] = true
		switch {
		case c.got && !c.want:
			escapes++
			t.Errorf("ESCAPE: %s as %q on %s was allowed: %s", c.endpoint, c.user, c.resource, c.detail)
		case !c.got && c.want:
			refusals++
			t.Errorf("wrongly refused: %s as %q on %s: %s", c.endpoint, c.user, c.resource, c.detail)
		}
	}
	names := make([]string, 0, len(endpoints))
	for e := range endpoints {
		names = append(names, e)
	}
	sort.Strings(names)
	t.Logf("authorization matrix: %d cells over %d endpoints and cases, %d users, %d applications, 2 accounts: %d escapes, %d wrong refusals",
		len(m.cells), len(names), len(matrixUsers), len(apps), escapes, refusals)
}

// deployCell starts a deploy as user and records whether its stage got
// past the check: the request needs EXECUTE on the application
// (wantRequest); the stage, WRITE on the account too (want).
func (m *matrix) deployCell(endpoint, user, where string, wantRequest, want bool, method, path string, body any) {
	m.t.Helper()
	code, out := m.check(endpoint+" (request)", user, where, wantRequest, method, path, body)
	if code >= 300 {
		return
	}
	var ref struct{ Ref string }
	_ = json.Unmarshal(out, &ref)
	id := strings.TrimPrefix(ref.Ref, "/pipelines/")
	if strings.HasPrefix(ref.Ref, "/tasks/") { // a task: its ref names the run
		var t struct{ Ref string }
		_ = json.Unmarshal(m.admin("GET", ref.Ref, nil), &t)
		id = strings.TrimPrefix(t.Ref, "/pipelines/")
	}
	v := m.waitRun(id, "finished", runDone)
	if v.Stages[0].Type == "pipeline" {
		child, _ := v.Stages[0].Context["executionId"].(string)
		if child == "" {
			m.t.Fatalf("the parent run %s started no child: %+v", id, v.Stages[0].Context)
		}
		id = child
	}
	got, detail := m.deployedBy(id, "destroyServerGroup")
	m.record(endpoint, user, where, want, got, detail)
}

// listed records whether a listing shows the application's entries.
func (m *matrix) listed(endpoint, user, app string, want bool, path string, shows func([]byte) bool) {
	m.t.Helper()
	code, out := m.call(user, "GET", path, nil)
	if code != 200 {
		m.t.Fatalf("%s as %s: %d %s", endpoint, user, code, out)
	}
	m.record(endpoint+" lists it", user, app, want, shows(out), truncate(out))
}
