package dynalitetest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
)

func TestStartServesDynamoDB(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	out, err := dynalitetest.Client(endpoint).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables on a fresh dynalite: %v", err)
	}
	if len(out.TableNames) != 0 {
		t.Fatalf("a fresh dynalite has tables %v", out.TableNames)
	}
}

func TestStartTwiceGivesSeparateServers(t *testing.T) {
	a, b := dynalitetest.Start(t), dynalitetest.Start(t)
	if a == b {
		t.Fatalf("two servers share endpoint %s", a)
	}
}
