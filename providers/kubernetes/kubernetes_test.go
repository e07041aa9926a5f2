package kubernetes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/providers/providertest"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://127.0.0.1:1"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: staging, context: {cluster: a, user: u, namespace: shop-staging}}
- {name: bare, context: {cluster: a, user: u}}
current-context: bare
`

func TestAccounts(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	accts, err := providers.ParseAccounts([]byte(`accounts:
- {name: staging, provider: kubernetes, kubeconfig: ` + kc + `, context: staging, namespaces: [shop-staging, shop-qa]}
- {name: bare, provider: kubernetes, kubeconfigFile: ` + kc + `, omitNamespaces: [kube-system]}
- {name: listed, provider: kubernetes, kubeconfig: ` + kc + `, namespaces: [apps]}
`))
	if err != nil {
		t.Fatal(err)
	}
	var k8s []providers.Account
	for _, a := range accts {
		if a.Provider == Name {
			k8s = append(k8s, a)
		}
	}
	reg, err := providers.NewRegistry(k8s, New())
	if err != nil {
		t.Fatal(err)
	}
	cluster := func(name string) *Cluster {
		c, err := reg.Cloud(name, "kubernetes")
		if err != nil {
			t.Fatal(err)
		}
		return c.Manifests.(*Cluster)
	}
	for account, want := range map[string]string{"staging": "shop-staging", "bare": "default", "listed": "apps"} {
		if got := cluster(account).DefaultNamespace(); got != want {
			t.Errorf("account %s: default namespace %q, want %q", account, got, want)
		}
	}
	// A forbidden namespace is refused before the cluster is called.
	err = cluster("staging").checkNamespace("shop-prod")
	if !errors.Is(err, manifest.ErrForbiddenNamespace) || !strings.Contains(err.Error(), "shop-staging, shop-qa") {
		t.Errorf("staging in shop-prod: %v", err)
	}
	if err := cluster("bare").checkNamespace("kube-system"); !errors.Is(err, manifest.ErrForbiddenNamespace) {
		t.Errorf("bare in kube-system: %v", err)
	}
	if err := cluster("bare").checkNamespace("anything"); err != nil {
		t.Errorf("bare in anything: %v", err)
	}
	// Server groups are deployed with deployManifest: the account serves no
	// server group creation, and asking for it says so.
	if _, err := reg.ServerGroupCreator("bare", ""); !errors.Is(err, providers.ErrUnsupported) || !strings.Contains(err.Error(), "manifest stages") {
		t.Errorf("ServerGroupCreator: %v", err)
	}
}

// TestAbilities pins down what a Kubernetes account serves; tests/k8s runs
// the suite of each against a real control plane.
func TestAbilities(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New().Cloud(providers.Account{Name: "k", Provider: Name, Fields: map[string]any{"kubeconfig": kc}})
	if err != nil {
		t.Fatal(err)
	}
	providertest.Abilities(t, c, "ServerGroups", "Managers", "Manifests")
}

func TestBadAccounts(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"kubeconfig": kc, "context": "prod"}, `context "prod"`},
		{map[string]any{"kubeconfig": filepath.Join(kc, "missing")}, "kubeconfig"},
		{map[string]any{"kubeconfig": kc, "namespaces": "apps"}, "namespaces must be a list"},
		{map[string]any{"kubeconfig": kc, "zone": "eu"}, `unknown field "zone"`},
	} {
		_, err := New().Cloud(providers.Account{Name: "k", Provider: Name, Fields: tc.fields})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Cloud(%v) = %v, want an error saying %q", tc.fields, err, tc.want)
		}
	}
}
