package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// The matrix rows of the routes mounted on the API — triggers,
// notifications and the audit log, canary configs and runs, cost, the web
// UI — and the check that the matrix calls every route the API serves.

// slackSecret signs Slack's judgment buttons (the notifications section of
// the matrix's configuration file).
const slackSecret = "slack-secret-1"

// servedRoutes is every route pattern `gennaker up` serves, as the API
// registers them with its mux: its own and every mount's.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	routes := rt.Routes()
	if len(routes) == 0 {
		t.Fatal("the API lists no routes")
	}
	return routes
}

// checkCoverage fails the test for every served route the matrix did not
// call as each of its users.
func (m *matrix) checkCoverage(served []string) {
	m.t.Helper()
	for _, p := range served {
		var missing []string
		for _, u := range matrixUsers {
			if !m.hits[p][u] {
				if u == "" {
					u = "(no credentials)"
				}
				missing = append(missing, u)
			}
		}
		if len(missing) > 0 {
			m.t.Errorf("the matrix has no row for %s as %s: add one to TestAuthorizationMatrix", p, strings.Join(missing, ", "))
		}
	}
	sorted := slices.Clone(served)
	sort.Strings(sorted)
	m.t.Logf("routes served and covered (%d): %s", len(sorted), strings.Join(sorted, "; "))
}

// canaryConfig is a valid canary config document for app.
func canaryConfig(name, app string) map[string]any {
	return map[string]any{"name": name, "applications": []string{app},
		"metrics": []any{map[string]any{"name": "errors", "groups": []string{"g"},
			"query": map[string]any{"type": "prometheus", "metricName": "e", "resourceType": "aws_ec2_instance"}}}}
}

// webhookPipeline is a pipeline of app deploying to acct, started by a
// webhook from source, acting as runAsUser or, without one, as the
// pipeline's managed service account with roles.
func webhookPipeline(app, name, acct, source, runAsUser string, roles []string) map[string]any {
	tr := map[string]any{"type": "webhook", "enabled": true, "source": source}
	if runAsUser != "" {
		tr["runAsUser"] = runAsUser
	}
	doc := map[string]any{"application": app, "name": name, "stages": []any{destroy(app, acct)}, "triggers": []any{tr}}
	if roles != nil {
		doc["roles"] = roles
	}
	return doc
}

