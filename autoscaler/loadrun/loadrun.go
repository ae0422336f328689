// Package loadrun runs load tests inside the autoscaler for the admin API,
// with the load-testing library, and keeps the running ones so they can be
// watched and cancelled. Runs belong to the server, not to the request that
// started them.
package loadrun

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// Runner starts and tracks load tests.
type Runner struct {
	ctx    context.Context
	rc     *record.Recorder
	limits scenario.Limits
	logger *slog.Logger

	mu      sync.Mutex
	running map[string]*record.Recorded
	wg      sync.WaitGroup
}

// New makes a runner whose runs live until ctx ends.
func New(ctx context.Context, rc *record.Recorder, limits scenario.Limits, logger *slog.Logger) *Runner {
	return &Runner{ctx: ctx, rc: rc, limits: limits, logger: logger, running: map[string]*record.Recorded{}}
}

// Start validates sc (nothing is sent if it is invalid or over the
// limits), records it as running and starts it. Headers never read the
// server's environment.
func (r *Runner) Start(ctx context.Context, sc scenario.Scenario, user string, confirmLong bool) (store.LoadTest, error) {
	limits := r.limits
	limits.ConfirmLong = confirmLong
	// The run outlives the request, but the row that starts it carries the
	// request's audit (store.WithAudit) in its transaction.
	rec, err := r.rc.Start(store.CarryAudit(r.ctx, ctx), sc, engine.Options{Limits: &limits, Env: engine.NoEnv, Logger: r.logger}, user)
	if err != nil {
		return store.LoadTest{}, err
	}
	id := rec.LoadTest.ID
	r.mu.Lock()
	r.running[id] = rec
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_, out, err := rec.Wait(r.ctx)
		if err != nil {
			r.logger.Error("load test", "id", id, "err", err)
		} else {
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
	rec := r.running[id]
	r.mu.Unlock()
	if rec == nil {
		return engine.Progress{}, false
	}
	return rec.Run.Progress(), true
}

// Cancel stops a test running here; its partial results are recorded with
// status cancelled. false if it does not run here.
func (r *Runner) Cancel(id string) bool {
	r.mu.Lock()
	rec := r.running[id]
	r.mu.Unlock()
	if rec == nil {
		return false
	}
	rec.Run.Cancel()
	return true
}

// Wait blocks until every run has ended and been recorded.
func (r *Runner) Wait() { r.wg.Wait() }

// String describes the runner for logs.
func (r *Runner) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d load tests running", len(r.running))
}
