// Package providertest holds one conformance suite per provider ability:
// ServerGroups, ServerGroupCreator, LoadBalancers, Images, Managers,
// Manifests and Functions. Each checks, against a real account, the
// contract the ability's interface documents, through outcomes a user of
// gennaker would notice. A provider's test runs Abilities to pin down what it serves, and
// then the suite of each ability it serves.
//
// Every application a suite uses starts with "conf", so that a suite run in
// a shared account does not mistake another test's objects for its own.
package providertest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// Abilities checks that cloud serves exactly the abilities named in want,
// spelled as providers.Cloud's fields ("ServerGroups", "Managers", ...): a
// provider that stops serving one, or starts serving one nobody declared,
// fails here rather than in a user's pipeline.
func Abilities(t *testing.T, cloud *providers.Cloud, want ...string) {
	t.Helper()
	v := reflect.ValueOf(cloud).Elem()
	var all []string
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Type.Kind() == reflect.Interface {
			all = append(all, f.Name)
		}
	}
	for _, w := range want {
		if !slices.Contains(all, w) {
			t.Fatalf("%q is not an ability of providers.Cloud (abilities: %s)", w, strings.Join(all, ", "))
		}
	}
	for _, name := range all {
		served := !v.FieldByName(name).IsNil()
		switch declared := slices.Contains(want, name); {
		case declared && !served:
			t.Errorf("account %q does not serve %s, which its provider declares", cloud.Account.Name, name)
		case !declared && served:
			t.Errorf("account %q serves %s, which its provider does not declare", cloud.Account.Name, name)
		}
	}
}

// eventually calls check until it reports done without an error, or fails
// the test when timeout passes; it returns what the last call returned.
func eventually[T any](t *testing.T, timeout time.Duration, what string, check func() (T, bool, error)) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, done, err := check()
		if done && err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %s: %+v, %v", what, timeout, v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
