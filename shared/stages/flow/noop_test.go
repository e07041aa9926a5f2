package flow

import (
	"testing"

	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func TestNoopStage(t *testing.T) {
	tests := []struct {
		name  string
		stage string
	}{
		{"bare", `{"refId":"1","type":"noop"}`},
		{"with fields of its own", `{"refId":"1","type":"noop","comments":"joins the branches"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := stagestest.StageFromJSON(t, tt.stage)
			stagestest.CheckProblems(t, NoopStage{}.Validate(s))
			cfg, _ := s.Config()
			tasks, err := NoopStage{}.Plan(&model.StageExecution{Context: cfg})
			if err != nil || len(tasks) != 1 {
				t.Fatalf("plan = %v, %v; want one task", tasks, err)
			}
			r, err := execute(DoNothingTask{}, stagestest.NewRun(cfg))
			if err != nil || r.Status != model.StatusSucceeded {
				t.Fatalf("got %s, %v; want SUCCEEDED", r.Status, err)
			}
		})
	}
}
