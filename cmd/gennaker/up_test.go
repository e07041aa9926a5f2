package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// Without --auth, gennaker up serves only this machine unless told
// --insecure-no-auth.
func TestUpRefusesToServeBeyondLoopbackWithoutAuth(t *testing.T) {
	dir := t.TempDir()
	err := up(context.Background(), &upOptions{listen: "0.0.0.0:8084", dataDir: filepath.Join(dir, "data"), logLevel: "error"},
		&globals{stdout: io.Discard, stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--auth") || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Fatalf("gennaker up --listen 0.0.0.0:8084 = %v, want a refusal naming --auth and --insecure-no-auth", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(statErr) {
		t.Errorf("the refused start touched the data directory: %v", statErr)
	}
	for listen, allowed := range map[string]bool{
		"127.0.0.1:0": true, "localhost:8084": true, "[::1]:8084": true, "127.0.0.2:80": true,
		"0.0.0.0:8084": false, ":8084": false, "192.0.2.10:8084": false, "[::]:8084": false, "example.com:8084": false,
	} {
		if err := loopbackOnly(listen); (err == nil) != allowed {
			t.Errorf("loopbackOnly(%q) = %v, want allowed=%v", listen, err, allowed)
		}
	}
}
