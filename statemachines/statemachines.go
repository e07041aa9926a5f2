// Package statemachines embeds the Amazon States Language definitions that
// Step Functions runs in the cloud and the local runtime runs on one machine.
package statemachines

import (
	"embed"
	"strings"
)

//go:embed *.asl.json
var files embed.FS

// Families are the cloud providers whose tasks run in a Lambda function of
// their own, functions/tasks-<family>, so that no function links every
// provider. Each has a stage machine of its own, "stage-<family>": the
// stage machine with ${Tasks<Family>FunctionArn} for ${TasksFunctionArn}.
// The orchestrator starts a stage on the machine of the provider it acts
// through (orchestration.Machines.Families).
var Families = []string{"kubernetes", "aws"}

// FamilyMachine is the name of a family's stage machine.
func FamilyMachine(family string) string { return "stage-" + family }

// FamilyFunction is the name of the function that runs a family's tasks.
func FamilyFunction(family string) string { return "tasks-" + family }

// Definitions returns every state machine definition by name ("pipeline",
// "stage", "stage-kubernetes", …), with the ${…} substitutions still in
// place.
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
	for _, f := range Families {
		out[FamilyMachine(f)] = []byte(strings.ReplaceAll(string(out["stage"]), "${TasksFunctionArn}", "${"+FunctionSubstitution(FamilyFunction(f))+"}"))
	}
	return out
}

// FunctionSubstitution is the placeholder a definition names a function's
// ARN by: "tasks-kubernetes" → "TasksKubernetesFunctionArn".
func FunctionSubstitution(function string) string {
	out := []rune{}
	upper := true
	for _, r := range function {
		if r == '-' || r == '_' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		out = append(out, r)
	}
	return string(out) + "FunctionArn"
}
