package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Journal persists runtime state so a restarted runtime resumes every
// execution. Implemented by our store (bbolt locally, DynamoDB in the cloud);
// journaltest.NewMemory is an in-memory one, and journaltest.Run is the
// conformance suite every implementation must pass.
type Journal interface {
	// Put stores value under key, replacing any previous value. The write is
	// durable when Put returns.
	Put(ctx context.Context, key string, value []byte) error
	// Get returns the value under key; found is false when there is none.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Scan calls fn for every key with the given prefix, in key order.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

// Journal key layout. Every key starts with "asl/", so the runtime can share
// a store with other data.
//
//	asl/sm/<name>                      machineRecord: a registered state machine
//	asl/def/<sha256 of definition>     the definition text, shared by versions
//	asl/ex/<execution ARN>             executionRecord: status, input, output
//	asl/fr/<execution ARN>/<frame ID>  frameRecord: where one running frame is
//
// A frame is the root of an execution ("r") or one Parallel branch or Map
// iteration, whose ID extends its parent's: "r/3.1" is branch (or item) 1 of
// the Parallel (or Map) the root entered as its third child generation.
// Frame records exist only while the execution runs; they are deleted when
// it ends, and stale ones are swept by Start.
const (
	keyMachinePrefix    = "asl/sm/"
	keyDefinitionPrefix = "asl/def/"
	keyExecutionPrefix  = "asl/ex/"
	keyFramePrefix      = "asl/fr/"
)

func machineKey(name string) string      { return keyMachinePrefix + name }
func definitionKey(hash string) string   { return keyDefinitionPrefix + hash }
func executionKey(arn string) string     { return keyExecutionPrefix + arn }
func framesPrefix(execArn string) string { return keyFramePrefix + execArn + "/" }
func frameKey(execArn, id string) string { return framesPrefix(execArn) + id }

// machineRecord is a registered state machine.
type machineRecord struct {
	Name           string    `json:"name"`
	DefinitionHash string    `json:"definitionHash"`
	CreationDate   time.Time `json:"creationDate"`
}

// executionRecord is an execution's summary, written when it starts and when
// it ends.
type executionRecord struct {
	Arn             string          `json:"arn"`
	Name            string          `json:"name"`
	StateMachineArn string          `json:"stateMachineArn"`
	DefinitionHash  string          `json:"definitionHash"`
	Status          ExecutionStatus `json:"status"`
	Input           json.RawMessage `json:"input"`
	Output          json.RawMessage `json:"output,omitempty"`
	Error           string          `json:"error,omitempty"`
	Cause           string          `json:"cause,omitempty"`
	StartDate       time.Time       `json:"startDate"`
	StopDate        time.Time       `json:"stopDate,omitzero"`
	Events          int64           `json:"events"`
}

// frameRecord is the durable position of one frame: the state it is in, that
// state's raw input, and whatever the state needs to resume exactly (retry
// counters, the deadline of a Wait or retry back-off, the task token of a
// callback task, the child generation of a Parallel or Map). A finished
// child frame records its output or error until its parent collects it.
type frameRecord struct {
	State        string          `json:"s,omitempty"`
	Input        json.RawMessage `json:"i,omitempty"`
	Entered      time.Time       `json:"t,omitzero"`
	EnteredEvent int64           `json:"te,omitempty"`
	Retries      []int           `json:"r,omitempty"`
	RetryCount   int             `json:"rc,omitempty"`
	NotBefore    time.Time       `json:"nb,omitzero"`
	Seq          int             `json:"q,omitempty"`
	Gen          int             `json:"g,omitempty"`
	Token        string          `json:"tk,omitempty"`
	Waiting      bool            `json:"w,omitempty"`
	TaskStarted  time.Time       `json:"ts,omitzero"`
	Outcome      *outcomeRecord  `json:"o,omitempty"`
	Done         bool            `json:"d,omitempty"`
	Failed       bool            `json:"f,omitempty"`
	Output       json.RawMessage `json:"out,omitempty"`
	Error        string          `json:"e,omitempty"`
	Cause        string          `json:"c,omitempty"`
	Events       int64           `json:"ev"`
}

// outcomeRecord is a callback outcome accepted by SendTaskSuccess or
// SendTaskFailure but not yet acted on.
type outcomeRecord struct {
	Output json.RawMessage `json:"out,omitempty"`
	Error  string          `json:"e,omitempty"`
	Cause  string          `json:"c,omitempty"`
	Failed bool            `json:"f,omitempty"`
}

// parentFrame splits a frame ID into its parent's ID and the child
// generation it belongs to; ok is false for the root.
func parentFrame(id string) (parent string, gen int, ok bool) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return "", 0, false
	}
	genText, _, _ := strings.Cut(id[i+1:], ".")
	gen, err := strconv.Atoi(genText)
	if err != nil {
		return "", 0, false
	}
	return id[:i], gen, true
}

func childFrameID(parent string, gen, index int) string {
	return parent + "/" + strconv.Itoa(gen) + "." + strconv.Itoa(index)
}

// liveFrames keeps the records that a resumed execution will use: the root,
// and recursively the children of the generation each live Parallel or Map
// frame is waiting on. Others are left over from finished or retried states.
func liveFrames(recs map[string]*frameRecord) map[string]*frameRecord {
	children := map[string][]string{}
	for id := range recs {
		if parent, _, ok := parentFrame(id); ok {
			children[parent] = append(children[parent], id)
		}
	}
	live := map[string]*frameRecord{}
	var walk func(id string)
	walk = func(id string) {
		rec := recs[id]
		live[id] = rec
		if rec.Done || rec.Gen == 0 {
			return
		}
		for _, child := range children[id] {
			if _, gen, _ := parentFrame(child); gen == rec.Gen {
				walk(child)
			}
		}
	}
	if _, ok := recs[rootFrameID]; ok {
		walk(rootFrameID)
	}
	return live
}

// putJSON marshals v and stores it, retrying briefly: a journal write that
// keeps failing stalls the execution, which resumes on the next Start.
func putJSON(ctx context.Context, j Journal, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	var lastErr error
	for attempt, backoff := 0, 10*time.Millisecond; attempt < 3; attempt, backoff = attempt+1, backoff*10 {
		if lastErr = j.Put(ctx, key, b); lastErr == nil {
			return nil
		}
		if attempt < 2 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return fmt.Errorf("journal put %s: %w", key, lastErr)
			}
		}
	}
	return fmt.Errorf("journal put %s: %w", key, lastErr)
}

func getJSON(ctx context.Context, j Journal, key string, v any) (bool, error) {
	b, found, err := j.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("journal get %s: %w", key, err)
	}
	if !found {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}
