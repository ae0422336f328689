package scaler

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/core/store"
)

// Rollback re-applies the before state of a completed or failed event (a
// failed action may have half-applied), through the service's current
// bounds, as a new logged event whose before is the service's real state
// now; on success the original is marked rolled_back. It waits for the
// action to finish. dryRun returns the plan (an unsaved event) without
// acting.
func (s *Scaler) Rollback(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error) {
	orig, err := s.cfg.Store.GetEvent(ctx, eventID)
	if err != nil {
		return store.Event{}, err
	}
	if orig.Status != store.StatusCompleted && orig.Status != store.StatusFailed {
		return store.Event{}, &store.ConflictError{What: "scaling event " + eventID, State: string(orig.Status)}
	}
	if orig.Type == store.EventMigration {
		return s.rollbackTransition(ctx, orig, user, dryRun)
	}
	if err := s.loadPhase(ctx); err != nil {
		return store.Event{}, err
	}
	p := s.rollbackPolicy(orig)
	if p == nil {
		return store.Event{}, fmt.Errorf("service %s is no longer in the policy file", orig.Service)
	}
	var before actuator.State
	if err := json.Unmarshal(orig.Before, &before); err != nil {
		return store.Event{}, fmt.Errorf("event %s: before_config: %w", eventID, err)
	}
	want, err := levelOf(p, before)
	if err != nil {
		return store.Event{}, fmt.Errorf("event %s: %w", eventID, err)
	}
	lo, hi := p.Bounds()
	level := min(max(want, lo), hi)
	reason := "rollback of " + eventID
	if level != want {
		reason += fmt.Sprintf(" (clamped to the current bounds [%d, %d])", lo, hi)
	}
	act := s.actuator(orig.Service)
	cur, curLevel, err := s.current(ctx, orig.Service, p, act)
	if err != nil {
		return store.Event{}, err
	}
	target := s.state(p, level)
	typ := direction(curLevel, level)
	if level == curLevel {
		// Nothing to move, but the rollback is still recorded as the
		// opposite of what it undoes.
		typ = store.EventScaleUp
		if orig.Type == store.EventScaleUp {
			typ = store.EventScaleDown
		}
	}
	ne := store.NewEvent{Type: typ, Service: orig.Service, TriggerReason: reason,
		TriggerMetrics: mustJSON(map[string]any{"rollback_of": eventID}),
		Before:         mustJSON(cur), After: mustJSON(target), InitiatedBy: "rollback", InitiatedUserID: user,
		CostImpactMonthly: costDelta(p, curLevel, level), Owner: s.holder()}
	if dryRun {
		return store.Event{Type: ne.Type, Service: ne.Service, TriggerReason: ne.TriggerReason, Before: ne.Before,
			After: ne.After, InitiatedBy: ne.InitiatedBy, CostImpactMonthly: ne.CostImpactMonthly, RollbackOf: eventID}, nil
	}
	return s.runNow(ctx, p, act, ne, target, eventID)
}

// rollbackTransition moves back to the phase a migration event left, as a
// new migration that rolls the first back.
func (s *Scaler) rollbackTransition(ctx context.Context, orig store.Event, user string, dryRun bool) (store.Event, error) {
	ph, err := s.phaseNamed(ctx, orig, orig.Before)
	if err != nil {
		return store.Event{}, err
	}
	ev, _, err := s.transition(ctx, ph, user, dryRun, orig.ID, "")
	if dryRun && err == nil {
		ev.RollbackOf = orig.ID
	}
	return ev, err
}
