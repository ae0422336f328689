// Package loadrun runs load tests inside the autoscaler for the admin API,
// with the load-testing library, and keeps the running ones so they can be
// watched and cancelled. Runs belong to the server, not to the request that
// started them, and to the replica's lease: each names its holder, a cancel
// recorded by another replica is picked up by polling, and the tests of
// replicas whose lease expired are rescued (ended as failed).
package loadrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// Store is the part of the store the runner reads and rescues with.
type Store interface {
	RescueLoadTests(ctx context.Context) ([]store.LoadTest, error)
	LoadTestsByID(ctx context.Context, ids []string) ([]store.LoadTest, error)
}

var _ Store = (*store.Store)(nil)

// Config is a runner's settings.
type Config struct {
	Recorder *record.Recorder
	Limits   scenario.Limits
	// Holder is this replica's lease holder (lease.Keeper.Holder()): every
	// test started here names it as owner. "" starts tests no replica owns
	// (as wedsync-load does): they cannot be cancelled from another replica
	// and are rescued only long after their longest run.
	Holder string
	// Store defaults to Recorder.Store.
	Store Store
	// PollInterval is how often the runner looks for cancels recorded by
	// other replicas (and tests ended under it); default 1s.
	PollInterval time.Duration
	// RescueInterval is how often it rescues the tests of dead replicas
	// (also once at start); default 30s, negative: never (the caller calls
	// Rescue).
	RescueInterval time.Duration
	Logger         *slog.Logger
}

// Validate checks the settings.
func (c Config) Validate() error {
	switch {
	case c.Recorder == nil || c.Recorder.Store == nil:
		return errors.New("loadrun: a recorder with a store is required")
	case c.PollInterval < 0:
		return fmt.Errorf("loadrun poll interval (%s): must not be negative", c.PollInterval)
	case len(c.Holder) > 200:
		return errors.New("loadrun holder: at most 200 characters")
	}
	return nil
}

// Runner starts and tracks load tests.
type Runner struct {
	ctx    context.Context
	cfg    Config
	rc     *record.Recorder
	st     Store
	logger *slog.Logger

	mu      sync.Mutex
	running map[string]*run
	wg      sync.WaitGroup
}

type run struct {
	rec       *record.Recorded
	cancelled bool // Cancel was called (logged once)
}

// New makes a runner whose runs live until ctx ends, and starts its poll
// and rescue loop (Wait waits for it too).
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.RescueInterval == 0 {
		cfg.RescueInterval = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		cfg.Store = cfg.Recorder.Store
	}
	// The runner's own copy: the recorder may be shared with callers that
	// own nothing.
	rc := *cfg.Recorder
	rc.Owner = cfg.Holder
	r := &Runner{ctx: ctx, cfg: cfg, rc: &rc, st: cfg.Store, logger: cfg.Logger, running: map[string]*run{}}
	if cfg.Holder == "" {
		r.logger.Warn("load tests run without a lease: they cannot be cancelled from another replica")
	}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

// Holder is the lease holder the runner's tests name.
func (r *Runner) Holder() string { return r.cfg.Holder }

func (r *Runner) loop() {
	defer r.wg.Done()
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	var rescue <-chan time.Time
	if r.cfg.RescueInterval > 0 {
		r.rescueAndLog()
		t := time.NewTicker(r.cfg.RescueInterval)
		defer t.Stop()
		rescue = t.C
	}
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-poll.C:
			if err := r.Poll(r.ctx); err != nil && r.ctx.Err() == nil {
				r.logger.Warn("poll load-test cancels", "err", err)
			}
		case <-rescue:
			r.rescueAndLog()
		}
	}
}

func (r *Runner) rescueAndLog() {
	if _, err := r.Rescue(r.ctx); err != nil && r.ctx.Err() == nil {
		r.logger.Warn("rescue load tests", "err", err)
	}
}

