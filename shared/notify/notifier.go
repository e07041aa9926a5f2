package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Where the notifier keeps its records (store.Records keys).
const (
	eventPrefix = "notify/event/" // + event key: the event was accepted
	auditPrefix = "notify/audit/" // + application/time/key: the audit log
	jobPrefix   = "notify/job/"   // + time/job id: a notification to send
	donePrefix  = "notify/done/"  // + job id: its outcome
	appPrefix   = "notify/app/"   // + application: Front50's application notifications
	sweptPrefix = "notify/swept/" // + run id: every event of the finished run was accepted
)

// Notifier accepts events (records them in the audit log and plans their
// notifications) and delivers notifications. The local bus and the
// notifier function both run one.
type Notifier struct {
	Store   store.Store
	Senders Senders
	Config  Config
	Log     *slog.Logger
	// Sleep waits between attempts; nil means a timer that ctx cuts short.
	Sleep func(ctx context.Context, d time.Duration) error
	// Exclusive makes deliverers of one notification take turns through a
	// lease, where several may run at once (the notifier function); a job
	// another holds comes back "pending". The local bus, one process with
	// one sender per destination, needs none.
	Exclusive bool
}

// NewSenders returns the sender of every notification type, set up from
// cfg. ses and sns may be nil where AWS is not configured: the
// notifications that need them then fail with a reason.
func NewSenders(cfg Config, client HTTPDoer, ses sesAPI, sn snsAPI) Senders {
	if client == nil {
		client = &http.Client{Timeout: cfg.timeout()}
	}
	s := Senders{
		"slack":          slackSender{cfg: cfg.Slack, client: client},
		"webhook":        webhookSender{cfg: cfg.Webhook, client: client},
		"githubStatus":   githubSender{cfg: cfg.GitHub, client: client},
		"microsoftteams": teamsSender{client: client},
		"googlechat":     googleChatSender{client: client},
		"email":          smtpSender{cfg: cfg.Email, timeout: cfg.timeout()},
	}
	if cfg.Email.SES && ses != nil {
		s["email"] = sesSender{from: cfg.Email.From, api: ses}
	}
	if sn != nil {
		s["sns"] = snsSender{api: sn}
		s["pubsub"] = snsSender{api: sn}
	}
	return s
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.Default()
	}
	return n.Log
}

// Accepted reports whether the event was accepted before.
func (n *Notifier) Accepted(ctx context.Context, key string) (bool, error) {
	_, found, err := n.Store.Records().Get(ctx, eventPrefix+key)
	return found, err
}

// Accept records ev in the audit log and stores its notifications as
// jobs, and returns the jobs still to send. Accepting an event again
// returns only the jobs not yet sent, so a duplicate sends nothing twice.
func (n *Notifier) Accept(ctx context.Context, ev Event) ([]Job, error) {
	recs := n.Store.Records()
	var jobs []Job
	if ev.ExecutionID != "" {
		e, err := n.Store.Executions().Get(ctx, ev.ExecutionID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("accept event %s: %w", ev.Key, err)
		}
		app, err := n.AppNotifications(ctx, ev.Application)
		if err != nil {
			return nil, fmt.Errorf("accept event %s: %w", ev.Key, err)
		}
		for _, j := range Resolve(ev, e, app) {
			if _, sent, err := recs.Get(ctx, donePrefix+j.ID); err != nil {
				return nil, err
			} else if sent {
				continue
			}
			b, _ := json.Marshal(j)
			if err := recs.Put(ctx, jobKey(j), b); err != nil {
				return nil, fmt.Errorf("store notification %s: %w", j.ID, err)
			}
			jobs = append(jobs, j)
		}
	}
	b, _ := json.Marshal(ev)
	if err := recs.Put(ctx, auditKey(ev), b); err != nil {
		return nil, fmt.Errorf("record event %s: %w", ev.Key, err)
	}
	if err := recs.Put(ctx, eventPrefix+ev.Key, b); err != nil {
		return nil, fmt.Errorf("record event %s: %w", ev.Key, err)
	}
	return jobs, nil
}

// jobKey orders stored jobs as their events happened.
func jobKey(j Job) string {
	return fmt.Sprintf("%s%013d/%d/%s", jobPrefix, j.Event.Time, rank(j.Event.Type), j.ID)
}

func auditKey(ev Event) string {
	return fmt.Sprintf("%s%s/%013d/%s", auditPrefix, ev.Application, ev.Time, ev.Key)
}

// PendingJobs returns the jobs stored and not yet sent, oldest first.
func (n *Notifier) PendingJobs(ctx context.Context) ([]Job, error) {
	var jobs []Job
	err := n.Store.Records().Scan(ctx, jobPrefix, func(_ string, v []byte) error {
		var j Job
		if json.Unmarshal(v, &j) == nil {
			jobs = append(jobs, j)
		}
		return nil
	})
	return jobs, err
}

