package kubernetes

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"k8s.io/client-go/rest"
)

// eksClusters is the one EKS call made: the cluster's endpoint and CA.
type eksClusters interface {
	DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, opts ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

// stsPresigner presigns the STS call whose URL is an EKS token.
type stsPresigner interface {
	PresignGetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// eksConnect looks the EKS cluster up with the account's AWS credentials
// (the default chain, then assumeRole) and authenticates to it with IAM
// tokens, renewed before they expire.
func eksConnect(cfg Config) func(context.Context) (*rest.Config, error) {
	return func(ctx context.Context) (*rest.Config, error) {
		awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("AWS credentials: %w", err)
		}
		if cfg.AssumeRole != "" {
			awsCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), cfg.AssumeRole))
		}
		rc, err := describeEKS(ctx, eks.NewFromConfig(awsCfg), cfg.EKSCluster)
		if err != nil {
			return nil, err
		}
		tokens := &eksTokens{cluster: cfg.EKSCluster, presign: sts.NewPresignClient(sts.NewFromConfig(awsCfg))}
		rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{tokens: tokens, next: rt} }
		return rc, nil
	}
}

// describeEKS returns the REST config of an EKS cluster, without
// credentials.
func describeEKS(ctx context.Context, api eksClusters, cluster string) (*rest.Config, error) {
	out, err := api.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
	if err != nil {
		return nil, fmt.Errorf("EKS cluster %q: %w", cluster, err)
	}
	c := out.Cluster
	if c == nil || c.Endpoint == nil || c.CertificateAuthority == nil || c.CertificateAuthority.Data == nil {
		return nil, fmt.Errorf("EKS cluster %q has no endpoint yet (is it still being created?)", cluster)
	}
	ca, err := base64.StdEncoding.DecodeString(*c.CertificateAuthority.Data)
	if err != nil {
		return nil, fmt.Errorf("EKS cluster %q: certificate authority: %w", cluster, err)
	}
	return &rest.Config{Host: *c.Endpoint, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}, nil
}

// eksTokens makes the bearer tokens EKS accepts: a presigned STS
// GetCallerIdentity URL naming the cluster, valid 15 minutes.
type eksTokens struct {
	cluster string
	presign stsPresigner

	mu      sync.Mutex
	token   string
	expires time.Time
}

// get returns a token valid for at least a minute more.
func (t *eksTokens) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && time.Until(t.expires) > time.Minute {
		return t.token, nil
	}
	req, err := t.presign.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *sts.Options) {
			so.APIOptions = append(so.APIOptions, smithyhttp.AddHeaderValue("x-k8s-aws-id", t.cluster))
		})
	})
	if err != nil {
		return "", fmt.Errorf("EKS token for %q: %w", t.cluster, err)
	}
	t.token = "k8s-aws-v1." + base64.RawURLEncoding.EncodeToString([]byte(req.URL))
	t.expires = time.Now().Add(14 * time.Minute)
	return t.token, nil
}

// bearer adds the current token to every request.
type bearer struct {
	tokens *eksTokens
	next   http.RoundTripper
}

func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := b.tokens.get(req.Context())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}