// webhookRuns are the runs a webhook answer says it started.
func webhookRuns(t *testing.T, out []byte) []string {
	t.Helper()
	var resp struct {
		Events []struct {
			Pipelines []struct {
				Started     bool   `json:"started"`
				ExecutionID string `json:"executionId"`
			} `json:"pipelines"`
		} `json:"events"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("a webhook answered %s: %v", out, err)
	}
	var ids []string
	for _, e := range resp.Events {
		for _, p := range e.Pipelines {
			if p.Started && p.ExecutionID != "" {
				ids = append(ids, p.ExecutionID)
			}
		}
	}
	return ids
}

// webhookIdentities are who a triggered run acts as, by the roles they
// hold: deploy-bot (runAsUser, deployers), the managed service account of
// a pipeline with roles [deployers], and that of one with no roles.
var webhookIdentities = []struct {
	name, runAsUser string
	roles           []string
	// mayExecute lists the applications the identity may EXECUTE: shop
	// grants it to executors, legacy falls back to WRITE (writers), open
	// to everyone.
	mayExecute []string
	mayWrite   []string // accounts
}{
	{"bot", "deploy-bot", nil, []string{"open"}, []string{"prod", "staging"}},
	{"msa-deployers", "", []string{"deployers"}, []string{"open"}, []string{"prod", "staging"}},
	{"msa-none", "", []string{}, []string{"open"}, []string{"staging"}},
}

// setupMountedRoutes saves, as the admin, what the rows of the mounted
// routes need: per application, pipelines started by webhooks and a canary
// config.
func (m *matrix) setupMountedRoutes(apps []string) (canaryIDs map[string]string) {
	m.t.Helper()
	canaryIDs = map[string]string{}
	for _, app := range apps {
		for _, who := range webhookIdentities {
			for _, acct := range []string{"prod", "staging"} {
				name := "hook-" + who.name + "-" + acct
				m.admin("POST", "/pipelines", webhookPipeline(app, name, acct, app+"-"+name, who.runAsUser, who.roles))
			}
		}
		var created struct{ CanaryConfigID string }
		_ = json.Unmarshal(m.admin("POST", "/v2/canaryConfig", canaryConfig("canary-"+app, app)), &created)
		if created.CanaryConfigID == "" {
			m.t.Fatalf("no canary config created for %s", app)
		}
		canaryIDs[app] = created.CanaryConfigID
	}
	return canaryIDs
}

// mountedAppRows are the rows of the mounted routes that name app, called
// as user.
func (m *matrix) mountedAppRows(app, u string, canaryID, judgeRun, judgeRolesRun string) {
	m.t.Helper()
	read, write, execute := may(u, app, "READ"), may(u, app, "WRITE"), may(u, app, "EXECUTE")
	authn := u != ""

	// Per-run cost, by application.
	code, out := m.check("GET /applications/{app}/cost", u, app, read, "GET", "/applications/"+app+"/cost", nil)
	if code == 200 && !bytes.Contains(out, []byte(`"cost"`)) {
		m.t.Errorf("GET /applications/%s/cost as %s shows no cost: %s", app, u, truncate(out))
	}

	// Notifications of the application; who changed them is who
	// authenticated, not X-SPINNAKER-USER.
	m.check("GET /notifications/application/{app}", u, app, read, "GET", "/notifications/application/"+app, nil)
	code, out = m.check("POST /notifications/application/{app}", u, app, write, "POST", "/notifications/application/"+app, map[string]any{})
	if code == 200 {
		var doc struct{ LastModifiedBy string }
		_ = json.Unmarshal(out, &doc)
		if doc.LastModifiedBy != u {
			m.t.Errorf("notifications of %s saved by %s record lastModifiedBy %q (X-SPINNAKER-USER said mallory)", app, u, doc.LastModifiedBy)
		}
	}

	// The audit of one application; its name in any case or spacing is the
	// same application.
	code, out = m.check("GET /audit?application={app}", u, app, read, "GET", "/audit?application="+app, nil)
	if code == 200 && !bytes.Contains(out, []byte(`"application":"`+app+`"`)) {
		m.t.Errorf("the audit of %s as %s shows none of its events: %s", app, u, truncate(out))
	}
	m.check("GET /audit?application={APP}", u, app, read, "GET", "/audit?application="+url.QueryEscape(" "+strings.ToUpper(app)+" "), nil)

	// Canary configs naming the application: reading one, its history or
	// a listing needs READ on it; changing one is for admins.
	m.check("GET /v2/canaryConfig/{id}", u, app, authn && read, "GET", "/v2/canaryConfig/"+canaryID, nil)
	m.check("GET /v2/canaryConfig/{id}/history", u, app, authn && read, "GET", "/v2/canaryConfig/"+canaryID+"/history", nil)
	m.check("PUT /v2/canaryConfig/{id}", u, app, u == "admin", "PUT", "/v2/canaryConfig/"+canaryID, canaryConfig("canary-"+app, app))
	var doomed struct{ CanaryConfigID string }
	_ = json.Unmarshal(m.admin("POST", "/v2/canaryConfig", canaryConfig(fmt.Sprintf("doomed-%s-%s", app, u), app)), &doomed)
	m.check("DELETE /v2/canaryConfig/{id}", u, app, u == "admin", "DELETE", "/v2/canaryConfig/"+doomed.CanaryConfigID, nil)
	if authn {
		for _, q := range []string{"", "?application=" + app} {
			m.listed("GET /v2/canaryConfig"+q, u, app, read, "/v2/canaryConfig"+q, func(b []byte) bool { return bytes.Contains(b, []byte(canaryID)) })
		}
	} else {
		m.check("GET /v2/canaryConfig", u, app, false, "GET", "/v2/canaryConfig?application="+app, nil)
	}

	// Slack's judgment buttons, signed with the app's secret: the judge is
	// who authenticated, held to what judging through the API needs.
	for _, jr := range []struct{ pipe, run string }{{"judge", judgeRun}, {"judge-roles", judgeRolesRun}} {
		st := m.get(jr.run).Stages[0].ID
		payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]any{"id": "U1", "username": "slack-mallory"},
			"actions": []any{map[string]any{"action_id": "gennaker.judgment.continue", "value": jr.run + "/" + st}}})
		body := []byte("payload=" + url.QueryEscape(string(payload)))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Slack-Request-Timestamp": {ts},
			"X-Slack-Signature": {notify.SlackSignature(slackSecret, ts, body)}}
		endpoint := "POST /notifications/slack/interactions (" + jr.pipe + ")"
		code, out := m.send(u, "POST", "/notifications/slack/interactions", body, h, true)
		want := execute && (jr.pipe == "judge" || u == "deployer" || u == "admin")
		if !authn {
			if code != 401 {
				m.t.Errorf("%s without credentials: %d %s, want 401", endpoint, code, truncate(out))
			}
			m.record(endpoint, u, app, want, code < 300, fmt.Sprintf("→ %d %s", code, truncate(out)))
			m.admin("PUT", "/pipelines/"+jr.run+"/cancel", nil)
			continue
		}
		if code != 200 {
			m.t.Errorf("%s as %s: %d %s", endpoint, u, code, truncate(out))
		}
		// A judgment recorded is in the stage's context when the answer
		// comes; the run then goes on to its end.
		v := m.get(jr.run)
		judged := v.Stages[0].Context["judgmentStatus"] != nil
		m.record(endpoint, u, app, want, judged, fmt.Sprintf("→ %d %s; stage %v", code, truncate(out), v.Stages[0].Context))
		if judged {
			v = m.waitRun(jr.run, "judged", runDone)
			if by := v.Stages[0].Context["lastModifiedBy"]; by != u {
				m.t.Errorf("a Slack judgment sent with %s's credentials records lastModifiedBy %v", u, by)
			}
		} else {
			m.admin("PUT", "/pipelines/"+jr.run+"/cancel", nil)
		}
	}
}

// mountedRows are the rows of the mounted routes that name no application,
// called as user.
func (m *matrix) mountedRows(u string, finishedOpen string) {
	m.t.Helper()
	authn := u != ""
	admin := u == "admin"

	// The audit log of every application, or of events the query does not
	// tie to one, is the admins'.
	for _, q := range []string{"", "?application=" + url.QueryEscape(" "), "?execution=" + finishedOpen, "?type=pipeline"} {
		m.check("GET /audit"+q, u, "-", admin, "GET", "/audit"+q, nil)
	}

	// Webhooks need no login; replaying or explaining events is the
	// admins'.
	m.check("POST /webhooks/{type}/{source}", u, "-", true, "POST", "/webhooks/webhook/nobody-listens", map[string]any{})
	m.check("POST /webhooks/{type}/{source}/explain", u, "-", admin, "POST", "/webhooks/webhook/nobody-listens/explain", map[string]any{})
	m.check("POST /events", u, "-", admin, "POST", "/events", json.RawMessage(`{"Entries": []}`))
	m.check("POST /events/explain", u, "-", admin, "POST", "/events/explain", json.RawMessage(`{"Entries": []}`))

	// Canary configs: creating one is the admins'; judges and metrics
	// accounts, any authenticated user's; a canary run unknown is a 404 to
	// them.
	code, out := m.check("POST /v2/canaryConfig", u, "-", admin, "POST", "/v2/canaryConfig", canaryConfig("made-by-"+u+"x", "open"))
	if code == 200 {
		var created struct{ CanaryConfigID string }
		_ = json.Unmarshal(out, &created)
		var hist []struct {
			User string `json:"user"`
		}
		_ = json.Unmarshal(m.admin("GET", "/v2/canaryConfig/"+created.CanaryConfigID+"/history", nil), &hist)
		if len(hist) == 0 || hist[0].User != u {
			m.t.Errorf("a canary config created by %s records %+v as its author (X-SPINNAKER-USER said mallory)", u, hist)
		}
	}
	m.check("GET /v2/canaries/judges", u, "-", authn, "GET", "/v2/canaries/judges", nil)
	m.check("GET /v2/canaries/credentials", u, "-", authn, "GET", "/v2/canaries/credentials", nil)
	m.check("GET /v2/canaries/canary/{id}", u, "-", authn, "GET", "/v2/canaries/canary/no-such-run", nil, 404)
	m.check("GET /v2/canaries/canary/{id}/report", u, "-", authn, "GET", "/v2/canaries/canary/no-such-run/report", nil, 404)

	// The web UI's page and assets hold no data.
	code, page := m.check("GET /", u, "-", true, "GET", "/", nil)
	if code == 200 {
		asset := regexp.MustCompile(`(?:src|href)="\./assets/([^"]+)"`).FindSubmatch(page)
		if asset == nil {
			m.t.Fatalf("the UI's page names no asset: %s", truncate(page))
		}
		m.check("GET /assets/{file}", u, "-", true, "GET", "/assets/"+string(asset[1]), nil)
	}
}

