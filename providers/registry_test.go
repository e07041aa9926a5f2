package providers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
)

// fakeProvider accepts every account; it stands in for a cloud in tests of
// the registry's own decisions.
type fakeProvider struct{ name string }

func (f fakeProvider) Name() string { return f.name }
func (f fakeProvider) Cloud(a providers.Account) (*providers.Cloud, error) {
	return &providers.Cloud{Account: a}, nil
}

func TestParseAccounts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		yaml    string
		want    []string // name/provider pairs, sorted as written plus local
		wantErr string
	}{
		{"empty file", ``, []string{"local/local"}, ""},
		{"aws account", "accounts:\n- name: prod\n  provider: aws\n  regions: [us-east-1]\n  assumeRole: role/spinnaker\n", []string{"prod/aws", "local/local"}, ""},
		{"local defined", "accounts:\n- name: local\n  provider: local\n", []string{"local/local"}, ""},
		{"local taken by aws", "accounts:\n- name: local\n  provider: aws\n", nil, "reserved"},
		{"no provider", "accounts:\n- name: prod\n", nil, `account "prod" (accounts[0]) has no provider`},
		{"no name", "accounts:\n- provider: aws\n", nil, "accounts[0] has no name"},
		{"not a list", "accounts: 3\n", nil, "not the YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := providers.ParseAccounts([]byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range got {
				names = append(names, a.Name+"/"+a.Provider)
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("accounts = %v, want %v", names, tc.want)
			}
		})
	}
	got, _ := providers.ParseAccounts([]byte("accounts:\n- name: prod\n  provider: aws\n  assumeRole: role/x\n"))
	if got[0].Fields["assumeRole"] != "role/x" {
		t.Fatalf("provider fields not kept: %+v", got[0])
	}
}

func TestRegistryNamesWhatIsUnknown(t *testing.T) {
	t.Parallel()
	accts, _ := providers.WithLocal(nil)
	r, err := providers.NewRegistry(accts, fakeProvider{"local"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, provider, account string
		want                    error
		msg                     string
	}{
		{"known", "local", "local", nil, ""},
		{"unknown provider", "gce", "", providers.ErrUnknownProvider, `"gce"`},
		{"unknown account", "local", "prod", providers.ErrUnknownAccount, `"prod"`},
		{"account of another provider", "aws", "local", providers.ErrUnknownProvider, `"aws"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Check(tc.provider, tc.account)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Check(%q, %q) = %v, want %v naming %s", tc.provider, tc.account, err, tc.want, tc.msg)
			}
		})
	}
	if _, err := providers.NewRegistry([]providers.Account{{Name: "prod", Provider: "aws"}}, fakeProvider{"local"}); err == nil || !strings.Contains(err.Error(), `account "prod"`) {
		t.Fatalf("an account of a missing provider: %v", err)
	}
}
