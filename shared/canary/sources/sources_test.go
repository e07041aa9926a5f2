package sources

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"
)

func section(t *testing.T, doc string) any {
	var top map[string]any
	if err := yaml.Unmarshal([]byte(doc), &top); err != nil {
		t.Fatal(err)
	}
	return top["metricsAccounts"]
}

func fakeAWS(ctx context.Context, region string) (aws.Config, error) {
	return aws.Config{Region: region}, nil
}

func TestParse(t *testing.T) {
	s, err := Parse(context.Background(), section(t, `
metricsAccounts:
  - name: prom
    type: prometheus
    endpoint: {baseUrl: "http://127.0.0.1:9090"}
  - name: cw
    type: cloudwatch
    region: us-east-1
`), fakeAWS)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "cw,prom" {
		t.Errorf("accounts %s", got)
	}
	if src, name, err := s.Get("", "cloudwatch"); err != nil || name != "cw" || src.Type() != "cloudwatch" {
		t.Errorf("the only cloudwatch account is the default for cloudwatch queries: %v %s %v", src, name, err)
	}
	if _, _, err := s.Get("nope", ""); err == nil || !strings.Contains(err.Error(), "cw, prom") {
		t.Errorf("an unknown account names the known ones: %v", err)
	}

	_, err = Parse(context.Background(), section(t, `
metricsAccounts:
  - name: prom
    type: prometheus
  - name: prom
    type: prometheus
    endpoint: {baseUrl: "x"}
  - type: cloudwatch
  - name: dd
    type: datadog
  - name: cw
    type: cloudwatch
`), fakeAWS)
	for _, want := range []string{"metricsAccounts[0].endpoint.baseUrl: is required", "metricsAccounts[1].name:", "metricsAccounts[2].name: is required",
		"metricsAccounts[3].type: \"datadog\"", "metricsAccounts[4].region: is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v should contain %q", err, want)
		}
	}
	if s, err := Parse(context.Background(), nil, nil); err != nil || len(s.Names()) != 0 {
		t.Errorf("no section, no accounts: %v", err)
	}
}
