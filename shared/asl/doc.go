// Package asl is a durable interpreter of the Amazon States Language: it runs
// state machines the way AWS Step Functions (Standard workflows) does, so the
// same definitions run locally and in the cloud.
//
// A Runtime keeps every execution's position in a Journal. A process killed
// at any moment and restarted (a new Runtime on the same Journal, then Start)
// resumes every running execution where it was: Wait states and retry
// back-offs keep their original deadlines, task tokens issued before the kill
// keep working, Parallel branches and Map iterations that had finished are
// not run again, and a task that was being invoked is invoked again (at least
// once, as Lambda retries).
//
// # Using it
//
//	rt, err := asl.New(asl.Options{Journal: j, Functions: map[string]asl.Function{"deploy": deploy}})
//	arn, err := rt.RegisterStateMachine("pipeline", definition)
//	err = rt.Start(ctx)
//	exec, err := rt.StartExecution(ctx, arn, "run-42", input)
//	desc, err := rt.Wait(ctx, exec)
//
// StartExecution, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat,
// StopExecution and DescribeExecution mirror the Step Functions API and its
// errors (*ExecutionAlreadyExists, *TaskTimedOut, ...), so orchestration code
// can use this Runtime or the AWS SDK behind one interface.
//
// # What is supported
//
// All state types (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map);
// InputPath, Parameters, ResultSelector, ResultPath and OutputPath with the
// JSONPath subset Step Functions documents (no "$.." and no filters); the
// context object; every intrinsic function; Retry (with MaxDelaySeconds and
// JitterStrategy) and Catch; TimeoutSeconds and HeartbeatSeconds (and their
// Path forms); the execution-level TimeoutSeconds; and these Task resources:
//
//   - arn:aws:states:::lambda:invoke and .waitForTaskToken
//   - a Lambda function ARN (the raw function output)
//   - arn:aws:states:::states:startExecution, .sync, .sync:2 and .waitForTaskToken
//
// Lambda functions are Go Functions registered by name. Parse rejects any
// other Resource, JSONata, variables and distributed Map readers and writers.
// A distributed Map (ProcessorConfig.Mode DISTRIBUTED) runs inline.
//
// # Durability and cost
//
// A frame (the top-level states, or one branch or iteration) writes its
// position to the Journal only at durable points: before a task is invoked,
// when a Wait or a retry back-off starts, when a Parallel or Map starts its
// children, when a callback outcome arrives, and when a branch or iteration
// ends. Pass and Choice states are deterministic and are replayed from the
// last durable point after a crash. An execution therefore costs one write
// when it starts, one per task and one when it ends; see journal.go for the
// key layout.
//
// # Differences from Step Functions
//
//   - A failed Function's Cause is err.Error(); Lambda would wrap it as
//     {"errorMessage":...,"errorType":...}. Its error name follows
//     aws-lambda-go exactly.
//   - A failed Parameters path is States.Runtime (as Step Functions reports
//     it), not the States.ParameterPathFailure the specification names.
//   - Objects are rendered with sorted keys; Step Functions keeps the order
//     of the input.
//   - The history is not recorded, only counted, approximately as Step
//     Functions counts events, so that MaxHistoryEvents fails executions
//     that would fail in the cloud.
package asl
