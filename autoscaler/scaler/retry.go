package scaler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Retry re-applies the after state of a failed event, through the
// service's current bounds, as a new logged event (initiated_by "retry",
// retry_of the failed one), with the limits, logging and audit of any
// manual action. The failure may have half-applied: the new event starts
// from the service's real state now, read from its actuator, and a service
// already at the target is recorded as such (a completed retry that moved
// nothing), which ends the failure. It waits for the action to finish.
// dryRun returns the plan without acting. A ConflictError says the event is
// not failed, or is already being retried.
func (s *Scaler) Retry(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error) {
	orig, err := s.cfg.Store.GetEvent(ctx, eventID)
	if err != nil {
		return store.Event{}, err
	}
	if orig.Status != store.StatusFailed {
		return store.Event{}, &store.ConflictError{What: "scaling event " + eventID, State: string(orig.Status)}
	}
	if orig.Type == store.EventMigration {
		return s.retryTransition(ctx, orig, user, dryRun)
	}
	if err := s.loadPhase(ctx); err != nil {
		return store.Event{}, err
	}
	p := s.effective(orig.Service)
	if p == nil {
		return store.Event{}, fmt.Errorf("service %s is no longer in the policy file: %w", orig.Service, store.ErrNotFound)
	}
	var after actuator.State
	if err := json.Unmarshal(orig.After, &after); err != nil {
		return store.Event{}, fmt.Errorf("event %s: after_config: %w", eventID, err)
	}
	want, err := levelOf(p, after)
	if err != nil {
		return store.Event{}, fmt.Errorf("event %s: %w", eventID, err)
	}
	act := s.actuator(orig.Service)
	cur, level, err := s.current(ctx, orig.Service, p, act)
	if err != nil {
		return store.Event{}, err
	}
	lo, hi := p.Bounds()
	target := min(max(want, lo), hi)
	reason := "retry of " + eventID
	if target != want {
		reason += fmt.Sprintf(" (clamped to the current bounds [%d, %d])", lo, hi)
	}
	typ := orig.Type
	if target != level {
		// The same rate policies and cooldown as a manual action, counted
		// from every replica's events.
		now := s.cfg.Now()
		in := decision.Input{Now: now, Current: level, HistorySince: s.started}
		if set := p.ScheduleSet(); set != nil {
			in.Schedule = set.At(now)
		}
		if ss := s.ctl(orig.Service); ss != nil {
			ss.mu.Lock()
			in, err = s.refresh(ctx, ss, p, orig.Service, in)
			ss.mu.Unlock()
			if err != nil {
				return store.Event{}, err
			}
		}
		out := decision.Limit(p, in, target)
		if out.Outcome != decision.Scale {
			return store.Event{}, &store.ConflictError{What: "service " + orig.Service, State: fmt.Sprintf("%s (%s): %s", cur, out.Outcome, out.Reason)}
		}
		if out.Target != target {
			reason += fmt.Sprintf(" (rate policies allow %d now)", out.Target)
		}
		target, typ = out.Target, direction(level, out.Target)
	} else {
		reason += " (already at its target: nothing to apply)"
	}
	st := s.state(p, target)
	ne := store.NewEvent{Type: typ, Service: orig.Service, TriggerReason: reason,
		TriggerMetrics: mustJSON(map[string]any{"retry_of": eventID, "failed_with": orig.ErrorMessage}),
		Before:         mustJSON(cur), After: mustJSON(st), InitiatedBy: "retry", InitiatedUserID: user,
		CostImpactMonthly: costDelta(p, level, target), Owner: s.holder(), RetryOf: eventID}
	if dryRun {
		return store.Event{Type: ne.Type, Service: ne.Service, TriggerReason: ne.TriggerReason, TriggerMetrics: ne.TriggerMetrics,
			Before: ne.Before, After: ne.After, InitiatedBy: ne.InitiatedBy, InitiatedUserID: user,
			CostImpactMonthly: ne.CostImpactMonthly, RetryOf: eventID}, nil
	}
	if s.isBusy(orig.Service) {
		return store.Event{}, fmt.Errorf("%s: %w", orig.Service, store.ErrBusy)
	}
	return s.runNow(ctx, p, act, ne, st, "")
}

// retryTransition starts the failed transition's move again, to the same
// phase, re-planned from the services' real states.
func (s *Scaler) retryTransition(ctx context.Context, orig store.Event, user string, dryRun bool) (store.Event, error) {
	ph, err := s.phaseNamed(ctx, orig, orig.After)
	if err != nil {
		return store.Event{}, err
	}
	ev, _, err := s.transition(ctx, ph, user, dryRun, "", orig.ID)
	if dryRun && err == nil {
		ev.RetryOf = orig.ID
	}
	return ev, err
}

// runNow writes a manual action's event (a rollback's when rollbackOf is
// set) and runs it to its end, the service busy meanwhile.
func (s *Scaler) runNow(ctx context.Context, p *policy.Service, act actuator.Actuator, ne store.NewEvent, target actuator.State, rollbackOf string) (store.Event, error) {
	ev, err := s.begin(ctx, ne, rollbackOf)
	if err != nil {
		return store.Event{}, err
	}
	s.mu.Lock()
	s.busy[ev.Service] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.busy, ev.Service)
		s.mu.Unlock()
	}()
	// The action lives as long as the loop, not the request: a client that
	// hangs up must not leave the event in_progress under a live lease.
	return s.execute(s.actionContext(), p, act, ev, target, time.Time{}, nil), nil
}

// phaseNamed is the growth phase a migration event's before or after
// config (raw) names.
func (s *Scaler) phaseNamed(ctx context.Context, ev store.Event, raw json.RawMessage) (store.Phase, error) {
	var named struct {
		PhaseID string `json:"phase_id"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.PhaseID == "" {
		return store.Phase{}, fmt.Errorf("event %s names no phase", ev.ID)
	}
	phases, err := s.cfg.Store.ListPhases(ctx)
	if err != nil {
		return store.Phase{}, err
	}
	for _, p := range phases {
		if p.ID == named.PhaseID {
			return p, nil
		}
	}
	return store.Phase{}, fmt.Errorf("event %s: phase %s no longer exists: %w", ev.ID, named.PhaseID, store.ErrNotFound)
}
