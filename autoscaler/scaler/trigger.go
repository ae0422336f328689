package scaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/core/store"
)

// Trigger is a manual scaling request (admin API). Either Target names the
// absolute state wanted, or Action asks for what the metrics call for in a
// direction, as an alert would.
type Trigger struct {
	Target *actuator.State
	Action store.EventType // scale_up or scale_down, when Target is nil
	Reason string
	User   string
	DryRun bool
	// Optimization records the event as an `optimization` initiated by a
	// recommendation instead of a manual scale_up/scale_down.
	Optimization bool
	// Recommendation is the approved recommendation the action implements
	// (its id): its event's close settles it.
	Recommendation string
	// Bounds, when set, are the override the recommendation will leave in
	// force: checked against the policy file (ErrBadTarget outside it) and
	// used instead of the override in force to judge Target.
	Bounds *store.Bounds
}

// ErrAtTarget means a recommendation's target is already the service's
// state: nothing to act on (its bounds are still to be recorded).
var ErrAtTarget = errors.New("already at the target")

// ErrNoChange means a manual request would leave the service as it is.
var ErrNoChange = errors.New("no change")

// Trigger runs a manual action through the same limits as an automatic one
// — bounds, the direction's rate limit and cooldown — and logs it as an
// event initiated by the user. It returns once the event is written; the
// action runs on. DryRun returns the event that would be written.
func (s *Scaler) Trigger(ctx context.Context, name string, t Trigger) (store.Event, error) {
	if err := s.loadPhase(ctx); err != nil {
		return store.Event{}, err
	}
	p := s.effective(name)
	if p == nil {
		return store.Event{}, fmt.Errorf("service %q: %w", name, store.ErrNotFound)
	}
	if t.Bounds != nil {
		if err := checkOverride(s.service(name), *t.Bounds); err != nil {
			return store.Event{}, fmt.Errorf("%w: %w", ErrBadTarget, err)
		}
		p = s.effectiveWith(name, t.Bounds)
	}
	act := s.actuator(name)
	cur, level, err := s.current(ctx, name, p, act)
	if err != nil {
		return store.Event{}, err
	}
	now := s.cfg.Now()
	in := decision.Input{Now: now, Current: level, HistorySince: s.started}
	if set := p.ScheduleSet(); set != nil {
		in.Schedule = set.At(now)
	}
	// The same rate policies and cooldown as the loop, counted from the
	// event log (every replica's actions).
	if ss := s.ctl(name); ss != nil {
		ss.mu.Lock()
		in, err = s.refresh(ctx, ss, p, name, in)
		ss.mu.Unlock()
		if err != nil {
			return store.Event{}, err
		}
	}
	var out decision.Output
	if t.Target != nil {
		want, err := levelOf(p, *t.Target)
		if err != nil {
			return store.Event{}, fmt.Errorf("%w: %w", ErrBadTarget, err)
		}
		// Bounds are hard: a person asking past them is told so, not clamped.
		if lo, hi := decision.Bounds(p, in.Schedule); want < lo || want > hi {
			if p.Mode == policy.Vertical {
				return store.Event{}, fmt.Errorf("%w: tier %s is outside the bounds in force [%s, %s]", ErrBadTarget,
					t.Target.Tier, p.Tiers[lo].Name, p.Tiers[hi].Name)
			}
			return store.Event{}, fmt.Errorf("%w: %d is outside the bounds in force [%d, %d]", ErrBadTarget, want, lo, hi)
		}
		if t.Recommendation != "" && want == level {
			return store.Event{}, fmt.Errorf("%s is at %s: %w", name, cur, ErrAtTarget)
		}
		out = decision.Limit(p, in, want)
	} else {
		// "As an alert would": the metrics decide, in the asked direction,
		// with the window taken as observed (a person asked).
		in.Allow = &decision.Directions{Up: t.Action == store.EventScaleUp, Down: t.Action == store.EventScaleDown}
		in.Observations = s.cfg.Observer.Observe(ctx, p)
		in.HistorySince = time.Time{}
		out = decision.Decide(p, in)
	}
	if out.Outcome != decision.Scale {
		return store.Event{}, &store.ConflictError{What: "service " + name, State: fmt.Sprintf("%s (%s): %s", cur, out.Outcome, out.Reason)}
	}
	target := s.state(p, out.Target)
	reason, typ, by := "manual", direction(level, out.Target), "manual"
	if t.Optimization {
		reason, typ, by = "recommendation", store.EventOptimization, "recommendation"
	}
	if t.Reason != "" {
		reason += ": " + t.Reason
	}
	ne := store.NewEvent{Type: typ, Service: name, TriggerReason: reason,
		TriggerMetrics: mustJSON(map[string]any{"decision": out, "requested": t.Target, "action": t.Action}),
		Before:         mustJSON(cur), After: mustJSON(target), InitiatedBy: by, InitiatedUserID: t.User,
		CostImpactMonthly: costDelta(p, level, out.Target), Owner: s.holder(), Recommendation: t.Recommendation}
	if t.DryRun {
		return store.Event{Type: ne.Type, Service: name, TriggerReason: reason, TriggerMetrics: ne.TriggerMetrics,
			Before: ne.Before, After: ne.After, InitiatedBy: ne.InitiatedBy, InitiatedUserID: t.User,
			CostImpactMonthly: ne.CostImpactMonthly}, nil
	}
	s.mu.Lock()
	busy := s.busy[name]
	s.mu.Unlock()
	if busy {
		return store.Event{}, fmt.Errorf("%s: %w", name, store.ErrBusy)
	}
	ev, err := s.begin(ctx, ne, "")
	if err != nil {
		return store.Event{}, err
	}
	s.start(s.actionContext(), p, act, ev, target, time.Time{})
	return ev, nil
}

