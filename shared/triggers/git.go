package triggers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// A git trigger (source, project, slug, branch pattern, secret) fires on a
// push to a branch of its repository: from CodeCommit, a "CodeCommit
// Repository State Change" event (referenceCreated or referenceUpdated of a
// branch; project is the AWS account id, empty for any); from GitHub,
// GitLab, Bitbucket and Bitbucket Server (stash), their push webhooks at
// POST /webhooks/git/{source}. The run's trigger has hash (the commit),
// branch, project and slug. A GitHub delivery to a trigger with a secret
// must carry a valid X-Hub-Signature-256.

// gitPush is a push normalized from any git source.
type gitPush struct {
	id, source, project, slug, branch, hash, repoURL string
	// files are artifacts of the files the push added or changed, as echo
	// makes them (github/file, gitlab/file).
	files []model.Artifact
	// verify checks a webhook's signature against a trigger's secret; nil
	// for sources that sign nothing gennaker checks.
	verify func(secret string) bool
}

func (g gitPush) event(raw []byte) *Event {
	art := model.Artifact{Type: "git/repo", Name: g.slug, Version: g.branch, Reference: g.repoURL}
	if art.Reference == "" {
		art.Reference = g.project + "/" + g.slug
	}
	return &Event{
		ID:          g.id,
		Type:        "git",
		Key:         model.TriggerIndexKey("git", g.source, g.slug),
		Description: fmt.Sprintf("%s push to %s/%s branch %s at %s", g.source, g.project, g.slug, g.branch, g.hash),
		Artifacts:   append([]model.Artifact{art}, g.files...),
		Raw:         raw,
		match: func(tr model.Trigger) string {
			if s := tr.Field("source"); s != g.source {
				return fmt.Sprintf("the trigger's source %q is not %q", s, g.source)
			}
			if s := tr.Field("slug"); !strings.EqualFold(s, g.slug) {
				return fmt.Sprintf("the trigger's slug %q is not %q", s, g.slug)
			}
			if p := tr.Field("project"); !(g.source == "codecommit" && p == "") && !strings.EqualFold(p, g.project) {
				return fmt.Sprintf("the trigger's project %q is not %q", p, g.project)
			}
			if b := tr.Field("branch"); b != "" && !fullMatch(b, g.branch) {
				return fmt.Sprintf("branch %q does not match the trigger's branch pattern %q", g.branch, b)
			}
			if secret := tr.Field("secret"); secret != "" && g.verify != nil && !g.verify(secret) {
				return "the delivery's signature does not match the trigger's secret"
			}
			return ""
		},
		fields: func(model.Trigger) map[string]any {
			return map[string]any{"hash": g.hash, "branch": g.branch, "project": g.project, "slug": g.slug, "source": g.source}
		},
	}
}

type codeCommitDetail struct {
	Event         string `json:"event"`
	Repository    string `json:"repositoryName"`
	ReferenceType string `json:"referenceType"`
	ReferenceName string `json:"referenceName"`
	CommitID      string `json:"commitId"`
}

func codeCommitEvent(ev EventBridgeEvent) (*Event, error) {
	var d codeCommitDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	if (d.Event != "referenceCreated" && d.Event != "referenceUpdated") || d.ReferenceType != "branch" {
		return nil, fmt.Errorf("%s of a %s: %w", d.Event, d.ReferenceType, ErrIgnoredEvent)
	}
	if d.Repository == "" || d.CommitID == "" {
		return nil, fmt.Errorf("detail.repositoryName and detail.commitId must be set")
	}
	return gitPush{
		id: ev.ID, source: "codecommit", project: ev.Account, slug: d.Repository,
		branch: d.ReferenceName, hash: d.CommitID,
		repoURL: fmt.Sprintf("https://git-codecommit.%s.amazonaws.com/v1/repos/%s", ev.Region, d.Repository),
	}.event(nil), nil
}

