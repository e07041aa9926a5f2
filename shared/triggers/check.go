package triggers

import (
	"fmt"
	"slices"

	"github.com/gennaker/gennaker/shared/model"
)

// Fires lists the trigger types that start runs here.
var Fires = []string{"docker", "git", "webhook", "pipeline", "cron", "pubsub"}

var gitSources = []string{"codecommit", "github", "gitlab", "bitbucket", "stash"}

// Check returns warnings about a pipeline's triggers: a trigger that will
// never fire here (a type gennaker does not have, an expression it cannot
// read, a pattern that does not compile) or that fires differently in the
// cloud. They never refuse a save or a run; they say what to fix.
func Check(p *model.Pipeline) []model.Problem {
	var out []model.Problem
	warn := func(i int, field, format string, args ...any) {
		path := fmt.Sprintf("triggers[%d]", i)
		if field != "" {
			path += "." + field
		}
		out = append(out, model.Problem{Path: path, Message: fmt.Sprintf(format, args...), Warning: true})
	}
	pattern := func(i int, tr model.Trigger, field string) {
		if s := tr.Field(field); s != "" {
			if _, err := compile(s); err != nil {
				warn(i, field, "%q is not a regular expression, so it matches only itself: %v", s, err)
			}
		}
	}
	for i, tr := range p.Triggers {
		if !slices.Contains(Fires, tr.Type) {
			warn(i, "type", "gennaker has no %q trigger, so this one never fires; it fires %v", tr.Type, Fires)
			continue
		}
		switch tr.Type {
		case "docker":
			pattern(i, tr, "tag")
		case "git":
			if s := tr.Field("source"); !slices.Contains(gitSources, s) {
				warn(i, "source", "git source %q is not one of %v, so this trigger never fires", s, gitSources)
			}
			pattern(i, tr, "branch")
		case "pubsub":
			if s := tr.Field("pubsubSystem"); s != "amazon" {
				warn(i, "pubsubSystem", "%q never fires here: gennaker reads amazon (SQS queues, usually subscribed to SNS topics)", s)
			}
		case "cron":
			q, _, err := cronSchedule(tr)
			if err != nil {
				warn(i, "cronExpression", "this trigger never fires: %v", err)
				continue
			}
			if _, ok := q.EventBridge(); !ok {
				warn(i, "cronExpression", "%q fires at seconds other than 0, which EventBridge Scheduler cannot: in the cloud it fires at second 0 of the same minutes; set seconds to 0", q)
			}
		}
	}
	return out
}
