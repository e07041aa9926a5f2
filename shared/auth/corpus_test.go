package auth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

// The permissions of real Spinnaker applications (../shared/corpus) read as fiat reads them: a role in
// READ only may read and nothing more, EXECUTE and WRITE holders may do
// what they are listed for.
func TestCorpusApplicationPermissions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "applications", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus applications found (%v): the corpus is part of the test data", err)
	}
	p := &Policy{Enabled: true}
	withPerms := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Gate's GET /applications/{app} document, or the attributes alone
		// as Front50 and spin's files hold them.
		var doc struct {
			Attributes *model.Application `json:"attributes"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if doc.Attributes == nil {
			doc.Attributes = &model.Application{}
			if err := json.Unmarshal(b, doc.Attributes); err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
		}
		perms, err := ApplicationPermissions(doc.Attributes)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if !perms.Restricted() {
			continue
		}
		withPerms++
		for _, perm := range []Permission{Read, Write, Execute} {
			for _, role := range perms[perm] {
				if err := p.Application(Identity{Name: "u", Roles: []string{role}}, doc.Attributes, perm); err != nil {
					t.Errorf("%s: role %s is listed for %s but refused: %v", filepath.Base(f), role, perm, err)
				}
			}
		}
		if err := p.Application(Identity{Name: "stranger", Roles: []string{"no-such-role"}}, doc.Attributes, Read); err == nil {
			t.Errorf("%s: a user without a listed role may read", filepath.Base(f))
		}
	}
	if withPerms == 0 {
		t.Fatal("no corpus application has permissions; the test checks nothing")
	}
	// spin's own test application: user-group may read, not write or run.
	app := &model.Application{Name: "app", Permissions: map[string]any{
		"EXECUTE": []any{"admin-group"}, "READ": []any{"admin-group", "user-group"}, "WRITE": []any{"admin-group"}}}
	user := Identity{Name: "u", Roles: []string{"user-group"}}
	if p.Application(user, app, Read) != nil || p.Application(user, app, Write) == nil || p.Application(user, app, Execute) == nil {
		t.Error("user-group of spin's test application should read only")
	}
	t.Logf("%d corpus applications, %d with permissions", len(files), withPerms)
}
