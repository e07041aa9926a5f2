package deployapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/deployapi"
)

// fakeProvider accepts every account and has no clouds: the credentials
// endpoints need only the accounts.
type fakeProvider struct{ name string }

func (f fakeProvider) Name() string { return f.name }
func (f fakeProvider) Cloud(a providers.Account) (*providers.Cloud, error) {
	return &providers.Cloud{Account: a}, nil
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	accts, _ := providers.ParseAccounts([]byte("accounts:\n- name: prod\n  provider: aws\n  regions: [us-east-1, eu-west-1]\n  environment: production\n"))
	reg, err := providers.NewRegistry(accts, fakeProvider{"aws"}, fakeProvider{"local"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(deployapi.New(reg, nil))
	defer srv.Close()
	cases := []struct {
		name   string
		path   string
		status int
		want   string
	}{
		{"list", "/credentials", 200, `"name":"local","type":"local","cloudProvider":"local"`},
		{"list has regions", "/credentials", 200, `"name":"prod","type":"aws","cloudProvider":"aws","accountType":"prod","environment":"production","regions":[{"name":"us-east-1"},{"name":"eu-west-1"}]`},
		{"one", "/credentials/prod", 200, `"name":"prod"`},
		{"unknown", "/credentials/staging", 404, `"message":"unknown account \"staging\" (known accounts: local, prod)"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(compact.String(), tc.want) {
				t.Fatalf("GET %s = %d %s; want %d containing %s", tc.path, resp.StatusCode, compact.String(), tc.status, tc.want)
			}
		})
	}
}
