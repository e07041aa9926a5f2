package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Field returns one of the trigger type's own fields (repository, branch,
// source, …) as a string: "" when it is absent or not a string.
func (t Trigger) Field(name string) string {
	raw, ok := t.Extra[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// IndexKey is what the trigger listens to, as the trigger index keys it:
// its type and the name of the thing whose events start it (the image
// repository of a docker trigger, the source and repository of a git
// trigger, the source of a webhook, the parent pipeline of a pipeline
// trigger). An event looks its triggers up under the key TriggerIndexKey
// builds from the same parts; the finer rules (tag and branch patterns,
// registries, payload constraints) are the matcher's.
func (t Trigger) IndexKey() string {
	switch t.Type {
	case "docker":
		return TriggerIndexKey(t.Type, t.Field("repository"))
	case "git":
		return TriggerIndexKey(t.Type, t.Field("source"), t.Field("slug"))
	case "webhook":
		return TriggerIndexKey(t.Type, t.Field("source"))
	case "pipeline":
		return TriggerIndexKey(t.Type, t.Field("pipeline"))
	case "pubsub":
		return TriggerIndexKey(t.Type, t.Field("pubsubSystem"), t.Field("subscriptionName"))
	}
	return TriggerIndexKey(t.Type)
}

// TriggerIndexKey joins a trigger type and the names that identify its
// source into an index key. Names are compared without case, as Spinnaker
// compares repository slugs. A key longer than maxIndexKey is its SHA-256
// instead, so that any name fits the stores' key limits (bbolt's 32 KB,
// DynamoDB's 1 KB sort keys) and an event's names still find it.
func TriggerIndexKey(typ string, parts ...string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(typ))
	for _, p := range parts {
		b.WriteByte('|')
		b.WriteString(strings.ToLower(p))
	}
	if b.Len() > maxIndexKey {
		sum := sha256.Sum256([]byte(b.String()))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

// maxIndexKey is the longest trigger index key kept as it is.
const maxIndexKey = 512
