package asl

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxStateNameLength is the longest state name Step Functions accepts.
const maxStateNameLength = 80

// Fields each state type accepts, beyond Type and Comment. Anything else is
// rejected, as Step Functions rejects it.
var allowedFields = map[string][]string{
	typePass:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	typeTask:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials"},
	typeChoice:   {"InputPath", "OutputPath", "Choices", "Default"},
	typeWait:     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	typeSucceed:  {"InputPath", "OutputPath"},
	typeFail:     {"Error", "ErrorPath", "Cause", "CausePath"},
	typeParallel: {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Branches", "Retry", "Catch"},
	typeMap:      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ItemSelector", "ResultSelector", "Iterator", "ItemProcessor", "ItemsPath", "MaxConcurrency", "Retry", "Catch", "ToleratedFailureCount", "ToleratedFailurePercentage"},
}

// Fields that belong to Step Functions features this interpreter does not
// implement; naming them explains the rejection better than "unknown".
var unsupportedFields = map[string]string{
	"QueryLanguage":                  "JSONata states are not supported",
	"Arguments":                      "JSONata states are not supported",
	"Output":                         "JSONata states are not supported",
	"Assign":                         "workflow variables are not supported",
	"ItemReader":                     "distributed Map ItemReader is not supported",
	"ItemBatcher":                    "distributed Map ItemBatcher is not supported",
	"ResultWriter":                   "distributed Map ResultWriter is not supported",
	"MaxConcurrencyPath":             "MaxConcurrencyPath is not supported",
	"ToleratedFailureCountPath":      "ToleratedFailureCountPath is not supported",
	"ToleratedFailurePercentagePath": "ToleratedFailurePercentagePath is not supported",
	"Label":                          "distributed Map Label is not supported",
}

// Parse validates a definition written in the Amazon States Language and
// returns it. Every problem found is reported as a *DefinitionError naming
// the state and the reason; several are joined with errors.Join.
func Parse(definition []byte) (*StateMachine, error) {
	v, err := decodeJSON(definition)
	if err != nil {
		return nil, &DefinitionError{Reason: fmt.Sprintf("definition is not valid JSON: %v", err)}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, &DefinitionError{Reason: "definition must be a JSON object"}
	}
	p := &parser{}
	m := &StateMachine{definition: slices.Clone(definition)}
	for _, k := range sortedKeys(top) {
		switch k {
		case "StartAt", "States", "Comment", "Version":
		case "TimeoutSeconds":
			m.timeoutSeconds = p.positiveInt(top, k, "")
		case "QueryLanguage":
			if top[k] != "JSONPath" {
				p.fail("", "QueryLanguage %v is not supported; only JSONPath is", top[k])
			}
		default:
			p.fail("", "unknown top-level field %q", k)
		}
	}
	m.comment, _ = top["Comment"].(string)
	m.graph = p.graph(top, "")
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

type parser struct {
	errs []error
}

func (p *parser) fail(where, format string, args ...any) {
	p.errs = append(p.errs, &DefinitionError{Where: where, Reason: fmt.Sprintf(format, args...)})
}

func stateWhere(scope, name string) string {
	w := fmt.Sprintf("state %q", name)
	if scope != "" {
		w = scope + ": " + w
	}
	return w
}

// graph parses StartAt and States of a machine, branch or iterator. scope
// prefixes the location of nested states.
func (p *parser) graph(m map[string]any, scope string) *graph {
	g := &graph{states: map[string]*state{}}
	startAt, ok := m["StartAt"].(string)
	if !ok || startAt == "" {
		p.fail(scope, "StartAt is missing or not a string")
	}
	g.startAt = startAt
	states, ok := m["States"].(map[string]any)
	if !ok || len(states) == 0 {
		p.fail(scope, "States is missing or empty")
		return g
	}
	g.order = sortedKeys(states)
	for _, name := range g.order {
		where := stateWhere(scope, name)
		if name == "" || utf8.RuneCountInString(name) > maxStateNameLength {
			p.fail(where, "state names must be 1 to %d characters", maxStateNameLength)
		}
		def, ok := states[name].(map[string]any)
		if !ok {
			p.fail(where, "state definition must be an object")
			continue
		}
		g.states[name] = p.state(name, def, where)
	}
	if _, ok := states[startAt]; startAt != "" && !ok {
		p.fail(scope, "StartAt names unknown state %q", startAt)
	}
	p.checkTransitions(g, scope)
	return g
}

// checkTransitions verifies every transition target exists and every state
// is reachable from StartAt.
func (p *parser) checkTransitions(g *graph, scope string) {
	for _, name := range g.order {
		s := g.states[name]
		if s == nil {
			return // already reported; reachability would mislead
		}
		for _, t := range s.transitions() {
			if g.states[t] == nil {
				p.fail(stateWhere(scope, name), "Next names unknown state %q", t)
			}
		}
	}
	if g.states[g.startAt] == nil {
		return
	}
	seen := map[string]bool{g.startAt: true}
	queue := []string{g.startAt}
	for len(queue) > 0 {
		s := g.states[queue[0]]
		queue = queue[1:]
		for _, t := range s.transitions() {
			if !seen[t] && g.states[t] != nil {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, name := range g.order {
		if !seen[name] {
			p.fail(stateWhere(scope, name), "state is unreachable from StartAt %q", g.startAt)
		}
	}
}

func (p *parser) state(name string, m map[string]any, where string) *state {
	s := &state{name: name}
	typ, _ := m["Type"].(string)
	allowed, known := allowedFields[typ]
	if !known {
		if typ == "" {
			p.fail(where, "Type is missing")
		} else {
			p.fail(where, "unknown state Type %q", typ)
		}
		return s
	}
	s.typ = typ
	for _, k := range sortedKeys(m) {
		if k == "Type" || k == "Comment" || slices.Contains(allowed, k) {
			continue
		}
		if why, ok := unsupportedFields[k]; ok {
			p.fail(where, "field %q: %s", k, why)
		} else {
			p.fail(where, "field %q is not allowed in a %s state", k, typ)
		}
	}
	p.transition(s, m, where)
	s.inputPath = p.optPath(m, "InputPath", where, false)
	s.outputPath = p.optPath(m, "OutputPath", where, false)
	s.resultPath = p.optPath(m, "ResultPath", where, true)
	s.parameters = p.template(m, "Parameters", where)
	s.resultSelector = p.template(m, "ResultSelector", where)
	if r, ok := m["Result"]; ok {
		s.result, s.hasResult = r, true
	}
	switch typ {
	case typeTask:
		p.task(s, m, where)
	case typeChoice:
		p.choice(s, m, where)
	case typeWait:
		p.wait(s, m, where)
	case typeFail:
		p.failState(s, m, where)
	case typeParallel:
		p.parallel(s, m, where)
	case typeMap:
		p.mapState(s, m, where)
	}
	if _, ok := m["Retry"]; ok {
		s.retry = p.retriers(m["Retry"], where)
	}
	if _, ok := m["Catch"]; ok {
		s.catch = p.catchers(m["Catch"], where)
	}
	return s
}

// transition parses Next and End: a Choice, Succeed or Fail state has
// neither; every other state has exactly one.
func (p *parser) transition(s *state, m map[string]any, where string) {
	next, hasNext := m["Next"]
	end, hasEnd := m["End"]
	if hasNext {
		if n, ok := next.(string); ok && n != "" {
			s.next = n
		} else {
			p.fail(where, "Next must be a non-empty string")
		}
	}
	if hasEnd {
		b, ok := end.(bool)
		if !ok {
			p.fail(where, "End must be a boolean")
		}
		s.end = b
	}
	switch s.typ {
	case typeChoice, typeSucceed, typeFail:
		return // Next/End are rejected as disallowed fields
	}
	switch {
	case s.next != "" && s.end:
		p.fail(where, "%s state has both Next and \"End\": true", s.typ)
	case s.next == "" && !s.end && !hasNext:
		p.fail(where, "%s state has neither Next nor \"End\": true", s.typ)
	}
}

func (p *parser) optPath(m map[string]any, field, where string, reference bool) optPath {
	v, ok := m[field]
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.fail(where, "%s must be a path string or null", field)
		return optPath{}
	}
	var (
		path *jsonPath
		err  error
	)
	if reference {
		path, err = parseReferencePath(s)
		if err == nil && path.context {
			err = fmt.Errorf("%q must select from the state input, not the context object", s)
		}
	} else {
		path, err = parsePath(s)
	}
	if err != nil {
		p.fail(where, "%s: %v", field, err)
		return optPath{}
	}
	return optPath{path: path}
}

func (p *parser) referencePath(m map[string]any, field, where string) *jsonPath {
	v, ok := m[field]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		p.fail(where, "%s must be a path string", field)
		return nil
	}
	path, err := parseReferencePath(s)
	if err != nil {
		p.fail(where, "%s: %v", field, err)
		return nil
	}
	return path
}

func (p *parser) template(m map[string]any, field, where string) *template {
	v, ok := m[field]
	if !ok {
		return nil
	}
	t, err := compileTemplate(v)
	if err != nil {
		p.fail(where, "%s: %v", field, err)
		return nil
	}
	return t
}

// positiveInt reads an optional integer field that must be at least 1.
func (p *parser) positiveInt(m map[string]any, field, where string) int64 {
	v, ok := m[field]
	if !ok {
		return 0
	}
	n, ok := intValue(v)
	if !ok || n < 1 || n > 99999999 {
		p.fail(where, "%s must be an integer between 1 and 99999999", field)
		return 0
	}
	return n
}

func (p *parser) task(s *state, m map[string]any, where string) {
	arn, ok := m["Resource"].(string)
	if !ok || arn == "" {
		p.fail(where, "Task state has no Resource")
		return
	}
	r, err := parseResource(arn)
	if err != nil {
		p.fail(where, "%v", err)
		return
	}
	s.resource = r
	if err := r.validateParameters(s.parameters, m["Parameters"]); err != nil {
		p.fail(where, "%v", err)
	}
	s.timeoutSeconds = p.positiveInt(m, "TimeoutSeconds", where)
	s.timeoutSecondsPath = p.referencePath(m, "TimeoutSecondsPath", where)
	s.heartbeatSeconds = p.positiveInt(m, "HeartbeatSeconds", where)
	s.heartbeatSecondsPath = p.referencePath(m, "HeartbeatSecondsPath", where)
	if _, ok := m["TimeoutSeconds"]; ok && s.timeoutSecondsPath != nil {
		p.fail(where, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
	}
	if _, ok := m["HeartbeatSeconds"]; ok && s.heartbeatSecondsPath != nil {
		p.fail(where, "HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
	}
	if s.heartbeatSeconds > 0 && s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
		p.fail(where, "HeartbeatSeconds (%d) must be smaller than TimeoutSeconds (%d)", s.heartbeatSeconds, s.timeoutSeconds)
	}
}

func (p *parser) choice(s *state, m map[string]any, where string) {
	list, _ := m["Choices"].([]any)
	if len(list) == 0 {
		p.fail(where, "Choice state has no Choices")
	}
	for i, item := range list {
		rule, ok := item.(map[string]any)
		if !ok {
			p.fail(where, "Choices[%d] must be an object", i)
			continue
		}
		r, err := parseChoiceRule(rule, true)
		if err != nil {
			p.fail(where, "Choices[%d]: %v", i, err)
			continue
		}
		s.choices = append(s.choices, r)
	}
	if d, ok := m["Default"]; ok {
		if ds, ok := d.(string); ok && ds != "" {
			s.defaultNext = ds
		} else {
			p.fail(where, "Default must be a non-empty string")
		}
	}
}

func (p *parser) wait(s *state, m map[string]any, where string) {
	count := 0
	for _, f := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := m[f]; ok {
			count++
		}
	}
	if count != 1 {
		p.fail(where, "Wait state must have exactly one of Seconds, SecondsPath, Timestamp and TimestampPath")
	}
	if v, ok := m["Seconds"]; ok {
		n, ok := intValue(v)
		if !ok || n < 0 || n > 99999999 {
			p.fail(where, "Seconds must be an integer between 0 and 99999999")
		} else {
			s.seconds = &n
		}
	}
	if v, ok := m["Timestamp"]; ok {
		str, _ := v.(string)
		t, ok := parseTimestamp(str)
		if !ok {
			p.fail(where, "Timestamp %v is not an RFC 3339 timestamp", v)
		} else {
			s.timestamp = &t
		}
	}
	s.secondsPath = p.referencePath(m, "SecondsPath", where)
	s.timestampPath = p.referencePath(m, "TimestampPath", where)
}

func (p *parser) failState(s *state, m map[string]any, where string) {
	str := func(field string) string {
		v, ok := m[field]
		if !ok {
			return ""
		}
		out, ok := v.(string)
		if !ok {
			p.fail(where, "%s must be a string", field)
		}
		return out
	}
	dyn := func(field string) *dynString {
		v := str(field)
		if v == "" {
			return nil
		}
		d, err := compileDynString(v)
		if err != nil {
			p.fail(where, "%s: %v", field, err)
		}
		return d
	}
	s.errorName, s.cause = str("Error"), str("Cause")
	s.errorPath, s.causePath = dyn("ErrorPath"), dyn("CausePath")
	if _, ok := m["Error"]; ok && m["ErrorPath"] != nil {
		p.fail(where, "Error and ErrorPath are mutually exclusive")
	}
	if _, ok := m["Cause"]; ok && m["CausePath"] != nil {
		p.fail(where, "Cause and CausePath are mutually exclusive")
	}
}

func (p *parser) parallel(s *state, m map[string]any, where string) {
	list, _ := m["Branches"].([]any)
	if len(list) == 0 {
		p.fail(where, "Parallel state has no Branches")
	}
	for i, item := range list {
		scope := fmt.Sprintf("%s: branch %d", where, i)
		b, ok := item.(map[string]any)
		if !ok {
			p.fail(scope, "branch must be an object")
			continue
		}
		p.subgraphFields(b, scope, false)
		s.branches = append(s.branches, p.graph(b, scope))
	}
}

func (p *parser) mapState(s *state, m map[string]any, where string) {
	iter, hasIterator := m["Iterator"]
	proc, hasProcessor := m["ItemProcessor"]
	switch {
	case hasIterator && hasProcessor:
		p.fail(where, "Iterator and ItemProcessor are mutually exclusive")
	case !hasIterator && !hasProcessor:
		p.fail(where, "Map state has neither ItemProcessor nor Iterator")
	}
	body, field := iter, "Iterator"
	if hasProcessor {
		body, field = proc, "ItemProcessor"
	}
	scope := where + ": " + field
	if b, ok := body.(map[string]any); ok {
		p.subgraphFields(b, scope, hasProcessor)
		s.iterator = p.graph(b, scope)
	} else if body != nil {
		p.fail(where, "%s must be an object", field)
	}
	if _, ok := m["Parameters"]; ok {
		if _, ok := m["ItemSelector"]; ok {
			p.fail(where, "Parameters and ItemSelector are mutually exclusive")
		}
		s.itemSelector, s.parameters = s.parameters, nil
	} else {
		s.itemSelector = p.template(m, "ItemSelector", where)
	}
	s.itemsPath = p.referencePath(m, "ItemsPath", where)
	if v, ok := m["MaxConcurrency"]; ok {
		n, ok := intValue(v)
		if !ok || n < 0 || n > math.MaxInt32 {
			p.fail(where, "MaxConcurrency must be a non-negative integer")
		} else {
			s.maxConcurrency = int(n)
		}
	}
	if v, ok := m["ToleratedFailureCount"]; ok {
		n, ok := intValue(v)
		if !ok || n < 0 {
			p.fail(where, "ToleratedFailureCount must be a non-negative integer")
		} else {
			s.toleratedCount = &n
		}
	}
	if v, ok := m["ToleratedFailurePercentage"]; ok {
		f, ok := numberValue(v)
		if !ok || f < 0 || f > 100 {
			p.fail(where, "ToleratedFailurePercentage must be a number between 0 and 100")
		} else {
			s.toleratedPercent = &f
		}
	}
}

// subgraphFields checks the fields of a branch or iterator object.
func (p *parser) subgraphFields(m map[string]any, scope string, processor bool) {
	for _, k := range sortedKeys(m) {
		switch k {
		case "StartAt", "States", "Comment":
		case "ProcessorConfig":
			if !processor {
				p.fail(scope, "field %q is not allowed here", k)
				continue
			}
			cfg, _ := m[k].(map[string]any)
			for _, ck := range sortedKeys(cfg) {
				switch ck {
				case "Mode":
					if mode := cfg[ck]; mode != "INLINE" && mode != "DISTRIBUTED" {
						p.fail(scope, "ProcessorConfig.Mode must be INLINE or DISTRIBUTED, got %v", mode)
					}
				case "ExecutionType":
				default:
					p.fail(scope, "unknown field ProcessorConfig.%s", ck)
				}
			}
		default:
			p.fail(scope, "field %q is not allowed here", k)
		}
	}
}

func (p *parser) errorEquals(v any, where, what string) []string {
	list, _ := v.([]any)
	if len(list) == 0 {
		p.fail(where, "%s: ErrorEquals must be a non-empty array of error names", what)
		return nil
	}
	names := make([]string, 0, len(list))
	for _, item := range list {
		name, ok := item.(string)
		if !ok || name == "" {
			p.fail(where, "%s: ErrorEquals entries must be non-empty strings", what)
			continue
		}
		if strings.HasPrefix(name, "States.") && !knownStatesErrors[name] {
			p.fail(where, "%s: unknown error name %q", what, name)
		}
		names = append(names, name)
	}
	if slices.Contains(names, ErrorAll) && len(names) > 1 {
		p.fail(where, "%s: States.ALL must appear alone in ErrorEquals", what)
	}
	return names
}

func (p *parser) retriers(v any, where string) []*retrier {
	list, ok := v.([]any)
	if !ok {
		p.fail(where, "Retry must be an array")
		return nil
	}
	out := make([]*retrier, 0, len(list))
	for i, item := range list {
		what := fmt.Sprintf("Retry[%d]", i)
		m, ok := item.(map[string]any)
		if !ok {
			p.fail(where, "%s must be an object", what)
			continue
		}
		r := &retrier{interval: 1, maxAttempts: 3, backoff: 2}
		for _, k := range sortedKeys(m) {
			val := m[k]
			switch k {
			case "ErrorEquals":
				r.errorEquals = p.errorEquals(val, where, what)
			case "IntervalSeconds":
				n, ok := intValue(val)
				if !ok || n < 1 || n > 99999999 {
					p.fail(where, "%s: IntervalSeconds must be an integer between 1 and 99999999", what)
				}
				r.interval = float64(n)
			case "MaxAttempts":
				n, ok := intValue(val)
				if !ok || n < 0 || n > 99999999 {
					p.fail(where, "%s: MaxAttempts must be an integer between 0 and 99999999", what)
				}
				r.maxAttempts = int(n)
			case "BackoffRate":
				f, ok := numberValue(val)
				if !ok || f < 1 {
					p.fail(where, "%s: BackoffRate must be a number of at least 1.0", what)
				}
				r.backoff = f
			case "MaxDelaySeconds":
				n, ok := intValue(val)
				if !ok || n < 1 || n > 31622400 {
					p.fail(where, "%s: MaxDelaySeconds must be an integer between 1 and 31622400", what)
				}
				r.maxDelay = float64(n)
			case "JitterStrategy":
				switch val {
				case "FULL":
					r.jitter = true
				case "NONE":
				default:
					p.fail(where, "%s: JitterStrategy must be FULL or NONE", what)
				}
			case "Comment":
			default:
				p.fail(where, "%s: unknown field %q", what, k)
			}
		}
		if _, ok := m["ErrorEquals"]; !ok {
			p.fail(where, "%s has no ErrorEquals", what)
		}
		if slices.Contains(r.errorEquals, ErrorAll) && i != len(list)-1 {
			p.fail(where, "%s: States.ALL must appear only in the last retrier", what)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(v any, where string) []*catcher {
	list, ok := v.([]any)
	if !ok {
		p.fail(where, "Catch must be an array")
		return nil
	}
	out := make([]*catcher, 0, len(list))
	for i, item := range list {
		what := fmt.Sprintf("Catch[%d]", i)
		m, ok := item.(map[string]any)
		if !ok {
			p.fail(where, "%s must be an object", what)
			continue
		}
		c := &catcher{}
		for _, k := range sortedKeys(m) {
			switch k {
			case "ErrorEquals":
				c.errorEquals = p.errorEquals(m[k], where, what)
			case "Next":
				c.next, _ = m[k].(string)
			case "ResultPath":
				c.resultPath = p.optPath(m, k, where, true)
			case "Comment":
			default:
				p.fail(where, "%s: unknown field %q", what, k)
			}
		}
		if _, ok := m["ErrorEquals"]; !ok {
			p.fail(where, "%s has no ErrorEquals", what)
		}
		if c.next == "" {
			p.fail(where, "%s has no Next", what)
		}
		if slices.Contains(c.errorEquals, ErrorAll) && i != len(list)-1 {
			p.fail(where, "%s: States.ALL must appear only in the last catcher", what)
		}
		out = append(out, c)
	}
	return out
}