// gitWebhook normalizes a push webhook of a git host.
func gitWebhook(source string, header http.Header, body []byte) (*Event, error) {
	var g gitPush
	var err error
	switch source {
	case "github":
		g, err = githubPush(header, body)
	case "gitlab":
		g, err = gitlabPush(header, body)
	case "bitbucket":
		g, err = bitbucketPush(header, body)
	case "stash":
		g, err = stashPush(header, body)
	default:
		return nil, fmt.Errorf("git source %q is not github, gitlab, bitbucket or stash", source)
	}
	if err != nil {
		return nil, err
	}
	g.source = source
	if g.id == "" {
		g.id = hashID("git", source, string(body))
	}
	return g.event(body), nil
}

func stripRef(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if r, ok := strings.CutPrefix(ref, p); ok {
			return r
		}
	}
	return ref
}

func splitFullName(full string) (project, slug string) {
	i := strings.LastIndex(full, "/")
	if i < 0 {
		return "", full
	}
	return full[:i], full[i+1:]
}

const zeroCommit = "0000000000000000000000000000000000000000"

func githubPush(header http.Header, body []byte) (gitPush, error) {
	if e := header.Get("X-GitHub-Event"); e != "" && e != "push" {
		return gitPush{}, fmt.Errorf("GitHub %q event: %w", e, ErrIgnoredEvent)
	}
	var p struct {
		Ref        string         `json:"ref"`
		After      string         `json:"after"`
		Deleted    bool           `json:"deleted"`
		Commits    []pushedCommit `json:"commits"`
		Repository struct {
			FullName    string `json:"full_name"`
			HTMLURL     string `json:"html_url"`
			ContentsURL string `json:"contents_url"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return gitPush{}, fmt.Errorf("GitHub push: %w", err)
	}
	if p.Ref == "" || p.Repository.FullName == "" {
		return gitPush{}, fmt.Errorf(`a GitHub push has "ref" and "repository.full_name"; this payload has not: %w`, ErrIgnoredEvent)
	}
	if p.Deleted || p.After == zeroCommit {
		return gitPush{}, fmt.Errorf("push deleting %s: %w", p.Ref, ErrIgnoredEvent)
	}
	project, slug := splitFullName(p.Repository.FullName)
	signature := header.Get("X-Hub-Signature-256")
	contents := strings.TrimSuffix(p.Repository.ContentsURL, "{+path}")
	if contents == "" {
		contents = "https://api.github.com/repos/" + p.Repository.FullName + "/contents/"
	}
	return gitPush{
		id: header.Get("X-GitHub-Delivery"), project: project, slug: slug,
		branch: stripRef(p.Ref), hash: p.After, repoURL: p.Repository.HTMLURL,
		files:  fileArtifacts("github/file", p.Commits, p.After, func(path string) string { return contents + path }),
		verify: func(secret string) bool { return validGitHubSignature(secret, signature, body) },
	}, nil
}

// validGitHubSignature checks X-Hub-Signature-256: "sha256=" and the hex
// HMAC-SHA256 of the body keyed with the secret.
func validGitHubSignature(secret, signature string, body []byte) bool {
	got, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sum, mac.Sum(nil))
}

func gitlabPush(header http.Header, body []byte) (gitPush, error) {
	var p struct {
		Ref         string         `json:"ref"`
		After       string         `json:"after"`
		CheckoutSHA string         `json:"checkout_sha"`
		Commits     []pushedCommit `json:"commits"`
		Project     struct {
			ID                int    `json:"id"`
			PathWithNamespace string `json:"path_with_namespace"`
			WebURL            string `json:"web_url"`
		} `json:"project"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return gitPush{}, fmt.Errorf("GitLab push: %w", err)
	}
	if p.Ref == "" || p.Project.PathWithNamespace == "" {
		return gitPush{}, fmt.Errorf(`a GitLab push has "ref" and "project.path_with_namespace"; this payload has not: %w`, ErrIgnoredEvent)
	}
	hash := p.CheckoutSHA
	if hash == "" {
		hash = p.After
	}
	project, slug := splitFullName(p.Project.PathWithNamespace)
	api := fmt.Sprintf("https://gitlab.com/api/v4/projects/%d/repository/files/", p.Project.ID)
	if u, err := url.Parse(p.Project.WebURL); err == nil && u.Host != "" {
		api = fmt.Sprintf("%s://%s/api/v4/projects/%d/repository/files/", u.Scheme, u.Host, p.Project.ID)
	}
	return gitPush{id: header.Get("X-Gitlab-Event-UUID"), project: project, slug: slug,
		branch: stripRef(p.Ref), hash: hash, repoURL: p.Project.WebURL,
		files: fileArtifacts("gitlab/file", p.Commits, hash, func(path string) string {
			return api + url.PathEscape(path) + "/raw"
		})}, nil
}

func bitbucketPush(header http.Header, body []byte) (gitPush, error) {
	var p struct {
		Push struct {
			Changes []struct {
				New *struct {
					Name   string `json:"name"`
					Target struct {
						Hash string `json:"hash"`
					} `json:"target"`
				} `json:"new"`
			} `json:"changes"`
		} `json:"push"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return gitPush{}, fmt.Errorf("Bitbucket push: %w", err)
	}
	if len(p.Push.Changes) == 0 || p.Push.Changes[0].New == nil || p.Repository.FullName == "" {
		return gitPush{}, fmt.Errorf(`a Bitbucket push has "push.changes[0].new" and "repository.full_name"; this payload has not: %w`, ErrIgnoredEvent)
	}
	project, slug := splitFullName(p.Repository.FullName)
	n := p.Push.Changes[0].New
	return gitPush{id: header.Get("X-Request-UUID"), project: project, slug: slug,
		branch: n.Name, hash: n.Target.Hash}, nil
}

// stashPush reads Bitbucket Server's repo:refs_changed and its older form
// (refChanges).
func stashPush(header http.Header, body []byte) (gitPush, error) {
	type change struct {
		RefID  string `json:"refId"`
		ToHash string `json:"toHash"`
		Type   string `json:"type"`
	}
	var p struct {
		EventKey   string   `json:"eventKey"`
		Changes    []change `json:"changes"`
		RefChanges []change `json:"refChanges"`
		Repository struct {
			Slug    string `json:"slug"`
			Project struct {
				Key string `json:"key"`
			} `json:"project"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return gitPush{}, fmt.Errorf("Bitbucket Server push: %w", err)
	}
	changes := p.Changes
	if len(changes) == 0 {
		changes = p.RefChanges
	}
	if p.EventKey != "" && p.EventKey != "repo:refs_changed" {
		return gitPush{}, fmt.Errorf("Bitbucket Server %q event: %w", p.EventKey, ErrIgnoredEvent)
	}
	if len(changes) == 0 || p.Repository.Slug == "" {
		return gitPush{}, fmt.Errorf(`a Bitbucket Server push has "changes" and "repository.slug"; this payload has not: %w`, ErrIgnoredEvent)
	}
	if changes[0].Type == "DELETE" {
		return gitPush{}, fmt.Errorf("push deleting %s: %w", changes[0].RefID, ErrIgnoredEvent)
	}
	return gitPush{id: header.Get("X-Request-Id"), project: p.Repository.Project.Key, slug: p.Repository.Slug,
		branch: stripRef(changes[0].RefID), hash: changes[0].ToHash}, nil
}

// pushedCommit is a commit of a push webhook, with the files it touched.
type pushedCommit struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
}

// fileArtifacts are the files the commits added or modified, each once, at
// the pushed commit.
func fileArtifacts(typ string, commits []pushedCommit, version string, reference func(path string) string) []model.Artifact {
	var out []model.Artifact
	seen := map[string]bool{}
	for _, c := range commits {
		for _, path := range append(append([]string(nil), c.Added...), c.Modified...) {
			if seen[path] {
				continue
			}
			seen[path] = true
			out = append(out, model.Artifact{Type: typ, Name: path, Version: version, Reference: reference(path)})
		}
	}
	return out
}
