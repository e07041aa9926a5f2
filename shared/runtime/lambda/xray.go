package lambda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// X-Ray without its SDK. Lambda's active tracing opens each invocation's
// segment; gennaker adds subsegments to it — one per step, annotated with
// the run and stage, and one per AWS call — by sending them to the X-Ray
// daemon Lambda runs beside the function, as the SDK would. The SDK itself
// links gRPC and the whole of aws-sdk-go v1, which made every function
// 10 MB larger.

// traceHeaderKey is where the Lambda runtime puts the invocation's trace
// header in the handler's context.
const traceHeaderKey = "x-amzn-trace-id"

// daemonAddressVar is the X-Ray daemon's UDP address, set by Lambda.
const daemonAddressVar = "AWS_XRAY_DAEMON_ADDRESS"

// traceHeader is the invocation's X-Ray trace header, parsed.
type traceHeader struct {
	root, parent string
	sampled      bool
}

func traceOf(ctx context.Context) (traceHeader, bool) {
	raw, _ := ctx.Value(traceHeaderKey).(string)
	if raw == "" {
		raw = os.Getenv("_X_AMZN_TRACE_ID")
	}
	var h traceHeader
	for _, part := range strings.Split(raw, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			h.root = v
		case "Parent":
			h.parent = v
		case "Sampled":
			h.sampled = v == "1"
		}
	}
	return h, h.root != ""
}

// subsegment is one X-Ray subsegment document.
type subsegment struct {
	Name        string         `json:"name"`
	ID          string         `json:"id"`
	TraceID     string         `json:"trace_id"`
	ParentID    string         `json:"parent_id"`
	Type        string         `json:"type"`
	StartTime   float64        `json:"start_time"`
	EndTime     float64        `json:"end_time"`
	Namespace   string         `json:"namespace,omitempty"`
	Annotations map[string]any `json:"annotations,omitempty"`
	AWS         map[string]any `json:"aws,omitempty"`
	Fault       bool           `json:"fault,omitempty"`
}

type spanKey struct{}

// span is a subsegment being timed; nested spans name it as their parent.
type span struct {
	seg subsegment
	mu  sync.Mutex
}

// startSpan opens a subsegment of the invocation's segment (or of the
// span the context already carries); nil when the invocation is not
// sampled or not traced.
func startSpan(ctx context.Context, name string) (context.Context, *span) {
	h, ok := traceOf(ctx)
	if !ok || !h.sampled || os.Getenv(daemonAddressVar) == "" {
		return ctx, nil
	}
	parent := h.parent
	if p, ok := ctx.Value(spanKey{}).(*span); ok && p != nil {
		parent = p.seg.ID
	}
	s := &span{seg: subsegment{Name: name, ID: newSegmentID(), TraceID: h.root, ParentID: parent, Type: "subsegment", StartTime: epoch(time.Now())}}
	return context.WithValue(ctx, spanKey{}, s), s
}

func (s *span) annotate(k string, v any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seg.Annotations == nil {
		s.seg.Annotations = map[string]any{}
	}
	s.seg.Annotations[k] = v
}

// end closes the subsegment and sends it to the daemon; a daemon that
// cannot be reached loses the subsegment, never the step.
func (s *span) end(failed bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.seg.EndTime = epoch(time.Now())
	s.seg.Fault = failed
	doc, err := json.Marshal(s.seg)
	s.mu.Unlock()
	if err != nil {
		return
	}
	addr := os.Getenv(daemonAddressVar)
	// "udp:host:port tcp:host:port" or "host:port".
	for _, f := range strings.Fields(addr) {
		if rest, ok := strings.CutPrefix(f, "udp:"); ok {
			addr = rest
		}
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.Write(append([]byte("{\"format\": \"json\", \"version\": 1}\n"), doc...))
}

func newSegmentID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// traceAWSCalls is an AWS SDK client option: each call is a subsegment of
// the span (or invocation) its context belongs to.
func traceAWSCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gennakerXRay",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
			ctx, s := startSpan(ctx, service)
			if s != nil {
				s.seg.Namespace = "aws"
				s.seg.AWS = map[string]any{"operation": op}
			}
			out, md, err := next.HandleInitialize(ctx, in)
			s.end(err != nil)
			return out, md, err
		}), middleware.Before)
}
