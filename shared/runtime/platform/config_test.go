package platform_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/platform"
)

const jenkinsType = `
stageTypes:
- type: jenkins
  label: Jenkins job
  description: Builds a job on the CI server
  webhook:
    url: "https://ci.example.com/job/${job}/buildWithParameters"
    method: POST
    customHeaders: {Authorization: ["Bearer secret"]}
    payload: {parameters: "${parameters}"}
    waitForCompletion: true
    statusUrlResolution: locationHeader
    statusJsonPath: $.result
    successStatuses: SUCCESS
    terminalStatuses: FAILURE, ABORTED
    failFastStatusCodes: [404]
  parameters:
  - {name: job, label: Job}
  - {name: master, label: Controller, defaultValue: ci}
`

// A configuration file with accounts and stage types gives both, the
// template's values as a stage context holds them.
func TestParseConfig(t *testing.T) {
	cfg, err := platform.ParseConfig([]byte("accounts: [{name: prod-eks, provider: kubernetes, eksCluster: shop, region: eu-west-1}]\n" + jenkinsType))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 2 {
		t.Errorf("accounts %+v, want prod-eks and local", cfg.Accounts)
	}
	if len(cfg.StageTypes) != 1 {
		t.Fatalf("stage types %+v", cfg.StageTypes)
	}
	jt := cfg.StageTypes[0]
	if jt.Type != "jenkins" || jt.Label != "Jenkins job" || len(jt.Parameters) != 2 || jt.Parameters[1].DefaultValue != "ci" {
		t.Errorf("stage type %+v", jt)
	}
	if codes, _ := jt.Webhook["failFastStatusCodes"].([]any); len(codes) != 1 || codes[0] != float64(404) {
		t.Errorf("failFastStatusCodes %#v, want JSON numbers", jt.Webhook["failFastStatusCodes"])
	}

	// Either section may be left out.
	for _, doc := range []string{"", "accounts: []", jenkinsType, `{"stageTypes": []}`} {
		if _, err := platform.ParseConfig([]byte(doc)); err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

// A stage types section either runtime cannot start with is refused by
// both with one message, which gives the path of what is wrong.
func TestBadStageTypesStopBothRuntimesWithOneMessage(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown section", "stagetypes: []", "stagetypes: is not a section of the configuration (accounts, stageTypes, metricsAccounts, notifications)"},
		{"unknown notifications field", "notifications: {slack: {tokn: x}}", "notifications.slack.tokn: is not a setting"},
		{"bad notifications timeout", "notifications: {timeout: soon}", `"soon" is not a duration such as 10s or 500ms`},
		{"email without a sender", "notifications: {email: {smtp: {host: mail}}}", "notifications.email.from: is required to send email"},
		{"not a list", "stageTypes: {type: jenkins}", "stageTypes: must be a list of stage types"},
		{"no url", "stageTypes: [{type: jenkins, webhook: {method: POST}}]", "stageTypes[0].webhook.url: is required"},
		{"no webhook", "stageTypes: [{type: jenkins}]", "stageTypes[0].webhook: is required"},
		{"no type", "stageTypes: [{webhook: {url: 'https://ci'}}]", "stageTypes[0].type: is required"},
		{"type not a string", "stageTypes: [{type: 3, webhook: {url: 'https://ci'}}]", "stageTypes[0].type: must be a string"},
		{"url not http", "stageTypes: [{type: jenkins, webhook: {url: 'ftp://ci'}}]", `stageTypes[0].webhook.url: "ftp://ci" is not an http or https URL`},
		{"bad method", "stageTypes: [{type: jenkins, webhook: {url: 'https://ci', method: FETCH}}]", `stageTypes[0].webhook.method: "FETCH" is not an HTTP method`},
		{"bad status resolution", "stageTypes: [{type: jenkins, webhook: {url: 'https://ci', statusUrlResolution: header}}]", `stageTypes[0].webhook.statusUrlResolution: "header" is not one of`},
		{"unknown webhook field", "stageTypes: [{type: jenkins, webhook: {url: 'https://ci', statusPath: $.x}}]", "stageTypes[0].webhook.statusPath: is not a field here"},
		{"unknown type field", "stageTypes: [{type: jenkins, lable: J, webhook: {url: 'https://ci'}}]", "stageTypes[0].lable: is not a field here"},
		{"parameter without a name", "stageTypes: [{type: jenkins, webhook: {url: 'https://ci'}, parameters: [{label: Job}]}]", "stageTypes[0].parameters[0].name: is required"},
		{"parameter named as a webhook field", "stageTypes: [{type: jenkins, webhook: {url: 'https://ci'}, parameters: [{name: url}]}]", `stageTypes[0].parameters[0].name: "url" is a field the stage type itself sets`},
		{"type twice", "stageTypes: [{type: jenkins, webhook: {url: 'https://a'}}, {type: jenkins, webhook: {url: 'https://b'}}]", `stageTypes[1].type: "jenkins" is defined twice`},
		{"built-in type", "stageTypes: [{type: wait, webhook: {url: 'https://ci'}}]", `stageTypes[0].type: "wait" is a built-in stage type`},
		{"webhook type", "stageTypes: [{type: webhook, webhook: {url: 'https://ci'}}]", `stageTypes[0].type: "webhook" is a built-in stage type`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			localErr := openLocal(t, tc.doc)
			lambdaErr := openLambda(tc.doc)
			for runtime, err := range map[string]error{"local": localErr, "lambda": lambdaErr} {
				var bad *platform.AccountsError
				if !errors.As(err, &bad) {
					t.Fatalf("%s runtime: err = %v, want an *AccountsError", runtime, err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s runtime: %v\nwant it to say %q", runtime, err, tc.want)
				}
			}
			if localErr.Error() != lambdaErr.Error() {
				t.Fatalf("the runtimes disagree:\nlocal:  %v\nlambda: %v", localErr, lambdaErr)
			}
		})
	}
}

// Good stage types start both runtimes, which then know the type.
func TestGoodStageTypesStartBothRuntimes(t *testing.T) {
	if err := openLocal(t, jenkinsType); err != nil {
		t.Fatalf("local: %v", err)
	}
	if err := openLambda(jenkinsType); err != nil {
		t.Fatalf("lambda: %v", err)
	}
}
