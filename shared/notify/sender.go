package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Sender delivers one notification type. Send returns nil once the
// receiver accepted the notification, a *PermanentError when trying again
// cannot help (a 4xx answer, a missing setting), and any other error when
// it may (a 5xx answer, a network error, a timeout).
type Sender interface {
	Send(ctx context.Context, j Job) error
}

// PermanentError is a failure that retrying will not mend.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

func retryable(err error) bool {
	var p *PermanentError
	return err != nil && !errors.As(err, &p)
}

// HTTPDoer sends HTTP requests; *http.Client is one.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Senders holds the sender of each notification type.
type Senders map[string]Sender

// Types lists the notification types, sorted.
func (s Senders) Types() []string { return slices.Sorted(maps.Keys(s)) }

// postJSON posts body and sorts the answer: 2xx is delivered, 408, 429 and
// 5xx may be tried again, any other answer is permanent. It returns the
// answer's body.
func postJSON(ctx context.Context, client HTTPDoer, url string, headers map[string]string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, permanent("post to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post to %s: %w", url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	err = fmt.Errorf("post to %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(answer)))
	if resp.StatusCode >= 500 || resp.StatusCode == 408 || resp.StatusCode == 429 {
		return nil, err
	}
	return nil, &PermanentError{Err: err}
}
