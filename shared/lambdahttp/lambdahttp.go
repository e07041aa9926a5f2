// Package lambdahttp serves a net/http handler behind API Gateway: it turns
// an HTTP API (payload format 2.0) event into an *http.Request and the
// handler's response into the event API Gateway expects. It is the one line
// at the edge between Lambda and the API the local runtime serves directly.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/auth"
)

// Handler adapts h to API Gateway HTTP API events.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		rec := httptest.NewRecorder()
		req, err := Request(ctx, ev)
		if err != nil {
			// An event no request can be built from never reaches h, so the
			// adapter answers it itself, in the shape h answers errors in.
			_ = gateerr.Write(rec, http.StatusBadRequest, err.Error(), time.Now())
		} else {
			h.ServeHTTP(rec, req)
		}
		return Response(rec.Result().StatusCode, rec.Header(), rec.Body.Bytes()), nil
	}
}

// Request builds the request an HTTP API event describes.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
		body = b
	}
	raw := ev.RawPath
	if raw == "" {
		raw = "/"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", ev.RawPath, err)
	}
	u.RawQuery = ev.RawQueryString
	ctx = withPrincipal(ctx, ev.RequestContext.Authorizer)
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, ev.RawPath, err)
	}
	for k, v := range ev.Headers {
		// HTTP API joins repeated headers with commas; keep them as one value.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	return req, nil
}

// withPrincipal puts who API Gateway's authorizer established into ctx,
// where the API looks for the caller (shared/auth); nothing the caller
// sends can put it there.
func withPrincipal(ctx context.Context, a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) context.Context {
	if a == nil {
		return ctx
	}
	var p auth.Principal
	if a.JWT != nil {
		p.Claims = a.JWT.Claims
	}
	if a.IAM != nil {
		p.ARN = a.IAM.UserARN
	}
	if p.ARN == "" && len(p.Claims) == 0 {
		return ctx
	}
	return auth.WithPrincipal(ctx, p)
}

// Response builds the event API Gateway expects from a handler's response.
func Response(status int, header http.Header, body []byte) events.APIGatewayV2HTTPResponse {
	out := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, v := range header {
		if strings.EqualFold(k, "Set-Cookie") {
			out.Cookies = append(out.Cookies, v...)
			continue
		}
		out.Headers[k] = strings.Join(v, ",")
	}
	if utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out
}