// webhookRows: runs started by webhooks act as the trigger's runAsUser or
// the pipeline's managed service account, whoever sends the webhook, and
// deploy only where that identity may: EXECUTE on the application, WRITE
// on the account.
func (m *matrix) webhookRows(apps []string) {
	m.t.Helper()
	for _, app := range apps {
		for _, who := range webhookIdentities {
			for _, acct := range []string{"prod", "staging"} {
				name := "hook-" + who.name + "-" + acct
				want := slices.Contains(who.mayExecute, app) && slices.Contains(who.mayWrite, acct)
				// Sent without credentials, and with the admin's: neither
				// changes who the run acts as.
				for _, sender := range []string{"", "admin"} {
					code, out := m.send(sender, "POST", "/webhooks/webhook/"+app+"-"+name, map[string]any{}, nil, true)
					if code != 200 {
						m.t.Fatalf("webhook %s as %q: %d %s", name, sender, code, out)
					}
					runs := webhookRuns(m.t, out)
					if len(runs) != 1 {
						m.t.Fatalf("webhook %s as %q started %d runs: %s", name, sender, len(runs), out)
					}
					got, detail := m.deployedBy(runs[0], "destroyServerGroup")
					m.record("webhook-triggered deploy as "+who.name, sender, app+"/"+acct, want, got, detail)
					// trigger.user names the runAsUser, or, as Spinnaker
					// records it, "[anonymous]" for a run acting as the
					// pipeline's managed service account (whose rights
					// the deploy above shows); never the sender.
					wantUser := who.runAsUser
					if wantUser == "" {
						wantUser = "[anonymous]"
					}
					if v := m.get(runs[0]); v.Trigger["user"] != wantUser {
						m.t.Errorf("a run of %s/%s started by a webhook sent as %q records trigger.user %v, want %s", app, name, sender, v.Trigger["user"], wantUser)
					}
				}
			}
		}
	}
}

