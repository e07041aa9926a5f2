package dynamodb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
)

var tablePrefixes atomic.Int64

// openStore creates fresh tables on the dynalite at endpoint and returns a
// store on them that reaches DynamoDB through api (the plain client when
// api is nil).
func openStore(t *testing.T, client *sdk.Client, api API) *Store {
	t.Helper()
	tables := TablesWithPrefix(fmt.Sprintf("unit%d-", tablePrefixes.Add(1)))
	if err := CreateTables(t.Context(), client, tables); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	if api == nil {
		api = client
	}
	return New(api, tables)
}

// faultyAPI is a fake for tests of what the store does when a write fails
// half-way: it passes calls to the real client unless fail, given the
// operation's input, returns an error to fail it with.
type faultyAPI struct {
	API
	fail func(in any) error
}

func (f *faultyAPI) PutItem(ctx context.Context, in *sdk.PutItemInput, opts ...func(*sdk.Options)) (*sdk.PutItemOutput, error) {
	if err := f.fail(in); err != nil {
		return nil, err
	}
	return f.API.PutItem(ctx, in, opts...)
}

// countingAPI counts the Query calls a store makes and the items they read.
type countingAPI struct {
	API
	queries atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *sdk.QueryInput, opts ...func(*sdk.Options)) (*sdk.QueryOutput, error) {
	c.queries.Add(1)
	return c.API.Query(ctx, in, opts...)
}

var errInjected = errors.New("injected failure")

func run(id model.ExecutionID, buildTime int64, status model.Status, stages ...model.StageID) *model.Execution {
	e := &model.Execution{
		ID:               id,
		Type:             "PIPELINE",
		Application:      "shop",
		PipelineConfigID: "p1",
		Name:             "Deploy",
		Status:           status,
		BuildTime:        buildTime,
		Trigger:          model.ExecutionTrigger{Type: "manual"},
	}
	for i, sid := range stages {
		e.Stages = append(e.Stages, model.StageExecution{
			ID: sid, RefID: strconv.Itoa(i + 1), Type: "wait", Name: "Stage " + string(sid),
			Status: model.StatusNotStarted, Context: map[string]any{}, Outputs: map[string]any{},
		})
	}
	return e
}

// sizeIn finds the byte count an ErrTooLarge message reports.
var sizeIn = regexp.MustCompile(`is (\d+) bytes, over DynamoDB's item limit of 409600 bytes`)

