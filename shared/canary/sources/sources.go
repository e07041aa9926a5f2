// Package sources reads the metricsAccounts section of the configuration
// file into the canary's metric sources:
//
//	metricsAccounts:
//	  - name: prometheus
//	    type: prometheus
//	    endpoint: {baseUrl: http://127.0.0.1:9090}
//	    # optional: username/password or bearerToken, scopeLabel
//	  - name: cloudwatch
//	    type: cloudwatch
//	    region: us-east-1
//
// CloudWatch credentials come from the SDK's default chain, as the AWS
// provider's do (AWS_ENDPOINT_URL is honoured).
package sources

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"gopkg.in/yaml.v3"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/cloudwatch"
	"github.com/gennaker/gennaker/shared/canary/prometheus"
	"github.com/gennaker/gennaker/shared/stages"
)

// Account is one metrics account as the file writes it.
type Account struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Endpoint struct {
		BaseURL string `json:"baseUrl"`
	} `json:"endpoint"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	BearerToken string `json:"bearerToken"`
	ScopeLabel  string `json:"scopeLabel"`
	Region      string `json:"region"`
}

// AWSConfig builds the SDK configuration of a CloudWatch account's region;
// tests point it at moto_server.
type AWSConfig func(ctx context.Context, region string) (aws.Config, error)

// DefaultAWSConfig is the SDK's default chain.
func DefaultAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
}

// Parse reads the section (as YAML decoded it: a list of maps) into the
// sources, or an error naming the path of what is wrong
// ("metricsAccounts[0].endpoint.baseUrl: …").
func Parse(ctx context.Context, section any, awsCfg AWSConfig) (*canary.Sources, error) {
	out := canary.NewSources()
	if section == nil {
		return out, nil
	}
	// YAML maps decode with any keys only in odd documents; normalise
	// through YAML once so the decoder sees map[string]any.
	b, err := yaml.Marshal(section)
	if err != nil {
		return nil, fmt.Errorf("metricsAccounts: %w", err)
	}
	var list []map[string]any
	if err := yaml.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("metricsAccounts: must be a list of {name, type, …}: %w", err)
	}
	if awsCfg == nil {
		awsCfg = DefaultAWSConfig
	}
	var msgs []string
	fail := func(i int, f, format string, args ...any) {
		msgs = append(msgs, fmt.Sprintf("%s: %s", stages.Path("metricsAccounts", i, f), fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for i, raw := range list {
		var a Account
		if probs := stages.Decode(raw, &a); len(probs) > 0 {
			for _, p := range probs {
				fail(i, p.Path, "%s", p.Message)
			}
			continue
		}
		if a.Name == "" {
			fail(i, "name", "is required")
			continue
		}
		if seen[a.Name] {
			fail(i, "name", "%q names another metrics account too", a.Name)
			continue
		}
		seen[a.Name] = true
		switch a.Type {
		case prometheus.Type:
			if a.Endpoint.BaseURL == "" {
				fail(i, "endpoint.baseUrl", "is required: the Prometheus server's URL")
				continue
			}
			src, err := prometheus.New(prometheus.Options{BaseURL: a.Endpoint.BaseURL, ScopeLabel: a.ScopeLabel,
				Username: a.Username, Password: a.Password, BearerToken: a.BearerToken})
			if err != nil {
				fail(i, "endpoint.baseUrl", "%v", err)
				continue
			}
			out.Add(a.Name, src)
		case cloudwatch.Type:
			if a.Region == "" {
				fail(i, "region", "is required for a cloudwatch account")
				continue
			}
			cfg, err := awsCfg(ctx, a.Region)
			if err != nil {
				fail(i, "region", "%v", err)
				continue
			}
			out.Add(a.Name, cloudwatch.New(cfg))
		default:
			fail(i, "type", "%q is not a metrics account type (prometheus, cloudwatch)", a.Type)
		}
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return out, nil
}
