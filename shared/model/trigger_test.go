package model

import (
	"strings"
	"testing"
)

// A trigger whose names are longer than a store key may be is indexed by
// their digest, which the same names always give.
func TestLongTriggerIndexKeysAreDigests(t *testing.T) {
	long := strings.Repeat("x", 40_000)
	k := TriggerIndexKey("docker", long)
	if len(k) > maxIndexKey || !strings.HasPrefix(k, "sha256:") {
		t.Fatalf("key of %d bytes: %.80s", len(k), k)
	}
	if k != TriggerIndexKey("DOCKER", strings.ToUpper(long)) {
		t.Error("the same names, in other case, give another key")
	}
	if TriggerIndexKey("docker", "shop") != "docker|shop" {
		t.Errorf("short key = %q", TriggerIndexKey("docker", "shop"))
	}
}
