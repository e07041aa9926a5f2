package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// collectAWSAccount records the account and regions an AWS stage or
// cluster names (account or credentials; region, regions, or the regions
// of availabilityZones).
func collectAWSAccount(x map[string]any, accounts map[string]map[string]bool) {
	var name string
	for _, k := range []string{"account", "credentials"} {
		if a, ok := x[k].(string); ok && a != "" && !strings.Contains(a, "${") {
			name = a
		}
	}
	if name == "" {
		return
	}
	if accounts[name] == nil {
		accounts[name] = map[string]bool{}
	}
	add := func(r any) {
		if s, ok := r.(string); ok && s != "" && !strings.Contains(s, "${") {
			accounts[name][s] = true
		}
	}
	add(x["region"])
	if rs, ok := x["regions"].([]any); ok {
		for _, r := range rs {
			add(r)
		}
	}
	if zones, ok := x["availabilityZones"].(map[string]any); ok {
		for r := range zones {
			add(r)
		}
	}
}

// writeAWSAccounts appends an aws account per name to an accounts file and
// returns the names.
func writeAWSAccounts(b *strings.Builder, accounts map[string]map[string]bool) []string {
	names := slices.Sorted(maps.Keys(accounts))
	for _, n := range names {
		regions := slices.Sorted(maps.Keys(accounts[n]))
		if len(regions) == 0 {
			regions = []string{"us-east-1"}
		}
		fmt.Fprintf(b, "- name: %q\n  provider: aws\n  regions: [%s]\n", n, strings.Join(regions, ", "))
	}
	return names
}

// The corpus's AWS pipelines save with no warning about their provider:
// their accounts, regions and every deploy field they set are ones the aws
// provider knows and applies.
func TestCorpusAWSPipelinesHaveNoProviderWarnings(t *testing.T) {
	needBinaries(t)
	files, err := filepath.Glob(filepath.Join(corpusDir(), "pipelines", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus pipelines under %s (%v)", corpusDir(), err)
	}
	s := startServer(t, t.TempDir(), "--accounts", corpusAccounts(t, files))
	apps := map[string]string{}
	n := 0
	for _, f := range files {
		if strings.HasPrefix(strings.SplitN(filepath.Base(f), "__", 2)[1], "orchestration-") {
			continue
		}
		p := loadCorpusPipeline(t, f)
		if !usesAWS(p.doc) {
			continue
		}
		if isTemplateV1(p.doc) {
			// A v1 pipeline template keeps each stage's fields under
			// config, which only the template's renderer reads: its
			// warnings are about that shape, not the provider.
			t.Logf("%s: a v1 pipeline template, not checked", filepath.Base(f))
			continue
		}
		n++
		app := strings.ToLower(p.app)
		if _, tried := apps[app]; !tried {
			apps[app] = s.createApp(t, p.app)
		}
		if msg := apps[app]; msg != "" {
			t.Errorf("%s: application %s: %s", filepath.Base(f), p.app, msg)
			continue
		}
		s.saveCorpusPipeline(t, p)
		if p.status != http.StatusOK {
			t.Errorf("%s: not saved: %d %s", filepath.Base(f), p.status, p.message)
		}
		for _, w := range p.warnings {
			if aboutAWS(w) {
				t.Errorf("%s: warning about the aws provider: %s", filepath.Base(f), w)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d corpus pipelines use AWS; the corpus has 25", n)
	}
	t.Logf("%d AWS pipelines of the corpus saved", n)
}

// usesAWS reports whether a pipeline has anything of cloud provider aws.
func usesAWS(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range []string{"cloudProvider", "provider", "cloudProviderType"} {
			if x[k] == "aws" {
				return true
			}
		}
		for _, c := range x {
			if usesAWS(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if usesAWS(c) {
				return true
			}
		}
	}
	return false
}

// aboutAWS reports whether a save warning is about the aws provider, its
// accounts or the fields its stages set, rather than about a stage type
// this installation lacks (jenkins, bake).
func aboutAWS(w string) bool {
	for _, s := range []string{"aws", "account", "credentials", "region", "cloudProvider", "not applied", "availabilityZones", "server group",
		`"findImage"`, `"findAmi"`, `"findImageFromTags"`, `"upsertImageTags"`, "image"} {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// isTemplateV1 reports whether a pipeline file is a v1 pipeline template,
// whose stages hold their fields under config and inject.
func isTemplateV1(doc map[string]any) bool {
	stages, _ := doc["stages"].([]any)
	for _, st := range stages {
		m, _ := st.(map[string]any)
		if _, cfg := m["config"].(map[string]any); cfg {
			if _, inject := m["inject"]; inject {
				return true
			}
		}
	}
	return false
}
