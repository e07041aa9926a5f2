package asl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// A callback task (".waitForTaskToken") hands out a task token and waits
// for SendTaskSuccess, SendTaskFailure or a timeout. The token encodes the
// execution and frame it belongs to, so the runtime can tell a token it
// never issued from one whose task is over.

// pendingTask is a callback task waiting for its token.
type pendingTask struct {
	token   string
	x       *execution
	frameID string
	outcome chan delivery // SendTaskSuccess/Failure hand over here (buffered 1)
	beat    chan struct{} // SendTaskHeartbeat (buffered 1)
	gone    chan struct{} // closed when the task stops waiting
	once    sync.Once
}

// delivery is a callback outcome handed to the waiting frame, which records
// it in the journal before acknowledging.
type delivery struct {
	outcome outcomeRecord
	ack     chan error
}

func newPendingTask(token string, x *execution, frameID string) *pendingTask {
	return &pendingTask{
		token:   token,
		x:       x,
		frameID: frameID,
		outcome: make(chan delivery, 1),
		beat:    make(chan struct{}, 1),
		gone:    make(chan struct{}),
	}
}

// newToken issues a token for a callback task of frame frameID.
func newToken(execArn, frameID string) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	raw := execArn + "\n" + frameID + "\n" + hex.EncodeToString(nonce[:])
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// tokenExecution decodes the execution ARN a token belongs to.
func tokenExecution(token string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], arnPrefix+"execution:") {
		return "", false
	}
	return parts[0], true
}

// pendingFor returns the registration of the frame's current token,
// registering it if the frame is the first to wait on it.
func (r *Runtime) pendingFor(f *frame) *pendingTask {
	if p := f.x.takePending(f.id, f.pos.Token); p != nil {
		return p
	}
	p := newPendingTask(f.pos.Token, f.x, f.id)
	r.mu.Lock()
	r.tokens[p.token] = p
	r.mu.Unlock()
	return p
}

// claim unregisters p; only the caller that gets true may complete it.
func (r *Runtime) claim(p *pendingTask) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens[p.token] != p {
		return false
	}
	delete(r.tokens, p.token)
	return true
}

// abandon stops p waiting: its token no longer works.
func (r *Runtime) abandon(p *pendingTask) {
	r.claim(p)
	p.once.Do(func() { close(p.gone) })
}

// claimToken takes the pending task of token for an outcome.
func (r *Runtime) claimToken(ctx context.Context, token string) (*pendingTask, error) {
	r.mu.Lock()
	p := r.tokens[token]
	if p != nil {
		delete(r.tokens, token)
	}
	r.mu.Unlock()
	if p == nil {
		return nil, r.tokenError(ctx, token)
	}
	return p, nil
}

// tokenError explains why a token has no waiting task.
func (r *Runtime) tokenError(ctx context.Context, token string) error {
	arn, ok := tokenExecution(token)
	if !ok {
		return &TaskDoesNotExist{Token: token}
	}
	if _, err := r.describe(ctx, arn); err != nil {
		return &TaskDoesNotExist{Token: token}
	}
	return &TaskTimedOut{Token: token}
}

// SendTaskSuccess completes the callback task holding taskToken with output
// as its result. When it returns nil the outcome is durable.
func (r *Runtime) SendTaskSuccess(ctx context.Context, taskToken string, output json.RawMessage) error {
	v, err := decodeJSON(output)
	if err != nil {
		return fmt.Errorf("send task success: %w", &InvalidOutput{Reason: err.Error()})
	}
	b, _ := encodeJSON(v)
	if err := r.deliver(ctx, taskToken, outcomeRecord{Output: b}); err != nil {
		return fmt.Errorf("send task success: %w", err)
	}
	return nil
}

// SendTaskFailure fails the callback task holding taskToken with the given
// error name and cause, which its Retry and Catch route on.
func (r *Runtime) SendTaskFailure(ctx context.Context, taskToken, errorName, cause string) error {
	if err := r.deliver(ctx, taskToken, outcomeRecord{Failed: true, Error: errorName, Cause: cause}); err != nil {
		return fmt.Errorf("send task failure: %w", err)
	}
	return nil
}

// SendTaskHeartbeat restarts the HeartbeatSeconds timer of the callback task
// holding taskToken.
func (r *Runtime) SendTaskHeartbeat(ctx context.Context, taskToken string) error {
	if err := r.checkOpen(); err != nil {
		return fmt.Errorf("send task heartbeat: %w", err)
	}
	r.mu.Lock()
	p := r.tokens[taskToken]
	r.mu.Unlock()
	if p == nil {
		return fmt.Errorf("send task heartbeat: %w", r.tokenError(ctx, taskToken))
	}
	select {
	case p.beat <- struct{}{}:
	default: // a beat is already pending
	}
	return nil
}

func (r *Runtime) deliver(ctx context.Context, token string, o outcomeRecord) error {
	if err := r.checkOpen(); err != nil {
		return err
	}
	p, err := r.claimToken(ctx, token)
	if err != nil {
		return err
	}
	d := delivery{outcome: o, ack: make(chan error, 1)}
	p.outcome <- d // never blocks: only the claimer sends, once
	select {
	case err := <-d.ack:
		return err
	case <-p.gone:
		select {
		case err := <-d.ack:
			return err
		default:
		}
		if r.ctx.Err() != nil {
			return ErrClosed
		}
		return &TaskTimedOut{Token: token}
	case <-ctx.Done():
		return ctx.Err()
	}
}
