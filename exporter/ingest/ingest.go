// Package ingest runs each billing source in the background on its own
// interval, with a timeout and exponential backoff (a 429's Retry-After is
// honoured), checks every line against the store's rules, attributes it to
// a team and feature, and replaces the source's days in cost_tracking in
// one transaction. A source's health is exported as metrics.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/exporter/attribution"
	"github.com/wedsync/scaling/exporter/billing"
	"github.com/wedsync/scaling/exporter/config"
)

// Currency is the only currency recorded: metric names say _usd.
const Currency = "USD"

// Store is what ingest writes to.
type Store interface {
	ReplaceCosts(ctx context.Context, source string, scope store.CostScope, rows []store.CostRecord) (store.ReplaceResult, error)
}

var _ Store = (*store.Store)(nil)

// forgetter is a source that caches what it read (files) and must read
// again after a failed write.
type forgetter interface{ Forget() }

// Runner refreshes one source.
type Runner struct {
	Name    string
	Source  billing.Source
	Refresh config.Refresh
	Store   Store
	Rules   attribution.Rules
	Logger  *slog.Logger
	// OnChange is called after a refresh changed stored rows.
	OnChange func()
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sleep waits for d or until ctx ends (a timer when nil).
	Sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	status Status
}

// Status is a source's health as the metrics show it.
type Status struct {
	Attempted   bool
	Up          bool
	Duration    time.Duration // of the last attempt
	LastSuccess time.Time
	LastError   string
	Rows        int // lines written by the last successful refresh
	RowErrors   int // lines refused by the last attempt
	Successes   int
	Failures    int
}

// Status returns a copy of the source's health.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run refreshes until ctx ends: at once, then every interval after a
// success, or after a backoff (doubling from Initial up to Max, at least
// the source's Retry-After) after a failure.
func (r *Runner) Run(ctx context.Context) {
	wait := r.Sleep
	if wait == nil {
		wait = sleep
	}
	first, failures := true, 0
	for {
		err := r.RefreshOnce(ctx, first)
		if ctx.Err() != nil {
			return
		}
		next := r.Refresh.Interval.D()
		if err == nil {
			first, failures = false, 0
		} else {
			failures++
			next = Backoff(r.Refresh.Backoff, failures, err)
			r.Logger.Warn("billing source failed", "source", r.Name, "err", err, "retry_in", next.String(), "failures", failures)
		}
		if wait(ctx, next) != nil {
			return
		}
	}
}

// Backoff is the wait after the n-th failure in a row.
func Backoff(b config.Backoff, n int, err error) time.Duration {
	d := b.Initial.D()
	for i := 1; i < n && d < b.Max.D(); i++ {
		d *= 2
	}
	d = min(d, b.Max.D())
	if ra, ok := billing.RetryAfter(err); ok && ra > d {
		d = ra
	}
	return d
}

// Window is what a refresh reads: through today (billing of the day so
// far), back Lookback days, or Backfill on the first refresh.
func Window(now time.Time, r config.Refresh, first bool) billing.Window {
	span := r.Lookback.D()
	if first {
		span = r.Backfill.D()
	}
	to := billing.Day(now).AddDate(0, 0, 1)
	return billing.Window{From: to.Add(-span), To: to}
}

// RefreshOnce reads the source once and writes what it read.
func (r *Runner) RefreshOnce(ctx context.Context, first bool) error {
	start := r.now()
	ctx, cancel := context.WithTimeout(ctx, r.Refresh.Timeout.D())
	defer cancel()
	rows, rowErrs, changed, err := r.refresh(ctx, Window(start, r.Refresh, first))
	took := r.now().Sub(start)
	r.mu.Lock()
	s := &r.status
	s.Attempted, s.Duration, s.RowErrors = true, took, len(rowErrs)
	if err == nil {
		s.Up, s.LastSuccess, s.LastError, s.Rows = true, r.now(), "", rows
		s.Successes++
	} else {
		s.Up, s.LastError = false, err.Error()
		s.Failures++
	}
	r.mu.Unlock()
	for i, e := range rowErrs {
		if i == 20 {
			r.Logger.Warn("more rows refused", "source", r.Name, "count", len(rowErrs)-i)
			break
		}
		r.Logger.Warn("row refused", "source", r.Name, "where", e.Where, "err", e.Err)
	}
	if err != nil {
		return err
	}
	r.Logger.Info("billing source refreshed", "source", r.Name, "rows", rows, "refused", len(rowErrs), "changed", changed, "duration", took.String())
	if changed && r.OnChange != nil {
		r.OnChange()
	}
	return nil
}

func (r *Runner) refresh(ctx context.Context, w billing.Window) (rows int, rowErrs []billing.RowError, changed bool, err error) {
	b, err := r.Source.Fetch(ctx, w)
	if err != nil {
		return 0, nil, false, err
	}
	if b.Unchanged {
		return 0, nil, false, nil
	}
	records, rowErrs := r.records(b, w)
	scope := store.CostScope{All: b.All, Days: b.Days}
	if !b.All && b.Days == nil {
		scope.Days = w.Days()
	}
	res, err := r.Store.ReplaceCosts(ctx, r.Name, scope, records)
	if err != nil {
		if f, ok := r.Source.(forgetter); ok {
			f.Forget()
		}
		return 0, rowErrs, false, fmt.Errorf("write: %w", err)
	}
	return len(records), rowErrs, res.Deleted > 0 || res.Inserted > 0, nil
}

// records checks and attributes the lines; the refused ones come back as
// row errors, the rest stand.
func (r *Runner) records(b billing.Batch, w billing.Window) ([]store.CostRecord, []billing.RowError) {
	errs := append([]billing.RowError(nil), b.Errors...)
	inScope := func(d time.Time) bool {
		switch {
		case b.All:
			return true
		case b.Days != nil:
			for _, day := range b.Days {
				if day.Equal(d) {
					return true
				}
			}
			return false
		}
		return w.Contains(d)
	}
	out := make([]store.CostRecord, 0, len(b.Lines))
	for _, l := range b.Lines {
		refuse := func(err error) { errs = append(errs, billing.RowError{Where: l.Origin, Err: err}) }
		switch {
		case l.Currency != Currency:
			refuse(fmt.Errorf("currency %s, not %s", l.Currency, Currency))
			continue
		case l.Service == "":
			refuse(errors.New("no service"))
			continue
		case !inScope(l.Date):
			refuse(fmt.Errorf("dated %s, outside the days read", l.Date.Format(time.DateOnly)))
			continue
		}
		if err := billing.CheckAmount(l.Amount); err != nil {
			refuse(fmt.Errorf("amount %s: %v", l.Amount, err))
			continue
		}
		if l.UsageQuantity.Valid {
			if err := billing.CheckAmount(l.UsageQuantity.Decimal); err != nil {
				refuse(fmt.Errorf("usage quantity %s: %v", l.UsageQuantity.Decimal, err))
				continue
			}
		}
		team, feature := r.Rules.Attribute(r.Name, l)
		out = append(out, store.CostRecord{Date: l.Date, Service: l.Service, ResourceType: l.Resource, ResourceID: l.ResourceID,
			ChargeCategory: l.ChargeCategory, ChargeClass: l.ChargeClass, Team: team, Feature: feature, Amount: l.Amount, Currency: l.Currency,
			UsageQuantity: l.UsageQuantity, UsageUnit: l.UsageUnit, Tags: l.Tags})
	}
	return out, errs
}
