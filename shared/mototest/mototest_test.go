package mototest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gennaker/gennaker/shared/mototest"
)

// Each account sees only its own state, and STS answers as that account.
func TestAccountsAreSeparate(t *testing.T) {
	srv := mototest.Shared(t)
	ctx := context.Background()
	a, b := srv.NewAccount(), srv.NewAccount()

	id, err := sts.NewFromConfig(srv.Config(a)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != a {
		t.Fatalf("caller account = %s, want %s", aws.ToString(id.Account), a)
	}
	if _, err := sns.NewFromConfig(srv.Config(a)).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[string]int{a: 1, b: 0} {
		out, err := sns.NewFromConfig(srv.Config(acct)).ListTopics(ctx, &sns.ListTopicsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Topics) != want {
			t.Errorf("account %s has %d topics, want %d", acct, len(out.Topics), want)
		}
	}
}
