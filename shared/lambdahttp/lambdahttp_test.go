package lambdahttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHTTPAPIEventReachesTheHandlerAsSent(t *testing.T) {
	raw, err := os.ReadFile("testdata/post-pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var seen struct {
		method, path, query, body, cookie, ctype string
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.method, seen.path, seen.query, seen.body = r.Method, r.URL.Path, r.URL.Query().Get("user"), string(b)
		seen.cookie, seen.ctype = r.Header.Get("Cookie"), r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"ref":"/pipelines/01J"}`))
	})
	resp, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if seen.method != "POST" || seen.path != "/pipelines/checkout/Deploy to prod" || seen.query != "jane" {
		t.Fatalf("request seen as %s %s ?user=%s", seen.method, seen.path, seen.query)
	}
	if seen.body != `{"type":"manual","parameters":{"env":"prod"}}` || seen.cookie != "session=abc" || seen.ctype != "application/json" {
		t.Fatalf("body %q cookie %q content-type %q", seen.body, seen.cookie, seen.ctype)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Body != `{"ref":"/pipelines/01J"}` || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("response %+v", resp)
	}
	if len(resp.Cookies) != 1 || resp.Cookies[0] != "a=1" {
		t.Fatalf("cookies %v", resp.Cookies)
	}
}

func TestBadBase64IsABadRequest(t *testing.T) {
	resp, err := Handler(http.NotFoundHandler())(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/x", Body: "%%%", IsBase64Encoded: true})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	// The answer is in Gate's error shape, as the API's own errors are.
	var body struct {
		Status    int    `json:"status"`
		Error     string `json:"error"`
		Message   string `json:"message"`
		Timestamp int64  `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("body %q (Content-Type %q) is not JSON: %v", resp.Body, resp.Headers["Content-Type"], err)
	}
	if body.Status != 400 || body.Error != "Bad Request" || !strings.Contains(body.Message, "base64") || body.Timestamp == 0 {
		t.Errorf("error body = %+v, want status 400, Bad Request, a message about base64 and a timestamp", body)
	}
}
