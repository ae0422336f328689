package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// running is an action of the loop in flight: while its replicas are
// still provisioning, a later evaluation may raise its target (see extend).
type running struct {
	ev     store.Event
	up     bool
	level  int                 // the level it is taking the service to
	extend chan actuator.State // raised targets, already logged in the event
}

// start runs an already-logged action in the background.
func (s *Scaler) start(ctx context.Context, p *policy.Service, act actuator.Actuator, ev store.Event, target actuator.State, received time.Time) {
	ctx = outlive(ctx) // not cut off when the evaluation that started it returns
	level, _ := levelOf(p, target)
	var before actuator.State
	_ = json.Unmarshal(ev.Before, &before)
	from, _ := levelOf(p, before)
	r := &running{ev: ev, up: ev.Type == store.EventScaleUp && p.Mode == policy.Horizontal && level > from, level: level,
		extend: make(chan actuator.State, 1)}
	s.mu.Lock()
	s.busy[ev.Service] = true
	s.running[ev.Service] = r
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.busy, ev.Service)
			delete(s.running, ev.Service)
			s.mu.Unlock()
		}()
		s.execute(ctx, p, act, ev, target, received, r.extend)
	}()
}

// execute applies target, waits for it to show (and for any raised target
// sent on extend), and finishes the event. If ctx ends first (shutdown),
// the event stays in_progress for Reconcile.
func (s *Scaler) execute(ctx context.Context, p *policy.Service, act actuator.Actuator, ev store.Event, target actuator.State,
	received time.Time, extend <-chan actuator.State) store.Event {
	if !received.IsZero() {
		s.cfg.Metrics.decisionLatency.Observe(time.Since(received).Seconds())
	}
	err := s.apply(ctx, ev.Service, act, target)
	if err == nil {
		err = s.settle(ctx, ev.Service, act, target, p.SettleTimeout.D(), extend)
	}
	if ctx.Err() != nil {
		s.cfg.Logger.Warn("shutting down during an action; it stays in_progress and is reconciled at the next start",
			"service", ev.Service, "event_id", ev.ID)
		return ev
	}
	status, msg := store.StatusCompleted, ""
	if err != nil {
		status, msg = store.StatusFailed, err.Error()
	}
	return s.finish(ctx, ev, status, msg)
}

func (s *Scaler) apply(ctx context.Context, service string, act actuator.Actuator, target actuator.State) error {
	t0 := time.Now()
	err := act.Apply(ctx, target)
	s.cfg.Metrics.actuatorDuration.WithLabelValues(service, "apply").Observe(time.Since(t0).Seconds())
	return err
}

func (s *Scaler) finish(ctx context.Context, ev store.Event, status store.EventStatus, msg string) store.Event {
	done, err := s.closeEvent(ctx, ev, status, msg)
	if err != nil {
		s.cfg.Logger.Error("finish event", "event_id", ev.ID, "status", status, "err", err)
		return ev
	}
	s.cfg.Metrics.events.WithLabelValues(done.Service, string(done.Type), string(done.Status)).Inc()
	if ss := s.ctl(done.Service); ss != nil {
		// Cooldown counts from here; a completed scale-up's duration is how
		// long the service takes to become ready (the forecasts' lead).
		var ready time.Duration
		if done.Type == store.EventScaleUp && done.Status == store.StatusCompleted && done.DurationMS != nil {
			ready = time.Duration(*done.DurationMS) * time.Millisecond
		}
		ss.mu.Lock()
		ss.ctl.Finished(s.cfg.Now(), ready)
		ss.mu.Unlock()
	}
	if status == store.StatusFailed {
		s.cfg.Logger.Error("scaling action failed", "service", done.Service, "event_id", done.ID, "err", msg)
		if s.cfg.Alerter != nil {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.cfg.Alerter.ActionFailed(actx, done)
			cancel()
			if err != nil {
				s.cfg.Logger.Error("raise alert for failed action", "event_id", done.ID, "err", err)
			}
		}
	} else {
		s.cfg.Logger.Info("scaling action completed", "service", done.Service, "event_id", done.ID, "after", string(done.After))
	}
	return done
}

