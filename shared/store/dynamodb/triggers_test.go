package dynamodb

import (
	"encoding/json"
	"errors"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
)

func dockerPipeline(id model.PipelineID, repo string) *model.Pipeline {
	raw, _ := json.Marshal(repo)
	return &model.Pipeline{ID: id, Application: "shop", Name: "Deploy",
		Triggers: []model.Trigger{{Type: "docker", Enabled: true, Extra: model.Extra{"repository": raw}}}}
}

func lookupIDs(t *testing.T, s *Store, repo string) []model.PipelineID {
	t.Helper()
	entries, err := s.Triggers().Lookup(t.Context(), model.TriggerIndexKey("docker", repo))
	if err != nil {
		t.Fatal(err)
	}
	var ids []model.PipelineID
	for _, e := range entries {
		ids = append(ids, e.PipelineID)
	}
	return ids
}

// Without transactions, the index answers for the versions the heads hold:
// a save that lost after writing its entries, and an entry a deleted
// pipeline left behind, are not returned.
func TestTriggerIndexFollowsTheHeads(t *testing.T) {
	client := dynalitetest.Client(dynalitetest.Start(t))
	var failHead bool
	api := &faultyAPI{API: client, fail: func(in any) error {
		if put, ok := in.(*sdk.PutItemInput); ok && failHead && stringAttr(put.Item, attrSK) == pipelineHeadSK {
			return errInjected
		}
		return nil
	}}
	s := openStore(t, client, api)
	if _, err := s.Pipelines().Save(t.Context(), dockerPipeline("p1", "shop/api"), "", 0); err != nil {
		t.Fatal(err)
	}
	failHead = true
	if _, err := s.Pipelines().Save(t.Context(), dockerPipeline("p1", "shop/web"), "", 1); !errors.Is(err, errInjected) {
		t.Fatalf("save whose head write fails: %v", err)
	}
	failHead = false
	if got := lookupIDs(t, s, "shop/web"); len(got) != 0 {
		t.Fatalf("the lost save's trigger is indexed: %v", got)
	}
	if got := lookupIDs(t, s, "shop/api"); len(got) != 1 {
		t.Fatalf("the saved trigger is gone: %v", got)
	}

	// A delete that stopped before pruning leaves an entry of version 1;
	// a new pipeline with the same id at version 1 does not inherit it.
	if err := s.Pipelines().Delete(t.Context(), "p1"); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(struct {
		PipelineID model.PipelineID `json:"pipelineId"`
		Index      int              `json:"index"`
	}{"p1", 0})
	left := key(triggerPK(model.TriggerIndexKey("docker", "shop/api")), triggerSK("p1", 1, 0))
	left[attrDoc] = attrS(string(doc))
	left[attrVersion] = attrN(1)
	if _, err := client.PutItem(t.Context(), &sdk.PutItemInput{TableName: &s.tables.Config, Item: left}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pipelines().Save(t.Context(), dockerPipeline("p1", "shop/web"), "", 0); err != nil {
		t.Fatal(err)
	}
	if got := lookupIDs(t, s, "shop/api"); len(got) != 0 {
		t.Fatalf("a deleted pipeline's leftover entry is returned: %v", got)
	}
	if got := lookupIDs(t, s, "shop/web"); len(got) != 1 {
		t.Fatalf("the new pipeline's trigger: %v", got)
	}
}
