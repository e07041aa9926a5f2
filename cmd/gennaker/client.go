package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/runtime/env"
)

// client talks to the gennaker API.
type client struct {
	base string
	http *http.Client
	user string
	// token authenticates the requests (Authorization: Bearer).
	token string
	// warn receives the warnings an answer carries (HTTP Warning headers),
	// one line each; nil drops them.
	warn io.Writer
}

func newClient(base string) *client {
	u := os.Getenv(env.User)
	if u == "" {
		u = os.Getenv("USER")
	}
	return &client{
		base:  strings.TrimRight(base, "/"),
		http:  &http.Client{Timeout: 60 * time.Second},
		user:  u,
		token: strings.TrimSpace(os.Getenv(env.Token)),
	}
}

// printWarnings shows the warnings of an answer: Warning headers of the form
// `299 gennaker "text"`.
func (c *client) printWarnings(values []string) {
	if c.warn == nil {
		return
	}
	for _, v := range values {
		text := v
		if _, rest, ok := strings.Cut(v, " gennaker "); ok {
			if unq, err := strconv.Unquote(rest); err == nil {
				text = unq
			}
		}
		fmt.Fprintf(c.warn, "warning: %s\n", text)
	}
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Message string
	Errors  []string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// do sends a request with body (JSON-encoded unless it is []byte) and
// decodes a JSON answer into out, if out is not nil.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("bad API URL %q: %w", c.base, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" {
		req.Header.Set("X-SPINNAKER-USER", c.user)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("cannot reach the gennaker API at %s: is 'gennaker up' running? (set --api or GENNAKER_API to use another address)", c.base)
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	c.printWarnings(resp.Header.Values("Warning"))
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(data))
		}
		if resp.StatusCode == http.StatusUnauthorized {
			if c.token == "" {
				ae.Message += "; set " + env.Token + " to your token from the file of gennaker up --auth"
			} else {
				ae.Message += "; the token in " + env.Token + " was refused"
			}
		}
		return ae
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// Wire types: the parts of the API's answers the CLI reads.

type application struct {
	Name           string `json:"name"`
	Email          string `json:"email,omitempty"`
	Description    string `json:"description,omitempty"`
	CloudProviders any    `json:"cloudProviders,omitempty"`
	CreateTs       string `json:"createTs,omitempty"`
	UpdateTs       string `json:"updateTs,omitempty"`
	User           string `json:"user,omitempty"`
}

type pipelineConfig struct {
	ID             string            `json:"id"`
	Application    string            `json:"application"`
	Name           string            `json:"name"`
	Stages         []json.RawMessage `json:"stages"`
	UpdateTs       string            `json:"updateTs"`
	LastModifiedBy string            `json:"lastModifiedBy"`
	Disabled       bool              `json:"disabled"`
	Version        int               `json:"version"`
}

type execution struct {
	ID               string         `json:"id"`
	Application      string         `json:"application"`
	Name             string         `json:"name"`
	PipelineConfigID string         `json:"pipelineConfigId"`
	Status           string         `json:"status"`
	BuildTime        int64          `json:"buildTime"`
	StartTime        int64          `json:"startTime"`
	EndTime          int64          `json:"endTime"`
	Trigger          map[string]any `json:"trigger"`
	Stages           []stage        `json:"stages"`
	// Cost is what the run cost (or would cost) on AWS; nil from a server
	// that does not report it.
	Cost *cost.Cost `json:"cost"`
}

type stage struct {
	ID            string         `json:"id"`
	RefID         string         `json:"refId"`
	Type          string         `json:"type"`
	Name          string         `json:"name"`
	Status        string         `json:"status"`
	StartTime     int64          `json:"startTime"`
	EndTime       int64          `json:"endTime"`
	Context       map[string]any `json:"context"`
	ParentStageID string         `json:"parentStageId"`
}

// failure returns the error a stage recorded, in Spinnaker's place for it.
func (s *stage) failure() string {
	exc, _ := s.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	if errs, ok := details["errors"].([]any); ok && len(errs) > 0 {
		parts := make([]string, 0, len(errs))
		for _, e := range errs {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, "; ")
	}
	if msg, ok := details["error"].(string); ok {
		return msg
	}
	return ""
}

func (c *client) execution(ctx context.Context, id string) (*execution, error) {
	var e execution
	if err := c.do(ctx, http.MethodGet, "/pipelines/"+seg(id), nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// pipelineConfig returns an application's pipeline by name.
func (c *client) pipelineConfig(ctx context.Context, app, name string) (*pipelineConfig, error) {
	var p pipelineConfig
	err := c.do(ctx, http.MethodGet, "/applications/"+seg(app)+"/pipelineConfigs/"+seg(name), nil, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// runTask posts an Orca task and checks it succeeded.
func (c *client) runTask(ctx context.Context, app, description string, job map[string]any) error {
	var ref struct {
		Ref string `json:"ref"`
	}
	body := map[string]any{"application": app, "description": description, "job": []any{job}}
	if err := c.do(ctx, http.MethodPost, "/tasks", body, &ref); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var t struct {
			Status string `json:"status"`
		}
		if err := c.do(ctx, http.MethodGet, ref.Ref, nil, &t); err != nil {
			return err
		}
		switch t.Status {
		case "SUCCEEDED":
			return nil
		case "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE":
			return fmt.Errorf("task %s ended %s", ref.Ref, t.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("task %s is still %s after a minute", ref.Ref, t.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
