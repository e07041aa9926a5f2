package embedded

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

// A stage read twice comes from the cache the second time; changing what a
// caller got must not change what the next caller gets.
func TestCachedStagesAreCopies(t *testing.T) {
	raw := append([]byte{0, 0, 0, 0, 0, 0, 0, 3}, []byte(`{"id":"s1","refId":"1","type":"wait","name":"W","status":"RUNNING",
	  "context":{"waitTime":5,"nested":{"list":[1,{"a":"b"}]}},"outputs":{},"tasks":[{"id":"1","name":"Wait","status":"RUNNING","stageStart":true,"stageEnd":true}],
	  "requisiteStageRefIds":["0"],"orchestration":{"attempt":1}}`)...)
	first, err := decodeStage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if first.Revision != 3 || first.Context["waitTime"] != float64(5) {
		t.Fatalf("decoded %+v", first)
	}
	first.Context["waitTime"] = 1
	first.Context["nested"].(map[string]any)["list"].([]any)[1].(map[string]any)["a"] = "changed"
	first.Tasks[0].Status = model.StatusSucceeded
	first.RequisiteStageRefIDs[0] = "x"
	second, err := decodeStage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if second.Context["waitTime"] != float64(5) || second.Tasks[0].Status != model.StatusRunning || second.RequisiteStageRefIDs[0] != "0" ||
		second.Context["nested"].(map[string]any)["list"].([]any)[1].(map[string]any)["a"] != "b" {
		t.Fatalf("a caller's change reached the cache: %+v", second)
	}
	other := append([]byte{0, 0, 0, 0, 0, 0, 0, 4}, raw[8:]...)
	third, err := decodeStage(other)
	if err != nil || third.Revision != 4 {
		t.Fatalf("a new revision of the record was served from the cache: %+v %v", third, err)
	}
}
