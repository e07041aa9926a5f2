package local

import (
	"context"
	"log/slog"
	"sync"

	"github.com/gennaker/gennaker/shared/triggers"
)

// startCron fires the pipelines' cron triggers in process until Close: on
// AWS, EventBridge Scheduler does it.
func (r *Runtime) startCron(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		(&triggers.Cron{Handler: r.platform.Triggers, Logger: log}).Run(ctx)
	}()
	r.stopCron = func() { cancel(); wg.Wait() }
}
