package providertest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/providers"
)

// FunctionsEnv is what the Functions suite needs from a provider's test.
type FunctionsEnv struct {
	Functions providers.Functions
	Region    string
	// Spec returns a function that can be created in the account under
	// name: runnable code and the configuration it needs (a role).
	Spec func(t *testing.T, name string) providers.FunctionSpec
	// Code returns other code than Spec's, different for each n.
	Code func(t *testing.T, n int) providers.FunctionCode
}

// Functions checks what providers.Functions promises: a missing function is
// ErrNotFound, creating one twice is ErrExists, a create with Publish
// publishes version 1, new code and configuration published make version
// 2, aliases are created, split and moved as asked and read back so,
// invocations answer, and deletes of versions and of the function are
// idempotent. Every function it creates is named "conf-...".
func Functions(t *testing.T, env FunctionsEnv) {
	ctx := context.Background()
	fns, region := env.Functions, env.Region
	const name = "conf-fn"
	get := func() *providers.Function {
		t.Helper()
		fn, err := fns.Get(ctx, region, name)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return fn
	}
	if _, err := fns.Get(ctx, region, name); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing function: err = %v, want ErrNotFound", err)
	}
	spec := env.Spec(t, name)
	spec.Publish = true
	created, err := fns.Create(ctx, region, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !reflect.DeepEqual(created.Versions, []string{"1"}) || created.Name != name || created.ARN == "" {
		t.Errorf("Create with Publish = %+v, want %s with an ARN and version 1", created, name)
	}
	if _, err := fns.Create(ctx, region, spec); !errors.Is(err, providers.ErrExists) {
		t.Errorf("second Create: err = %v, want ErrExists", err)
	}
	if fn := get(); !fn.Ready() || !reflect.DeepEqual(fn.Versions, []string{"1"}) {
		t.Errorf("after Create: %+v, want it ready with version 1", fn)
	}

	if _, err := fns.UpdateCode(ctx, region, name, env.Code(t, 2)); err != nil {
		t.Fatalf("UpdateCode: %v", err)
	}
	spec.Description = "second"
	if _, err := fns.UpdateConfiguration(ctx, region, spec); err != nil {
		t.Fatalf("UpdateConfiguration: %v", err)
	}
	v, err := fns.Publish(ctx, region, name, get().RevisionID, "second")
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if v != "2" {
		t.Errorf("Publish = %q, want version 2", v)
	}
	if _, err := fns.UpdateCode(ctx, region, "conf-missing", env.Code(t, 3)); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("UpdateCode of a missing function: err = %v, want ErrNotFound", err)
	}

	for _, a := range []providers.FunctionAlias{
		{Name: "live", Version: "1"},
		{Name: "live", Version: "1", Weights: map[string]float64{"2": 0.1}},
		{Name: "live", Version: "1", Weights: map[string]float64{"2": 0.5}},
		{Name: "live", Version: "2"},
		{Name: "live", Version: "2"},
	} {
		if err := fns.SetAlias(ctx, region, name, a); err != nil {
			t.Fatalf("SetAlias(%+v): %v", a, err)
		}
		fn := get()
		if got := fn.Alias("live"); got == nil || got.Version != a.Version || !reflect.DeepEqual(got.Weights, a.Weights) {
			t.Errorf("alias after SetAlias(%+v) = %+v", a, got)
		}
		if !reflect.DeepEqual(fn.Versions, []string{"1", "2"}) {
			t.Errorf("versions = %v, want [1 2]", fn.Versions)
		}
	}

	inv, err := fns.Invoke(ctx, region, name, "live", []byte(`{"ping": 1}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if inv.StatusCode != 200 || inv.FunctionError != "" {
		t.Errorf("Invoke = %+v, want 200 without a function error", inv)
	}

	if err := fns.Delete(ctx, region, name, "1"); err != nil {
		t.Fatalf("Delete version 1: %v", err)
	}
	if fn := get(); !reflect.DeepEqual(fn.Versions, []string{"2"}) {
		t.Errorf("versions after deleting 1 = %v, want [2]", fn.Versions)
	}
	if err := fns.Delete(ctx, region, name, "1"); err != nil {
		t.Errorf("deleting version 1 again: %v", err)
	}
	if err := fns.Delete(ctx, region, name, ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := fns.Get(ctx, region, name); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := fns.Delete(ctx, region, name, ""); err != nil {
		t.Errorf("deleting a missing function: %v", err)
	}
}
