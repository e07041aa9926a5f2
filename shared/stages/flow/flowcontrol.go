package flow

import "github.com/gennaker/gennaker/shared/stages"

// RegisterFlowControl registers the stage types that need no cloud provider:
// wait, manualJudgment, checkPreconditions, evaluateVariables, pipeline,
// webhook and noop, plus the WaitForExecutionWindow task the orchestrator
// plans first for stages restricted to execution windows, and the patcher
// that lets a user skip such a window on a stage of any type.
func RegisterFlowControl(r *stages.Registry) {
	r.Register(WaitStage{}, WaitTask{})
	r.Register(ManualJudgmentStage{}, WaitForJudgmentTask{})
	r.Register(CheckPreconditionsStage{}, CheckPreconditionsTask{})
	r.Register(EvaluateVariablesStage{}, EvaluateVariablesTask{})
	r.Register(PipelineStage{}, StartPipelineTask{}, MonitorPipelineTask{})
	r.Register(WebhookStage{}, CreateWebhookTask{}, MonitorWebhookTask{})
	r.Register(NoopStage{}, DoNothingTask{})
	r.Register(FindArtifactFromExecutionStage{}, FindArtifactFromExecutionTask{})
	r.RegisterTask(WaitForExecutionWindowTask{})
	r.RegisterPatcher(executionWindowPatcher{})
}
