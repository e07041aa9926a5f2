package kubernetes

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gennaker/gennaker/providers"
)

// fakeEKS answers DescribeCluster for one cluster.
type fakeEKS struct{ endpoint, ca string }

func (f fakeEKS) DescribeCluster(_ context.Context, in *eks.DescribeClusterInput, _ ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	return &eks.DescribeClusterOutput{Cluster: &ekstypes.Cluster{Name: in.Name, Endpoint: aws.String(f.endpoint),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String(f.ca)}}}, nil
}

func TestEKSTokens(t *testing.T) {
	rc, err := describeEKS(context.Background(), fakeEKS{"https://abc.gr7.eu-west-1.eks.amazonaws.com", base64.StdEncoding.EncodeToString([]byte("PEM"))}, "shop-prod")
	if err != nil || rc.Host != "https://abc.gr7.eu-west-1.eks.amazonaws.com" || string(rc.TLSClientConfig.CAData) != "PEM" {
		t.Fatalf("describeEKS = %+v, %v", rc, err)
	}

	// Presigning needs credentials but no network.
	client := sts.New(sts.Options{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	tokens := &eksTokens{cluster: "shop-prod", presign: sts.NewPresignClient(client)}
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer srv.Close()
	resp, err := (&http.Client{Transport: &bearer{tokens: tokens, next: http.DefaultTransport}}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, ok := strings.CutPrefix(got, "Bearer k8s-aws-v1.")
	if !ok {
		t.Fatalf("Authorization = %q, want an EKS token", got)
	}
	url, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"https://sts.eu-west-1.amazonaws.com/", "Action=GetCallerIdentity", "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"} {
		if !strings.Contains(string(url), want) {
			t.Errorf("token URL %s does not have %s", url, want)
		}
	}
	again, _ := tokens.get(context.Background())
	if "Bearer "+again != got {
		t.Errorf("a fresh token was not reused")
	}
}

func TestEKSAccountFields(t *testing.T) {
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"eksCluster": "shop", "region": "eu-west-1", "assumeRole": "arn:aws:iam::1:role/d", "namespaces": []any{"shop"}}, ""},
		{map[string]any{"eksCluster": "shop"}, "needs its region"},
		{map[string]any{"eksCluster": "shop", "region": "eu-west-1", "kubeconfig": "/x"}, "alternatives"},
		{map[string]any{"region": "eu-west-1"}, "for eksCluster accounts"},
	} {
		_, err := New().Cloud(providers.Account{Name: "prod", Provider: Name, Fields: tc.fields})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Cloud(%v): %v", tc.fields, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Cloud(%v) = %v, want an error saying %q", tc.fields, err, tc.want)
		}
	}
}