// ErrBadTarget means a manual target does not fit the service's policy
// (a tier for a horizontal service, an unknown tier).
var ErrBadTarget = errors.New("bad target")

// actionContext is the context actions started outside the loop run in:
// the loop's, so that a shutdown stops them the same way.
func (s *Scaler) actionContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx != nil {
		return s.runCtx
	}
	return context.Background()
}

// Current reads a service's state and its level (replicas, or the tier's
// position on the ladder) with the bounds in force.
func (s *Scaler) Current(ctx context.Context, name string) (actuator.State, int, error) {
	if err := s.loadPhase(ctx); err != nil {
		return actuator.State{}, 0, err
	}
	p := s.effective(name)
	if p == nil {
		return actuator.State{}, 0, fmt.Errorf("service %q: %w", name, store.ErrNotFound)
	}
	return s.current(ctx, name, p, s.actuator(name))
}

// MaxReplicas is a horizontal service's maximum with the bounds in force.
func (s *Scaler) MaxReplicas(name string) (int, bool) {
	p := s.effective(name)
	if p == nil || p.Mode != policy.Horizontal {
		return 0, false
	}
	_, hi := p.Bounds()
	return hi, true
}

// Bounds is a service's [min, max] level in force: the policy file's,
// narrowed by the growth phase and by an implemented rightsizing's override
// (effective), the overrides read again first so that one another replica
// wrote counts. Replicas, or tier indexes for a vertical service; a
// schedule's window is not included (it moves with the clock, not with a
// decision). Hard is the file's narrowed by the phase only: the limits a
// recommendation stays inside, since an override is implemented inside
// the phase. It is what the recommendation generator starts from
// (recommend.Bounds); ok is false for a service not here.
func (s *Scaler) Bounds(ctx context.Context, name string) (recommend.InForce, bool, error) {
	if err := s.loadPhase(ctx); err != nil {
		return recommend.InForce{}, false, err
	}
	p, hard := s.effective(name), s.phased(name)
	if p == nil || hard == nil {
		return recommend.InForce{}, false, nil
	}
	var b recommend.InForce
	b.Min, b.Max = p.Bounds()
	b.Hard.Min, b.Hard.Max = hard.Bounds()
	return b, true, nil
}
