package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/env"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
)

// gennaker up refuses to start with deployment accounts or stage types it
// cannot use, and exits with the message the Lambda functions give at cold
// start for the same document.
func TestUpRefusesBadAccountsAsTheFunctionsDo(t *testing.T) {
	for name, doc := range map[string]string{
		"not YAML":                       "accounts: [{name: x",
		"account twice":                  "accounts: [{name: prod, provider: kubernetes, eksCluster: shop, region: eu-west-1}, {name: prod, provider: kubernetes, eksCluster: shop, region: eu-west-1}]",
		"EKS cluster without its region": "accounts: [{name: prod, provider: kubernetes, eksCluster: shop}]",
		"stage type without a url":       "stageTypes: [{type: jenkins, webhook: {method: POST}}]",
		"stage type named as a built-in": "stageTypes: [{type: wait, webhook: {url: 'https://ci.example.com'}}]",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "accounts.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			upErr := up(context.Background(), &upOptions{listen: "127.0.0.1:0", dataDir: filepath.Join(dir, "data"), accounts: path, logLevel: "error"},
				&globals{stdout: io.Discard, stderr: io.Discard})
			if upErr == nil {
				t.Fatal("gennaker up started with bad accounts")
			}
			vars := map[string]string{
				env.ConfigTable: "c", env.ExecutionsTable: "e", env.RuntimeTable: "r",
				env.PipelineMachineArn: "arn:p", env.StageMachineArn: "arn:s", env.Accounts: doc,
			}
			cfg, lambdaErr := lambdaruntime.ConfigFromEnv(func(k string) string { return vars[k] })
			if lambdaErr == nil {
				_, lambdaErr = lambdaruntime.New(cfg, lambdaruntime.Deps{})
			}
			if lambdaErr == nil || upErr.Error() != lambdaErr.Error() {
				t.Fatalf("gennaker up: %v\nLambda functions: %v", upErr, lambdaErr)
			}
		})
	}
}
