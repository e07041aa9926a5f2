// Package gateerr writes failures in Spinnaker Gate's error JSON,
//
//	{"status":400,"error":"Bad Request","message":"…","timestamp":1700000000000}
//
// so that every HTTP surface of gennaker — the API, the handlers mounted on
// it, and the API Gateway adapter in front of it — answers a failure in the
// one shape Gate's clients parse. It imports only the standard library, so
// any of them can use it.
package gateerr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Body is Gate's error shape, plus the list of problems Front50 adds for an
// invalid pipeline.
type Body struct {
	Status    int      `json:"status"`
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	Timestamp int64    `json:"timestamp"`
	Errors    []string `json:"errors,omitempty"`
}

// Write answers status with message, stamped at now, listing problems (if
// any) one by one under "errors". It fails only when w does.
func Write(w http.ResponseWriter, status int, message string, now time.Time, problems ...string) error {
	body := Body{
		Status:    status,
		Error:     StatusText(status),
		Message:   message,
		Timestamp: now.UnixMilli(),
		Errors:    problems,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Messages quote user input such as stage names; <, > and & stay as
	// sent so that the message reads as written.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("encode error response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// StatusText is the reason phrase Gate puts in "error", including nginx's
// 499 for a client that went away, which net/http does not name.
func StatusText(code int) string {
	if code == 499 {
		return "Client Closed Request"
	}
	return http.StatusText(code)
}