// Deliver sends j, trying again after a growing pause on errors that may
// pass, and records the outcome on the run and in the store. A job already
// sent is not sent again.
func (n *Notifier) Deliver(ctx context.Context, j Job) model.NotificationDelivery {
	recs := n.Store.Records()
	d := model.NotificationDelivery{ID: j.ID, Event: j.Event.Type, Type: j.Type, Address: j.Address}
	if n.Exclusive {
		// Two deliverers of one job (an event delivered twice at once)
		// take turns: the second finds it sent.
		lease, owner := "notify/"+j.ID, newOwner()
		hold := time.Duration(n.Config.attempts())*(n.Config.timeout()+n.Config.backoff()<<n.Config.attempts()) + time.Minute
		if err := n.Store.Leases().Acquire(ctx, lease, owner, hold); err != nil {
			d.Status, d.Reason = "pending", "another deliverer holds it: "+err.Error()
			return d
		}
		defer func() { _ = n.Store.Leases().Release(context.WithoutCancel(ctx), lease, owner) }()
	}
	if v, found, err := recs.Get(ctx, donePrefix+j.ID); err == nil && found {
		_ = json.Unmarshal(v, &d)
		_ = recs.Delete(ctx, jobKey(j))
		return d
	}
	sender, ok := n.Senders[j.Type]
	var err error
	if !ok {
		err = permanent("no notification type %q (types: %s)", j.Type, strings.Join(n.Senders.Types(), ", "))
	}
	backoff := n.Config.backoff()
	for ok && d.Attempts < n.Config.attempts() {
		d.Attempts++
		attemptCtx, cancel := context.WithTimeout(ctx, n.Config.timeout())
		err = sender.Send(attemptCtx, j)
		cancel()
		if !retryable(err) || d.Attempts == n.Config.attempts() || ctx.Err() != nil {
			break
		}
		n.log().WarnContext(ctx, "notification failed; trying again", "delivery", j.ID, "attempt", d.Attempts, "error", err)
		if serr := n.sleep(ctx, backoff); serr != nil {
			break
		}
		backoff *= 2
	}
	if ctx.Err() != nil && err != nil {
		// Stopping: the job stays pending and is sent after the restart.
		return d
	}
	d.Time = time.Now().UnixMilli()
	if err == nil {
		d.Status = "sent"
	} else {
		d.Status, d.Reason = "failed", err.Error()
		n.log().WarnContext(ctx, "notification failed", "delivery", j.ID, "attempts", d.Attempts, "error", err)
	}
	b, _ := json.Marshal(d)
	if perr := recs.Put(ctx, donePrefix+j.ID, b); perr != nil {
		n.log().ErrorContext(ctx, "record a notification's outcome", "delivery", j.ID, "error", perr)
		return d
	}
	_ = recs.Delete(ctx, jobKey(j))
	if j.Event.ExecutionID != "" {
		if rerr := n.recordOnRun(ctx, j.Event.ExecutionID, d); rerr != nil {
			n.log().WarnContext(ctx, "record a notification on its run", "delivery", j.ID, "error", rerr)
		}
	}
	return d
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (n *Notifier) sleep(ctx context.Context, d time.Duration) error {
	if n.Sleep != nil {
		return n.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// recordOnRun adds the outcome to the run's notificationDeliveries,
// replacing an earlier outcome of the same delivery.
func (n *Notifier) recordOnRun(ctx context.Context, id model.ExecutionID, d model.NotificationDelivery) error {
	for range 25 {
		e, err := n.Store.Executions().GetHeader(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		replaced := false
		for i := range e.NotificationDeliveries {
			if e.NotificationDeliveries[i].ID == d.ID {
				e.NotificationDeliveries[i], replaced = d, true
			}
		}
		if !replaced {
			e.NotificationDeliveries = append(e.NotificationDeliveries, d)
		}
		err = n.Store.Executions().UpdateHeader(ctx, e)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("run %s: too many concurrent writers", id)
}

// AppNotifications returns the application's notifications (Front50's
// document); none is an empty document.
func (n *Notifier) AppNotifications(ctx context.Context, app model.ApplicationName) (AppNotifications, error) {
	return LoadAppNotifications(ctx, n.Store.Records(), app)
}

// LoadAppNotifications reads an application's notifications document.
func LoadAppNotifications(ctx context.Context, recs store.Records, app model.ApplicationName) (AppNotifications, error) {
	v, found, err := recs.Get(ctx, appPrefix+string(app))
	if err != nil || !found {
		return AppNotifications{}, err
	}
	var doc AppNotifications
	if err := json.Unmarshal(v, &doc); err != nil {
		return nil, fmt.Errorf("application %s notifications: %w", app, err)
	}
	return doc, nil
}

// SaveAppNotifications stores an application's notifications document.
func SaveAppNotifications(ctx context.Context, recs store.Records, app model.ApplicationName, doc AppNotifications) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return recs.Put(ctx, appPrefix+string(app), b)
}

// NewSendersAWS is NewSenders with SNS and SES v2 clients made from awsCfg.
func NewSendersAWS(cfg Config, client HTTPDoer, awsCfg aws.Config) Senders {
	return NewSenders(cfg, client, sesv2.NewFromConfig(awsCfg), sns.NewFromConfig(awsCfg))
}