// Rescue ends the load tests whatever ran them has stopped (see
// store.RescueLoadTests) and logs each one. The runner calls it at start
// and every RescueInterval.
func (r *Runner) Rescue(ctx context.Context) ([]store.LoadTest, error) {
	done, err := r.st.RescueLoadTests(ctx)
	for _, lt := range done {
		r.logger.Warn("load test rescued: whatever ran it stopped", "id", lt.ID, "name", lt.Name, "owner", lt.Owner,
			"status", lt.Status, "reason", lt.FailureReason)
	}
	return done, err
}

// Poll stops the runs here that were cancelled from another replica or
// ended under this one (rescued while this replica's lease lapsed): once
// the row is final, nothing this run measures can be recorded. The runner
// calls it every PollInterval.
func (r *Runner) Poll(ctx context.Context) error {
	r.mu.Lock()
	ids := make([]string, 0, len(r.running))
	for id := range r.running {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	lts, err := r.st.LoadTestsByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, lt := range lts {
		switch {
		case lt.Status != store.LoadTestRunning && lt.Status != store.LoadTestPending:
			r.cancel(lt.ID, "load test ended elsewhere; stopping its run", "status", lt.Status, "reason", lt.FailureReason)
		case lt.CancelRequestedAt != nil:
			r.cancel(lt.ID, "load test cancelled", "by", lt.CancelRequestedBy, "requested_at", lt.CancelRequestedAt)
		}
	}
	return nil
}

// Start validates sc (nothing is sent if it is invalid or over the
// limits), records it as running under the runner's holder and starts it.
// Headers never read the server's environment.
func (r *Runner) Start(ctx context.Context, sc scenario.Scenario, user string, confirmLong bool) (store.LoadTest, error) {
	limits := r.cfg.Limits
	limits.ConfirmLong = confirmLong
	// The run outlives the request, but the row that starts it carries the
	// request's audit (store.WithAudit) in its transaction.
	rec, err := r.rc.Start(store.CarryAudit(r.ctx, ctx), sc, engine.Options{Limits: &limits, Env: engine.NoEnv, Logger: r.logger}, user)
	if err != nil {
		return store.LoadTest{}, err
	}
	id := rec.LoadTest.ID
	r.mu.Lock()
	r.running[id] = &run{rec: rec}
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_, out, err := rec.Wait(r.ctx)
		switch {
		case errors.Is(err, store.ErrConflict):
			r.logger.Warn("load test ended elsewhere before its result was recorded", "id", id, "err", err)
		case err != nil:
			r.logger.Error("load test", "id", id, "err", err)
		default:
			r.logger.Info("load test finished", "id", id, "status", out.LoadTest.Status, "regressed", out.Regressed())
		}
		r.mu.Lock()
		delete(r.running, id)
		r.mu.Unlock()
	}()
	return rec.LoadTest, nil
}

// Progress is the live progress of a test running here.
func (r *Runner) Progress(id string) (engine.Progress, bool) {
	r.mu.Lock()
	ru := r.running[id]
	r.mu.Unlock()
	if ru == nil {
		return engine.Progress{}, false
	}
	return ru.rec.Run.Progress(), true
}

// Cancel stops a test running here; its partial results are recorded with
// status cancelled. false if it does not run here. Cancelling twice is
// cancelling once.
func (r *Runner) Cancel(id string) bool {
	return r.cancel(id, "load test cancelled")
}

func (r *Runner) cancel(id, msg string, args ...any) bool {
	r.mu.Lock()
	ru := r.running[id]
	first := ru != nil && !ru.cancelled
	if ru != nil {
		ru.cancelled = true
	}
	r.mu.Unlock()
	if ru == nil {
		return false
	}
	if first {
		r.logger.Info(msg, append([]any{"id", id, "holder", r.cfg.Holder}, args...)...)
	}
	ru.rec.Run.Cancel()
	return true
}

// Wait blocks until ctx has ended and every run has been recorded.
func (r *Runner) Wait() { r.wg.Wait() }

// String describes the runner for logs.
func (r *Runner) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d load tests running", len(r.running))
}
