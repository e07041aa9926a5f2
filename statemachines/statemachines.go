// Package statemachines embeds the Amazon States Language definitions that
// Step Functions runs in the cloud and the local runtime runs on one machine.
package statemachines

import (
	"embed"
	"strings"
)

//go:embed *.asl.json
var files embed.FS

// Definitions returns every state machine definition by name ("pipeline",
// "stage"), with the ${…} substitutions still in place.
func Definitions() map[string][]byte {
	entries, _ := files.ReadDir(".")
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err) // embedded at build time; cannot fail
		}
		out[strings.TrimSuffix(e.Name(), ".asl.json")] = b
	}
	return out
}