// closeEvent records an action's outcome, retrying with backoff (at most
// closeBackoffMax apart) until it lands: the action happened, so the log
// must say so, and the service stays busy meanwhile — but only until
// PostgreSQL answers again, not until a reconcile pass minutes later. It
// gives up when another replica owns or closed the event (a ConflictError:
// this replica's lease lapsed and the event was taken over) and at
// shutdown, when the event stays in_progress for whoever takes it over.
func (s *Scaler) closeEvent(ctx context.Context, ev store.Event, status store.EventStatus, msg string) (store.Event, error) {
	backoff := closeBackoffMin
	for attempt := 1; ; attempt++ {
		done, err := s.cfg.Store.CloseEvent(ctx, ev.ID, s.holder(), status, msg)
		var ce *store.ConflictError
		switch {
		case err == nil:
			if attempt > 1 {
				s.cfg.Logger.Info("event closed after the database came back", "event_id", ev.ID, "attempts", attempt)
			}
			return done, nil
		case errors.As(err, &ce), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
			return store.Event{}, err
		case ctx.Err() != nil:
			return store.Event{}, fmt.Errorf("shutting down with the event unclosed (reconciled by its next owner): %w", err)
		}
		s.cfg.Metrics.closeRetries.WithLabelValues(ev.Service).Inc()
		if attempt == 1 || attempt%10 == 0 {
			s.cfg.Logger.Warn("record the action's outcome; retrying", "event_id", ev.ID, "status", status, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, closeBackoffMax)
	}
}

// Backoff between attempts to close an event: the service unblocks at most
// closeBackoffMax after the database is back.
const (
	closeBackoffMin = 100 * time.Millisecond
	closeBackoffMax = time.Second
)

// settle polls the actuator until it reads target. A raised target
// arriving on extend (already logged) is applied at once and awaited
// instead, with a fresh timeout.
func (s *Scaler) settle(ctx context.Context, service string, act actuator.Actuator, target actuator.State, timeout time.Duration,
	extend <-chan actuator.State) error {
	deadline := time.Now().Add(timeout)
	var last actuator.State
	var lastErr error
	for {
		t0 := time.Now()
		cur, err := act.Current(ctx)
		s.cfg.Metrics.actuatorDuration.WithLabelValues(service, "current").Observe(time.Since(t0).Seconds())
		if err == nil && cur == target {
			select {
			case next := <-extend:
				// Raised while the last poll ran: not done yet.
				if err := s.apply(ctx, service, act, next); err != nil {
					return err
				}
				target, deadline = next, time.Now().Add(timeout)
				continue
			default:
				return nil
			}
		}
		last, lastErr = cur, err
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("not settled after %s: %w", timeout, lastErr)
			}
			return fmt.Errorf("not settled after %s: actuator reads %s, want %s", timeout, last, target)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case next := <-extend:
			if err := s.apply(ctx, service, act, next); err != nil {
				return err
			}
			target, deadline = next, time.Now().Add(timeout)
		case <-time.After(s.cfg.SettlePoll):
		}
	}
}

// Reconcile settles unfinished events against the actuators' real state.
// With a lease, only orphans are taken: events whose owner's lease has
// expired, once no actuator call of the dead owner can still be running
// (its actuator timeout has passed since) — each adopted by exactly one
// replica. Without one, at start-up every unfinished event, later only
// those older than their settle timeout that this process is not running.
// An action already visible is completed; one not visible at all (or half
// applied) is applied again (targets are absolute, so applying twice is
// applying once); any other state means someone else changed the service,
// and the event fails.
func (s *Scaler) Reconcile(ctx context.Context, startup bool) {
	if s.cfg.Lease != nil {
		s.reconcileOrphans(ctx)
		return
	}
	events, err := s.cfg.Store.UnfinishedEvents(ctx)
	if err != nil {
		s.cfg.Logger.Warn("list unfinished events", "err", err)
		return
	}
	now := s.cfg.Now()
	for _, ev := range events {
		if s.isBusy(ev.Service) {
			continue
		}
		p := s.service(ev.Service)
		if !startup && (p == nil || now.Sub(ev.StartedAt) < p.SettleTimeout.D()+time.Minute) {
			continue
		}
		s.reconcileOne(ctx, p, ev)
	}
}

