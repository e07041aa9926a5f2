package deploy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

// The image stages of AWS pipelines work on the local provider, whose
// images are the commands its server groups run: upsertImageTags tags one,
// findImageFromTags finds it by name and tags, and a deploy without an
// artifact of its own runs what it found.
func TestImageTagsThenDeployLocally(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "redblack", 1, "", "")), model.StatusSucceeded)
	tag := fmt.Sprintf(`{"refId": "tag", "type": "upsertImageTags", "name": "Mark released", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "imageNames": [%q], "tags": {"stage": "released"}}`, helloBin)
	assertStatus(t, e.run(tag), model.StatusSucceeded)

	find := fmt.Sprintf(`{"refId": "find", "type": "findImageFromTags", "name": "Find released", "cloudProvider": "local",
	  "credentials": "local", "packageName": %q, "tags": {"stage": "released"}, "regions": ["local"]}`, helloBin)
	deploy := `{"refId": "deploy", "type": "deploy", "name": "Deploy found", "requisiteStageRefIds": ["find"],
	  "clusters": [{"cloudProvider": "local", "account": "local", "region": "local", "application": "hello", "stack": "api",
	    "strategy": "redblack", "capacity": {"min": 1, "max": 1, "desired": 1}, "loadBalancers": ["hello-lb"], "healthCheckPath": "/health"}]}`
	ex := e.run(find, deploy)
	assertStatus(t, ex, model.StatusSucceeded)
	var found *string
	for _, g := range e.groups() {
		if strings.HasPrefix(g.Name, "hello-api-") {
			cmd, _ := g.Artifact["command"].(string)
			found = &cmd
		}
	}
	if found == nil || *found != helloBin {
		t.Fatalf("the deploy after findImageFromTags runs %v, want the tagged image %s", found, helloBin)
	}

	// An image tagged otherwise is not found.
	miss := strings.Replace(find, `"released"`, `"candidate"`, 1)
	ex = e.run(strings.Replace(miss, `"refId": "find",`, `"refId": "find", "stageTimeoutMs": 1500,`, 1))
	assertStatus(t, ex, model.StatusTerminal)
}