// githubRows: a GitHub push to a trigger with a secret starts its pipeline
// only when signed with that secret, whoever sends it.
func (m *matrix) githubRows() {
	m.t.Helper()
	m.admin("POST", "/pipelines", map[string]any{"application": "open", "name": "on-github", "stages": []any{stage("wait", map[string]any{"waitTime": 0})},
		"triggers": []any{map[string]any{"type": "git", "enabled": true, "source": "github", "project": "acme", "slug": "shop-repo", "branch": "main", "secret": "gh-secret"}}})
	for _, u := range matrixUsers {
		for _, signed := range []bool{false, true} {
			body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "after": strings.Repeat("ab", 20),
				"repository": map[string]any{"full_name": "acme/shop-repo", "html_url": "https://github.com/acme/shop-repo"}, "commits": []any{}})
			key := "wrong-secret"
			if signed {
				key = "gh-secret"
			}
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write(body)
			h := http.Header{"X-GitHub-Event": {"push"}, "X-GitHub-Delivery": {fmt.Sprintf("delivery-%s-%v", u, signed)},
				"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
			code, out := m.send(u, "POST", "/webhooks/git/github", body, h, true)
			if code != 200 {
				m.t.Errorf("a GitHub push as %q: %d %s", u, code, truncate(out))
				continue
			}
			endpoint := "POST /webhooks/git/github with a wrong signature starts a run"
			if signed {
				endpoint = "POST /webhooks/git/github signed starts a run"
			}
			runs := webhookRuns(m.t, out)
			m.record(endpoint, u, "open", signed, len(runs) > 0, truncate(out))
			for _, id := range runs {
				m.waitRun(id, "finished", runDone)
			}
		}
	}
}
