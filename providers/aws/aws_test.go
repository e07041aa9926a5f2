package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/mototest"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields map[string]any
		ok     bool
		want   string // the error's words, or the role ARN
	}{
		{"bare", map[string]any{}, true, ""},
		{"role ARN", map[string]any{"accountId": "123456789012", "assumeRole": "arn:aws:iam::123456789012:role/deploy"}, true, "arn:aws:iam::123456789012:role/deploy"},
		{"Spinnaker's role form", map[string]any{"accountId": "123456789012", "assumeRole": "role/spinnakerManaged"}, true, "arn:aws:iam::123456789012:role/spinnakerManaged"},
		{"role name", map[string]any{"accountId": "123456789012", "assumeRole": "deploy"}, true, "arn:aws:iam::123456789012:role/deploy"},
		{"account number as a number", map[string]any{"accountId": 123456789012}, false, "quote an account id"},
		{"short account number", map[string]any{"accountId": "1234"}, false, "12-digit"},
		{"unknown field", map[string]any{"kubeconfig": "x"}, false, `unknown field "kubeconfig"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := gaws.ParseConfig(providers.Account{Name: "prod", Provider: "aws", Regions: []string{"us-east-1"}, Fields: tc.fields})
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.RoleARN(); got != tc.want {
				t.Errorf("role = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := gaws.ParseConfig(providers.Account{Name: "prod", Provider: "aws"}); err == nil || !strings.Contains(err.Error(), "regions") {
		t.Errorf("an account without regions: err = %v", err)
	}
}

// A session assumes the account's role: calls are made as the role, in the
// role's account.
func TestSessionsAssumeTheAccountsRole(t *testing.T) {
	srv := mototest.Shared(t)
	ctx := context.Background()
	target := srv.NewAccount()
	p := gaws.New(gaws.WithBaseConfig(func(ctx context.Context, region string) (aws.Config, error) {
		cfg := srv.Config("")
		cfg.Region = region
		return cfg, nil
	}))
	s, err := p.Sessions(providers.Account{Name: "prod", Provider: "aws", Regions: []string{"us-east-1", "eu-west-1"},
		Fields: map[string]any{"accountId": target, "assumeRole": "role/gennaker-deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region = %s", cfg.Region)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(id.Arn); !strings.Contains(got, target) || !strings.Contains(got, "assumed-role/gennaker-deploy/gennaker") {
		t.Errorf("caller = %s, want the assumed role gennaker-deploy in account %s", got, target)
	}
	if _, err := s.Config(ctx, "ap-south-1"); err == nil || !strings.Contains(err.Error(), `no region "ap-south-1"`) {
		t.Errorf("a region the account does not list: err = %v", err)
	}
}
