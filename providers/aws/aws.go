// Package aws is the provider for Amazon Web Services accounts: Auto
// Scaling groups as server groups behind ELBv2 target groups and classic
// load balancers, AMIs as images, and Lambda functions with weighted
// aliases.
//
// An account in the accounts file:
//
//	accounts:
//	- name: prod
//	  provider: aws
//	  accountId: "123456789012"
//	  regions: [us-east-1, eu-west-1]
//	  assumeRole: arn:aws:iam::123456789012:role/gennaker-deploy  # optional
//	  externalId: shop                                            # optional
//	  environment: prod
//
// Credentials come from the SDK's default chain (environment, shared files,
// the Lambda or EC2 role), then sts:AssumeRole into the account's role when
// it names one. AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SVC>
// variables are honoured, so the same code runs against an AWS-protocol
// server in tests.
package aws

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/aws/account"
)

// Name is Spinnaker's name for the provider.
const Name = "aws"

// Provider builds AWS accounts' views.
type Provider struct {
	base      BaseConfig
	newClient func(aws.Config) Client
	retry     retryPolicy
	poll      time.Duration
}

// BaseConfig returns the SDK configuration for a region before any role is
// assumed: by default the SDK's default chain.
type BaseConfig func(ctx context.Context, region string) (aws.Config, error)

// Option changes how a Provider reaches AWS.
type Option func(*Provider)

// WithBaseConfig replaces the SDK's default chain; tests point it at an
// AWS-protocol server.
func WithBaseConfig(f BaseConfig) Option { return func(p *Provider) { p.base = f } }

// WithClient replaces how the provider calls AWS in one account and region;
// tests wrap NewClient's with fakes of what an AWS-protocol server cannot
// model.
func WithClient(f func(cfg aws.Config) Client) Option { return func(p *Provider) { p.newClient = f } }

// DefaultPollInterval is how long stages wait between reads of an AWS
// account's server groups while they wait on them: each read is several
// calls (the group, its launch template, each target group's health), and
// AWS rates describe calls per account and region.
const DefaultPollInterval = 10 * time.Second

// WithPollInterval replaces DefaultPollInterval; tests against an
// AWS-protocol server on the same machine shorten it.
func WithPollInterval(d time.Duration) Option { return func(p *Provider) { p.poll = d } }

// New returns the AWS provider.
func New(opts ...Option) *Provider {
	p := &Provider{base: defaultConfig, newClient: func(cfg aws.Config) Client { return NewClient(cfg) }, retry: defaultRetry, poll: DefaultPollInterval}
	for _, o := range opts {
		o(p)
	}
	return p
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.FieldChecker = (*Provider)(nil)
)

// Name implements providers.Provider.
func (*Provider) Name() string { return Name }

func defaultConfig(ctx context.Context, region string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx, config.WithRegion(region))
}

// Config is an AWS account's own fields in the accounts file (see package
// account, which reads them without linking the SDK's service clients).
type Config = account.Config

// ParseConfig reads an account's fields. The account's regions are its
// top-level `regions`.
func ParseConfig(acct providers.Account) (Config, error) { return account.Parse(acct) }

// Sessions hands out one account's SDK configurations, one per region,
// built once and shared by every client of that region.
type Sessions struct {
	account providers.Account
	config  Config
	base    BaseConfig

	mu      sync.Mutex
	regions map[string]aws.Config
}

// Sessions returns the account's sessions.
func (p *Provider) Sessions(acct providers.Account) (*Sessions, error) {
	cfg, err := ParseConfig(acct)
	if err != nil {
		return nil, err
	}
	return &Sessions{account: acct, config: cfg, base: p.base, regions: map[string]aws.Config{}}, nil
}

// Account is the account the sessions act in.
func (s *Sessions) Account() providers.Account { return s.account }

// Config returns the SDK configuration for region, with the account's role
// assumed. A region the account does not list is an error naming the ones it
// does.
func (s *Sessions) Config(ctx context.Context, region string) (aws.Config, error) {
	if !s.HasRegion(region) {
		return aws.Config{}, fmt.Errorf("account %q has no region %q (its regions: %v)", s.account.Name, region, s.account.Regions)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg, ok := s.regions[region]; ok {
		return cfg, nil
	}
	cfg, err := s.base(ctx, region)
	if err != nil {
		return aws.Config{}, fmt.Errorf("account %q: AWS credentials for %s: %w", s.account.Name, region, err)
	}
	if role := s.config.RoleARN(); role != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "gennaker"
			if s.config.ExternalID != "" {
				o.ExternalID = aws.String(s.config.ExternalID)
			}
		}))
	}
	s.regions[region] = cfg
	return cfg, nil
}

// HasRegion reports whether the account lists region.
func (s *Sessions) HasRegion(region string) bool {
	for _, r := range s.account.Regions {
		if r == region {
			return true
		}
	}
	return false
}

// Cloud implements providers.Provider: the account's abilities.
func (p *Provider) Cloud(acct providers.Account) (*providers.Cloud, error) {
	s, err := p.Sessions(acct)
	if err != nil {
		return nil, err
	}
	c := &cloud{acct: acct, sessions: s, newClient: p.newClient, retry: p.retry, clients: map[string]Client{}}
	return &providers.Cloud{Account: acct, ServerGroups: c, ServerGroupCreator: c, Images: images{c}, LoadBalancers: loadBalancers{c},
		Functions: NewFunctions(s), PollInterval: p.poll}, nil
}