func TestTooLargeNamesTheRecordAndItsSize(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	s := openStore(t, client, nil)
	ex := s.Executions()
	big := strings.Repeat("x", 500<<10)

	for _, tc := range []struct {
		name  string
		write func() error
		names []string
	}{
		{"stage in Create", func() error {
			e := run("r-big-stage", 1, model.StatusRunning, "s1", "s2")
			e.Stages[1].Outputs["log"] = big
			return ex.Create(t.Context(), e)
		}, []string{"stage s2", "execution r-big-stage"}},
		{"header in Create", func() error {
			e := run("r-big-header", 1, model.StatusRunning, "s1")
			e.Trigger.Parameters = map[string]any{"blob": big}
			return ex.Create(t.Context(), e)
		}, []string{"header of execution r-big-header"}},
		{"PutStage", func() error {
			e := run("r-small", 1, model.StatusRunning, "s1")
			if err := ex.Create(t.Context(), e); err != nil {
				t.Fatalf("create: %v", err)
			}
			st := e.Stages[0]
			st.Context["manifest"] = big
			return ex.PutStage(t.Context(), e.ID, &st)
		}, []string{"stage s1", "execution r-small"}},
		{"new stage", func() error {
			st := run("", 0, "", "s9").Stages[0]
			st.Context["manifest"] = big
			return ex.PutStage(t.Context(), "r-small", &st)
		}, []string{"stage s9", "execution r-small"}},
		{"pipeline", func() error {
			_, err := s.Pipelines().Save(t.Context(), &model.Pipeline{ID: "p-big", Application: "shop", Name: "Big", Description: big}, "alice", 0)
			return err
		}, []string{"pipeline p-big"}},
		{"record", func() error {
			return s.Records().Put(t.Context(), "journal/big", []byte(big))
		}, []string{`record "journal/big"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write()
			if !errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("got %v, want an error wrapping store.ErrTooLarge", err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %q", err, n)
				}
			}
			m := sizeIn.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error %q does not give the size", err)
			}
			if size, _ := strconv.Atoi(m[1]); size < len(big) {
				t.Errorf("reported size %d is less than the %d bytes written", size, len(big))
			}
		})
	}

	// Nothing of the refused runs was written, not even their stages.
	for _, id := range []model.ExecutionID{"r-big-stage", "r-big-header"} {
		out, err := client.Query(t.Context(), &sdk.QueryInput{
			TableName:                 &s.tables.Executions,
			KeyConditionExpression:    ptr("pk = :pk"),
			ExpressionAttributeValues: item{":pk": attrS(string(id))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != 0 {
			t.Errorf("refused run %s left %d items", id, len(out.Items))
		}
	}
}

func TestListingPagesNewestFirstThroughTheIndex(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	api := &countingAPI{API: client}
	s := openStore(t, client, api)
	s.pageSize = 4 // many DynamoDB pages for a few runs
	ex := s.Executions()

	// 30 runs in random order, some sharing a build time; every third one
	// of another pipeline; every other one SUCCEEDED.
	const n = 30
	var all []*model.Execution
	for i := range n {
		e := run(model.ExecutionID(fmt.Sprintf("r%02d", i)), int64(1_000+(i%10)*7), model.StatusRunning, "s1")
		if i%2 == 0 {
			e.Status = model.StatusSucceeded
		}
		if i%3 == 0 {
			e.PipelineConfigID = "p2"
		}
		all = append(all, e)
	}
	for _, i := range rand.Perm(n) {
		if err := ex.Create(t.Context(), all[i]); err != nil {
			t.Fatal(err)
		}
	}
	newestFirst := func(keep func(*model.Execution) bool, limit int) []model.ExecutionID {
		var es []*model.Execution
		for _, e := range all {
			if keep(e) {
				es = append(es, e)
			}
		}
		slices.SortFunc(es, func(a, b *model.Execution) int {
			return cmp.Or(cmp.Compare(b.BuildTime, a.BuildTime), cmp.Compare(a.ID, b.ID))
		})
		var ids []model.ExecutionID
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		if limit > 0 && len(ids) > limit {
			ids = ids[:limit]
		}
		return ids
	}
	everyRun := func(*model.Execution) bool { return true }
	succeeded := func(e *model.Execution) bool { return e.Status == model.StatusSucceeded }

	for _, tc := range []struct {
		name      string
		list      func() ([]model.Execution, error)
		want      []model.ExecutionID
		minQuerys int64
	}{
		{"application, all", func() ([]model.Execution, error) {
			return ex.ListByApplication(t.Context(), "shop", store.ListOptions{})
		}, newestFirst(everyRun, 0), n / 4},
		{"application, limit across pages", func() ([]model.Execution, error) {
			return ex.ListByApplication(t.Context(), "shop", store.ListOptions{Limit: 11})
		}, newestFirst(everyRun, 11), 3},
		{"pipeline, statuses across pages", func() ([]model.Execution, error) {
			return ex.ListByPipeline(t.Context(), "p1", store.ListOptions{Statuses: []model.Status{model.StatusSucceeded}})
		}, newestFirst(func(e *model.Execution) bool { return succeeded(e) && e.PipelineConfigID == "p1" }, 0), 5},
		{"pipeline, statuses and limit", func() ([]model.Execution, error) {
			return ex.ListByPipeline(t.Context(), "p2", store.ListOptions{Statuses: []model.Status{model.StatusSucceeded}, Limit: 3})
		}, newestFirst(func(e *model.Execution) bool { return succeeded(e) && e.PipelineConfigID == "p2" }, 3), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := api.queries.Load()
			got, err := tc.list()
			if err != nil {
				t.Fatal(err)
			}
			var ids []model.ExecutionID
			for _, e := range got {
				ids = append(ids, e.ID)
				if e.Revision != 1 || len(e.Stages) != 0 {
					t.Errorf("listed %s with revision %d and %d stages, want its header at revision 1", e.ID, e.Revision, len(e.Stages))
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("listed\n%v\nwant newest first\n%v", ids, tc.want)
			}
			if q := api.queries.Load() - before; q < tc.minQuerys {
				t.Errorf("listing took %d queries of %d items, want at least %d pages", q, s.pageSize, tc.minQuerys)
			}
		})
	}
}

func TestRetriedCreateCompletesARunThatFailedHalfWay(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	var failHeader atomic.Bool
	api := &faultyAPI{API: client, fail: func(in any) error {
		if put, ok := in.(*sdk.PutItemInput); ok && failHeader.Load() &&
			stringAttr(put.Item, attrSK) == headerSK && put.Item[attrPending] == nil {
			return errInjected
		}
		return nil
	}}
	s := openStore(t, client, api)
	ex := s.Executions()

	e := run("r1", 1000, model.StatusNotStarted, "s1", "s2", "s3")
	failHeader.Store(true)
	if err := ex.Create(t.Context(), e); !errors.Is(err, errInjected) {
		t.Fatalf("create with a failing header write: %v", err)
	}
	// The stages are written, the header pending: nobody sees the run.
	if _, err := ex.Get(t.Context(), "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a half-created run: Get returned %v, want ErrNotFound", err)
	}
	if _, err := ex.GetHeader(t.Context(), "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a half-created run: GetHeader returned %v, want ErrNotFound", err)
	}
	if list, _ := ex.ListByApplication(t.Context(), "shop", store.ListOptions{}); len(list) != 0 {
		t.Fatalf("a half-created run is listed: %+v", list)
	}
	failHeader.Store(false)
	h := *e
	h.Stages = nil
	if err := ex.UpdateHeader(t.Context(), &h); !errors.Is(err, store.ErrConflict) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateHeader of a half-created run: %v, want ErrConflict and ErrNotFound", err)
	}

	// Another Create of the same id is refused; the same one goes on.
	other := run("r1", 2000, model.StatusNotStarted, "x1")
	if err := ex.Create(t.Context(), other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a different Create of a half-created id: %v, want ErrConflict", err)
	}
	if err := ex.Create(t.Context(), e); err != nil {
		t.Fatalf("retried Create: %v", err)
	}
	got, err := ex.Get(t.Context(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.BuildTime != 1000 || len(got.Stages) != 3 || got.Stages[2].ID != "s3" {
		t.Fatalf("after the retry, got buildTime %d and %d stages", got.BuildTime, len(got.Stages))
	}
	if err := ex.Create(t.Context(), e); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Create of a finished run: %v, want ErrConflict", err)
	}
}

func TestSaveThatStoppedAfterTheHeadIsRepaired(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	var failVersion atomic.Bool
	api := &faultyAPI{API: client, fail: func(in any) error {
		if put, ok := in.(*sdk.PutItemInput); ok && failVersion.Load() &&
			stringAttr(put.Item, attrSK) == pipelineVersionSK(2) {
			return errInjected
		}
		return nil
	}}
	s := openStore(t, client, api)
	ps := s.Pipelines()
	p := &model.Pipeline{ID: "p1", Application: "shop", Name: "Deploy", Description: "one"}
	if _, err := ps.Save(t.Context(), p, "alice", 0); err != nil {
		t.Fatal(err)
	}
	p.Description = "two"
	failVersion.Store(true)
	if v, err := ps.Save(t.Context(), p, "bob", 1); err != nil || v != 2 {
		t.Fatalf("save whose version write fails after it won the head: version %d, %v; want 2 and no error", v, err)
	}
	failVersion.Store(false)

	// The head moved to version 2: it is the current pipeline and in the
	// history, though its version item was never written.
	describe := func(h []store.PipelineVersion) string {
		var parts []string
		for _, v := range h {
			parts = append(parts, fmt.Sprintf("%d:%s:%s", v.Version, v.User, v.Pipeline.Description))
		}
		return strings.Join(parts, " ")
	}
	hist, err := ps.History(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(hist); got != "2:bob:two 1:alice:one" {
		t.Fatalf("history = %s", got)
	}
	if v, err := ps.Version(t.Context(), "p1", 2); err != nil || v.Pipeline.Description != "two" {
		t.Fatalf("version 2 = %+v, %v", v, err)
	}

	// The next save writes the missing version item before moving on.
	p.Description = "three"
	if v, err := ps.Save(t.Context(), p, "carol", 2); err != nil || v != 3 {
		t.Fatalf("save after the repair: version %d, %v", v, err)
	}
	out, err := client.GetItem(t.Context(), &sdk.GetItemInput{
		TableName: &s.tables.Config,
		Key:       key(pipelinePK("p1"), pipelineVersionSK(2)),
	})
	if err != nil || out.Item == nil {
		t.Fatalf("version 2's item was not repaired: %v", err)
	}
	hist, err = ps.History(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(hist); got != "3:carol:three 2:bob:two 1:alice:one" {
		t.Fatalf("history = %s", got)
	}
}

func TestStaleNameClaimIsTakenOverAfterGrace(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	var failHead atomic.Bool
	api := &faultyAPI{API: client, fail: func(in any) error {
		if put, ok := in.(*sdk.PutItemInput); ok && failHead.Load() && stringAttr(put.Item, attrSK) == pipelineHeadSK {
			return errInjected
		}
		return nil
	}}
	s := openStore(t, client, api)
	var clock sync.Mutex
	now := time.UnixMilli(1_718_000_000_000)
	s.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	ps := s.Pipelines()

	// p1's save claims "Deploy" and dies before writing its head.
	failHead.Store(true)
	if _, err := ps.Save(t.Context(), &model.Pipeline{ID: "p1", Application: "shop", Name: "Deploy"}, "alice", 0); !errors.Is(err, errInjected) {
		t.Fatalf("save with a failing head write: %v", err)
	}
	failHead.Store(false)
	if _, err := ps.GetByName(t.Context(), "shop", "Deploy"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a claim without a pipeline: GetByName returned %v, want ErrNotFound", err)
	}
	if list, err := ps.List(t.Context(), "shop"); err != nil || len(list) != 0 {
		t.Fatalf("a claim without a pipeline is listed: %+v, %v", list, err)
	}

	// While p1 may still be saving, the name is not another's to take.
	p2 := &model.Pipeline{ID: "p2", Application: "shop", Name: "Deploy"}
	if _, err := ps.Save(t.Context(), p2, "bob", 0); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "p1") {
		t.Fatalf("save under a fresh claim of p1: %v, want ErrConflict naming p1", err)
	}
	advance(claimGrace + time.Second)
	if _, err := ps.Save(t.Context(), p2, "bob", 0); err != nil {
		t.Fatalf("save under a stale claim: %v", err)
	}
	got, err := ps.GetByName(t.Context(), "shop", "Deploy")
	if err != nil || got.ID != "p2" {
		t.Fatalf("GetByName after the takeover = %+v, %v; want p2", got, err)
	}
}

func TestLeaseCarriesTimeToLive(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	s := openStore(t, client, nil)
	now := time.UnixMilli(1_718_000_000_500)
	s.now = func() time.Time { return now }
	if err := s.Leases().Acquire(t.Context(), "cluster/shop-web", "run-1", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(t.Context(), &sdk.GetItemInput{TableName: &s.tables.Runtime, Key: key(leasePK("cluster/shop-web"), leaseSK)})
	if err != nil || out.Item == nil {
		t.Fatalf("lease item: %v", err)
	}
	expiresAt, _ := numberAttr(out.Item, attrExpiresAt)
	ttl, _ := numberAttr(out.Item, TimeToLiveAttribute)
	if want := now.Add(90 * time.Second); expiresAt != want.UnixMilli() || ttl != want.Unix()+1 {
		t.Fatalf("lease expiresAt=%d ttl=%d, want %d and %d (seconds, rounded up)", expiresAt, ttl, want.UnixMilli(), want.Unix()+1)
	}
}

func TestCreateTablesIsIdempotent(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	tables := TablesWithPrefix("again-")
	for range 2 {
		if err := CreateTables(t.Context(), client, tables); err != nil {
			t.Fatalf("create tables: %v", err)
		}
	}
	out, err := client.DescribeTable(t.Context(), &sdk.DescribeTableInput{TableName: &tables.Executions})
	if err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		indexes = append(indexes, *gsi.IndexName)
	}
	slices.Sort(indexes)
	if !slices.Equal(indexes, []string{indexByApplication, indexByPipeline}) {
		t.Fatalf("executions table indexes = %v", indexes)
	}
	if err := CreateTables(t.Context(), client, Tables{Config: "c"}); err == nil || !strings.Contains(err.Error(), "Executions, Runtime") {
		t.Fatalf("CreateTables without table names: %v, want an error naming them", err)
	}
}
