// Package definition reads what an Amazon States Language definition asks of
// the infrastructure: which functions its ${…} substitutions name, which
// functions its Task states invoke, and whether it starts runs of itself.
//
// The orchestration construct grants a state machine exactly these and
// nothing else, and a definition that uses a service integration this
// package does not know is an error, so a new kind of Task state fails the
// synth instead of failing at run time with AccessDenied.
package definition

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// FunctionArnSuffix ends every substitution that stands for a function's ARN:
// ${OrchestratorFunctionArn} is the ARN of functions/orchestrator.
const FunctionArnSuffix = "FunctionArn"

// Needs is what one definition asks of the infrastructure.
type Needs struct {
	// Substitutions are the names of the definition's ${…} placeholders,
	// sorted.
	Substitutions []string
	// Invokes are the substitutions that Task states invoke as Lambda
	// functions, sorted.
	Invokes []string
	// StartsItself reports a Task state that starts a new run of the same
	// state machine ("StateMachineArn.$": "$$.StateMachine.Id").
	StartsItself bool
}

var (
	placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)
	plainName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// Analyze reads a definition.
func Analyze(asl []byte) (Needs, error) {
	var n Needs
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(asl, -1) {
		name := string(m[1])
		if !plainName.MatchString(name) {
			return Needs{}, fmt.Errorf("substitution ${%s} is not a plain name", name)
		}
		if !seen[name] {
			seen[name] = true
			n.Substitutions = append(n.Substitutions, name)
		}
	}
	sort.Strings(n.Substitutions)

	var doc machine
	if err := json.Unmarshal(asl, &doc); err != nil {
		return Needs{}, fmt.Errorf("parse definition: %w", err)
	}
	invokes := map[string]bool{}
	if err := doc.walk(&n, invokes); err != nil {
		return Needs{}, err
	}
	for name := range invokes {
		n.Invokes = append(n.Invokes, name)
	}
	sort.Strings(n.Invokes)
	return n, nil
}

// FunctionName returns the functions/ directory a function substitution
// stands for: OrchestratorFunctionArn → "orchestrator",
// SlackNotifyFunctionArn → "slack-notify". ok is false for a substitution
// that does not name a function.
func FunctionName(substitution string) (name string, ok bool) {
	base, ok := strings.CutSuffix(substitution, FunctionArnSuffix)
	if !ok || base == "" {
		return "", false
	}
	var b strings.Builder
	for i, r := range base {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// Substitution is the inverse of FunctionName: "slack-notify" →
// "SlackNotifyFunctionArn".
func Substitution(function string) string {
	var b strings.Builder
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
		b.WriteRune(r)
	}
	return b.String() + FunctionArnSuffix
}

type machine struct {
	States map[string]state `json:"States"`
}

type state struct {
	Type          string          `json:"Type"`
	Resource      string          `json:"Resource"`
	Parameters    json.RawMessage `json:"Parameters"`
	Arguments     json.RawMessage `json:"Arguments"`
	Branches      []machine       `json:"Branches"`
	Iterator      *machine        `json:"Iterator"`
	ItemProcessor *machine        `json:"ItemProcessor"`
}

func (m machine) walk(n *Needs, invokes map[string]bool) error {
	names := make([]string, 0, len(m.States))
	for name := range m.States {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := m.States[name]
		if err := s.check(n, invokes); err != nil {
			return fmt.Errorf("state %q: %w", name, err)
		}
		for _, b := range s.Branches {
			if err := b.walk(n, invokes); err != nil {
				return fmt.Errorf("state %q: %w", name, err)
			}
		}
		for _, sub := range []*machine{s.Iterator, s.ItemProcessor} {
			if sub != nil {
				if err := sub.walk(n, invokes); err != nil {
					return fmt.Errorf("state %q: %w", name, err)
				}
			}
		}
	}
	return nil
}

func (s state) check(n *Needs, invokes map[string]bool) error {
	if s.Type != "Task" {
		return nil
	}
	params := map[string]any{}
	raw := s.Parameters
	if len(raw) == 0 {
		raw = s.Arguments // JSONata states
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &params); err != nil {
			return fmt.Errorf("parameters: %w", err)
		}
	}
	switch s.Resource {
	case "arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken":
		fn, _ := params["FunctionName"].(string)
		sub, ok := wholePlaceholder(fn)
		if !ok {
			return fmt.Errorf("invokes FunctionName %q; the infrastructure can only grant a function named by a ${<Name>%s} substitution", fn, FunctionArnSuffix)
		}
		invokes[sub] = true
	case "arn:aws:states:::states:startExecution":
		if arn, _ := params["StateMachineArn.$"].(string); arn != "$$.StateMachine.Id" {
			return fmt.Errorf("starts a state machine other than itself (StateMachineArn %v); the infrastructure grants a machine only runs of itself", params["StateMachineArn"])
		}
		n.StartsItself = true
	default:
		if sub, ok := wholePlaceholder(s.Resource); ok {
			invokes[sub] = true // a plain Lambda ARN as the resource
			return nil
		}
		return fmt.Errorf("uses Resource %q, which the infrastructure grants nothing for; teach infra/internal/definition and the orchestration construct about it", s.Resource)
	}
	return nil
}

// wholePlaceholder reports a value that is exactly one ${Name}FunctionArn
// substitution.
func wholePlaceholder(v string) (string, bool) {
	m := placeholder.FindStringSubmatch(v)
	if m == nil || m[0] != v {
		return "", false
	}
	if _, ok := FunctionName(m[1]); !ok {
		return "", false
	}
	return m[1], true
}
