package awslambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// stageArtifact is the plugin's reference to an artifact: an expected
// artifact's id, or the artifact itself.
type stageArtifact struct {
	ID       string          `json:"id"`
	Account  string          `json:"account"`
	Artifact *model.Artifact `json:"artifact"`
}

// text is the artifact's content. Only artifacts that carry their content
// (embedded/base64) are read; anything else is an error that says what to
// use instead, with the JSON path under field.
func (a *stageArtifact) text(field string) (string, error) {
	if a.Artifact == nil {
		if a.ID != "" {
			return "", fieldErr(field+".id", "expected artifact %q cannot be resolved here yet; put the artifact in %s.artifact", a.ID, field)
		}
		return "", nil
	}
	if a.Artifact.Type != embeddedArtifact {
		return "", fieldErr(field+".artifact.type", "%q is not supported; use %s with the content in reference", a.Artifact.Type, embeddedArtifact)
	}
	b, err := base64.StdEncoding.DecodeString(a.Artifact.Reference)
	if err != nil {
		return "", fieldErr(field+".artifact.reference", "must be base64: %v", err)
	}
	return string(b), nil
}

// payloadSource is where an invocation's payload comes from: the plugin's
// payloadArtifact, else lambdaPayload or payload (JSON text).
type payloadSource struct {
	Payload         string         `json:"payload"`
	LambdaPayload   string         `json:"lambdaPayload"`
	PayloadArtifact *stageArtifact `json:"payloadArtifact"`
}

// payload is the bytes to invoke with; nil sends none.
func (s *payloadSource) payload() ([]byte, error) {
	if s.PayloadArtifact != nil {
		t, err := s.PayloadArtifact.text("payloadArtifact")
		if err != nil || t != "" {
			return []byte(t), err
		}
	}
	if s.LambdaPayload != "" {
		return []byte(s.LambdaPayload), nil
	}
	if s.Payload != "" {
		return []byte(s.Payload), nil
	}
	return nil, nil
}

// check reports a payload that cannot be read.
func (s *payloadSource) check(exprs stages.Expressions, p *stages.Problems) {
	if exprs.Has("payloadArtifact") {
		return
	}
	if _, err := s.payload(); err != nil {
		addErr(p, err)
	}
}

// answer is what an invocation returned, read as the plugin reads it: the
// response text, its statusCode and body when it is an API Gateway-style
// object, and errorMessage when the function failed.
type answer struct {
	Response     string `json:"response"`
	Body         string `json:"body,omitempty"`
	StatusCode   int    `json:"statusCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	FunctionErr  string `json:"functionError,omitempty"`
	Version      string `json:"executedVersion,omitempty"`
}

func read(inv *providers.Invocation) answer {
	a := answer{Response: string(inv.Payload), FunctionErr: inv.FunctionError, Version: inv.ExecutedVersion}
	var obj map[string]any
	if json.Unmarshal(inv.Payload, &obj) == nil {
		if n, ok := obj["statusCode"].(float64); ok {
			a.StatusCode = int(n)
		} else if s, ok := obj["statusCode"].(string); ok {
			a.StatusCode, _ = strconv.Atoi(s)
		}
		if b, ok := obj["body"].(string); ok {
			a.Body = b
		} else if b, ok := obj["payload"].(string); ok {
			a.Body = b
		}
		if m, ok := obj["errorMessage"].(string); ok {
			a.ErrorMessage = m
		}
	}
	if inv.FunctionError != "" && a.ErrorMessage == "" {
		a.ErrorMessage = a.Response
	}
	return a
}

// failure says why the answer is not a healthy one, or "" when it is: the
// function raised an error, answered an HTTP status of 400 or more, or did
// not answer expected (compared without whitespace, as the plugin does).
func (a answer) failure(expected *string) string {
	switch {
	case a.FunctionErr != "":
		return fmt.Sprintf("the function failed (%s): %s", a.FunctionErr, a.ErrorMessage)
	case a.ErrorMessage != "":
		return "the function answered an error: " + a.ErrorMessage
	case a.StatusCode >= 400:
		return fmt.Sprintf("the function answered statusCode %d: %s", a.StatusCode, a.Response)
	}
	if expected != nil {
		actual := a.Body
		if actual == "" {
			actual = a.Response
		}
		if squeeze(actual) != squeeze(*expected) {
			return fmt.Sprintf("the function answered %s, not the expected %s", actual, *expected)
		}
	}
	return ""
}

func squeeze(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// versionNumber is a version number written as a string or a number.
type versionNumber string

// UnmarshalJSON implements json.Unmarshaler.
func (v *versionNumber) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = versionNumber(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("must be a version number")
	}
	*v = versionNumber(n.String())
	return nil
}