func (s *Scaler) reconcileOrphans(ctx context.Context) {
	if !s.cfg.Lease.Valid() {
		return
	}
	orphans, err := s.cfg.Store.OrphanedEvents(ctx, s.cfg.ActuatorTimeout)
	if err != nil {
		s.cfg.Logger.Warn("list orphaned events", "err", err)
		return
	}
	for _, o := range orphans {
		if s.isBusy(o.Service) {
			continue
		}
		if !o.Quiet {
			s.cfg.Logger.Info("orphaned event: waiting until its dead owner's actuator calls must have ended",
				"event_id", o.ID, "service", o.Service, "owner", o.Owner, "actuator_timeout", s.cfg.ActuatorTimeout)
			continue
		}
		ev, err := s.cfg.Store.AdoptEvent(ctx, o.ID, s.holder())
		if err != nil {
			// Another replica took it first, or its owner is back.
			s.cfg.Logger.Info("orphaned event not adopted", "event_id", o.ID, "err", err)
			continue
		}
		s.cfg.Logger.Warn("adopted an orphaned event", "event_id", ev.ID, "service", ev.Service, "previous_owner", o.Owner)
		s.reconcileOne(ctx, s.service(ev.Service), ev)
	}
}

func (s *Scaler) reconcileOne(ctx context.Context, p *policy.Service, ev store.Event) {
	log := s.cfg.Logger.With("event_id", ev.ID, "service", ev.Service)
	if ev.Type == store.EventMigration {
		s.resumeTransition(ctx, ev)
		return
	}
	if p == nil {
		s.finish(ctx, ev, store.StatusFailed, "interrupted, and the service is no longer in the policy file")
		return
	}
	var before, after actuator.State
	if err := errors.Join(json.Unmarshal(ev.Before, &before), json.Unmarshal(ev.After, &after)); err != nil {
		s.finish(ctx, ev, store.StatusFailed, "interrupted, and its states cannot be read: "+err.Error())
		return
	}
	act := s.actuator(ev.Service)
	cur, err := act.Current(ctx)
	if err != nil {
		log.Warn("reconcile: read current state; will retry", "err", err)
		return
	}
	switch {
	case cur == after:
		log.Info("reconcile: action had taken effect", "state", cur.String())
		s.cfg.Metrics.adopted.WithLabelValues(ev.Service, "completed").Inc()
		s.finish(ctx, ev, store.StatusCompleted, "")
	case cur == before:
		log.Info("reconcile: action had not taken effect; applying it again", "target", after.String())
		s.cfg.Metrics.adopted.WithLabelValues(ev.Service, "reapplied").Inc()
		s.start(ctx, p, act, ev, after, time.Time{})
	case partly(before, cur, after):
		// Interrupted on its way (a fleet converging replica by replica, a
		// scale-up whose target was raised in flight): finish it.
		log.Info("reconcile: action partly applied; applying its target", "state", cur.String(), "target", after.String())
		s.cfg.Metrics.adopted.WithLabelValues(ev.Service, "reapplied").Inc()
		s.start(ctx, p, act, ev, after, time.Time{})
	default:
		s.cfg.Metrics.adopted.WithLabelValues(ev.Service, "failed").Inc()
		s.finish(ctx, ev, store.StatusFailed, fmt.Sprintf("interrupted; the service is now at %s, neither %s (before) nor %s (after): changed outside the autoscaler", cur, before, after))
	}
}

// partly reports a horizontal action that stands between its before and
// after states.
func partly(before, cur, after actuator.State) bool {
	if cur.Tier != "" || before.Tier != "" || after.Tier != "" {
		return false
	}
	lo, hi := min(before.Replicas, after.Replicas), max(before.Replicas, after.Replicas)
	return lo < cur.Replicas && cur.Replicas < hi
}
