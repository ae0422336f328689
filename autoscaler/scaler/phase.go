package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// PhaseConfig is a growth phase's scaling configuration (growth_phases.
// scaling_config). Services are named as in the policy file; the seeded
// phases' "database" and "workers" sections are shorthands for the policy
// services of those names.
type PhaseConfig struct {
	Services map[string]PhaseService `json:"services"`
	Database *struct {
		ComputeTier  string `json:"compute_tier"`
		ReadReplicas *int   `json:"read_replicas"`
	} `json:"database"`
	Workers map[string]int `json:"workers"`
}

// PhaseService is one service's configuration in a phase.
type PhaseService struct {
	MinReplicas *int   `json:"min_replicas"`
	MaxReplicas *int   `json:"max_replicas"`
	Replicas    *int   `json:"replicas"` // a fixed count (workers)
	Tier        string `json:"tier"`     // a fixed tier (database compute)
}

// ParsePhaseConfig reads a phase's scaling_config.
func ParsePhaseConfig(raw []byte) (PhaseConfig, error) {
	var c PhaseConfig
	if len(raw) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("scaling_config: %w", err)
	}
	if c.Services == nil {
		c.Services = map[string]PhaseService{}
	}
	if c.Database != nil && c.Database.ComputeTier != "" {
		ps := c.Services["database"]
		ps.Tier = c.Database.ComputeTier
		c.Services["database"] = ps
	}
	for name, n := range c.Workers {
		ps := c.Services[name]
		ps.Replicas = &n
		c.Services[name] = ps
	}
	for name, ps := range c.Services {
		if ps.MinReplicas != nil && ps.MaxReplicas != nil && *ps.MinReplicas > *ps.MaxReplicas {
			return c, fmt.Errorf("scaling_config.services.%s: min_replicas %d above max_replicas %d", name, *ps.MinReplicas, *ps.MaxReplicas)
		}
	}
	return c, nil
}

// setPhase makes a phase's bounds the effective ones.
func (s *Scaler) setPhase(p store.Phase) error {
	cfg, err := ParsePhaseConfig(p.ScalingConfig)
	if err != nil {
		return fmt.Errorf("phase %s: %w", p.Name, err)
	}
	s.mu.Lock()
	s.phase, s.phaseCfg, s.phaseLoaded = p, cfg, true
	s.mu.Unlock()
	return nil
}

// ReloadPhase re-reads the active phase: after its configuration was
// edited, or another replica switched it.
func (s *Scaler) ReloadPhase(ctx context.Context) error {
	s.mu.Lock()
	s.phaseLoaded = false
	s.mu.Unlock()
	return s.loadPhase(ctx)
}

// ValidatePhaseConfig checks a phase configuration against the policy: the
// tiers it names must be on the services' ladders.
func (s *Scaler) ValidatePhaseConfig(raw []byte) error {
	cfg, err := ParsePhaseConfig(raw)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(cfg.Services) {
		p := s.service(name)
		if p == nil {
			continue // a service another deployment runs; harmless here
		}
		if _, err := phaseTarget(p, cfg.Services[name], 0); err != nil {
			return fmt.Errorf("scaling_config.services.%s: %w", name, err)
		}
		if cfg.Services[name].Tier != "" && p.Mode != policy.Vertical {
			return fmt.Errorf("scaling_config.services.%s.tier: %s scales horizontally", name, name)
		}
	}
	return nil
}

// loadPhase reads the active phase once (the loop, the API and the CLI all
// start with it), and the policy overrides every time (see loadOverrides).
func (s *Scaler) loadPhase(ctx context.Context) error {
	if err := s.loadActivePhase(ctx); err != nil {
		return err
	}
	return s.loadOverrides(ctx)
}

func (s *Scaler) loadActivePhase(ctx context.Context) error {
	s.mu.Lock()
	loaded := s.phaseLoaded
	s.mu.Unlock()
	if loaded || s.cfg.Store == nil {
		return nil
	}
	p, err := s.cfg.Store.ActivePhase(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.setPhase(p)
}

// effective is a service's policy with the active phase's bounds, kept
// inside the policy's own: the policy file holds the hard limits, the phase
// narrows them, and an implemented rightsizing's override (loadOverrides)
// narrows them again. It is the one place bounds are narrowed.
func (s *Scaler) effective(name string) *policy.Service {
	s.mu.Lock()
	o, ok := s.overrides[name]
	s.mu.Unlock()
	if !ok {
		return s.effectiveWith(name, nil)
	}
	return s.effectiveWith(name, &o.Bounds)
}

// effectiveWith is effective with override o (nil: none) instead of the
// one in force: what a rightsizing being implemented will leave in force.
func (s *Scaler) effectiveWith(name string, o *store.Bounds) *policy.Service {
	p := s.phased(name)
	if p == nil || o == nil {
		return p
	}
	return withOverride(p, *o)
}

func (s *Scaler) phased(name string) *policy.Service {
	base := s.service(name)
	if base == nil {
		return nil
	}
	s.mu.Lock()
	ps, ok := s.phaseCfg.Services[name]
	s.mu.Unlock()
	if !ok || base.Mode != policy.Horizontal {
		return base
	}
	p := *base
	lo, hi := base.Bounds()
	if ps.MinReplicas != nil {
		v := min(max(*ps.MinReplicas, lo), hi)
		p.MinReplicas = &v
	}
	if ps.MaxReplicas != nil {
		v := min(max(*ps.MaxReplicas, *p.MinReplicas), hi)
		p.MaxReplicas = &v
	}
	return &p
}

// Step is one action of a phase transition.
type Step struct {
	Stage   string         `json:"stage"` // scale_out, switch, trim
	Service string         `json:"service,omitempty"`
	From    actuator.State `json:"from,omitzero"`
	To      actuator.State `json:"to,omitzero"`
	Status  string         `json:"status,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Plan is what a transition will do, in order.
type Plan struct {
	From  string `json:"from_phase"`
	To    string `json:"to_phase"`
	Steps []Step `json:"steps"`
}

// PlatformService names the events that concern the whole platform
// (phase transitions): one unfinished at a time, like any service.
const PlatformService = "platform"

// Transition moves the platform to another growth phase without downtime:
// first every service that needs more capacity gets it (scale out), then the
// phase is switched (new bounds in force), then what the new phase no longer
// needs is trimmed. It is one `migration` event with its steps. dryRun
// returns the plan without writing anything. The action runs on after the
// event is written.
func (s *Scaler) Transition(ctx context.Context, to store.Phase, user string, dryRun bool) (store.Event, Plan, error) {
	return s.transition(ctx, to, user, dryRun, "", "")
}

// transition plans and starts a move to phase to; rollbackOf or retryOf
// name the event it undoes or retries.
func (s *Scaler) transition(ctx context.Context, to store.Phase, user string, dryRun bool, rollbackOf, retryOf string) (store.Event, Plan, error) {
	if err := s.loadPhase(ctx); err != nil {
		return store.Event{}, Plan{}, err
	}
	s.mu.Lock()
	from := s.phase
	s.mu.Unlock()
	if from.ID == to.ID && rollbackOf == "" && retryOf == "" {
		return store.Event{}, Plan{}, &store.ConflictError{What: "growth phase " + to.Name, State: "active"}
	}
	cfg, err := ParsePhaseConfig(to.ScalingConfig)
	if err != nil {
		return store.Event{}, Plan{}, err
	}
	plan := Plan{From: from.Name, To: to.Name}
	before := map[string]actuator.State{}
	after := map[string]actuator.State{}
	var out, trim []Step
	for _, name := range sortedKeys(cfg.Services) {
		p := s.service(name)
		if p == nil {
			continue // the phase speaks of a service this autoscaler does not run
		}
		cur, level, err := s.current(ctx, name, p, s.actuator(name))
		if err != nil {
			return store.Event{}, Plan{}, fmt.Errorf("plan %s: %w", name, err)
		}
		want, err := phaseTarget(p, cfg.Services[name], level)
		if err != nil {
			return store.Event{}, Plan{}, fmt.Errorf("plan %s: %w", name, err)
		}
		before[name], after[name] = cur, s.state(p, want)
		switch {
		case want > level:
			out = append(out, Step{Stage: "scale_out", Service: name, From: cur, To: s.state(p, want)})
		case want < level:
			trim = append(trim, Step{Stage: "trim", Service: name, From: cur, To: s.state(p, want)})
		}
	}
	plan.Steps = append(append(out, Step{Stage: "switch"}), trim...)
	reason := fmt.Sprintf("growth phase %s → %s", from.Name, to.Name)
	switch {
	case rollbackOf != "":
		reason = "rollback of " + rollbackOf + ": " + reason
	case retryOf != "":
		reason = "retry of " + retryOf + ": " + reason
	}
	ne := store.NewEvent{Type: store.EventMigration, Service: PlatformService, TriggerReason: reason,
		TriggerMetrics: mustJSON(plan),
		Before:         mustJSON(map[string]any{"phase": from.Name, "phase_id": from.ID, "services": before}),
		After:          mustJSON(map[string]any{"phase": to.Name, "phase_id": to.ID, "services": after}),
		InitiatedBy:    "phase_transition", InitiatedUserID: user, Owner: s.holder(), RetryOf: retryOf}
	if dryRun {
		return store.Event{Type: ne.Type, Service: ne.Service, TriggerReason: reason, TriggerMetrics: ne.TriggerMetrics,
			Before: ne.Before, After: ne.After, InitiatedBy: ne.InitiatedBy, InitiatedUserID: user}, plan, nil
	}
	ev, err := s.begin(ctx, ne, rollbackOf)
	if err != nil {
		return store.Event{}, plan, err
	}
	s.goTransition(ev, to, plan)
	return ev, plan, nil
}

// goTransition runs a logged transition in the background, its services
// busy meanwhile. The action records each step's outcome in its own copy of
// the plan: the caller is answered with the original while it runs.
func (s *Scaler) goTransition(ev store.Event, to store.Phase, plan Plan) {
	run := plan
	run.Steps = slices.Clone(plan.Steps)
	var services []string
	for _, st := range plan.Steps {
		if st.Service != "" {
			services = append(services, st.Service)
		}
	}
	s.mu.Lock()
	for _, name := range services {
		s.busy[name] = true
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			for _, name := range services {
				delete(s.busy, name)
			}
			s.mu.Unlock()
		}()
		s.runTransition(s.actionContext(), ev, to, run)
	}()
}

// resumeTransition carries on a transition interrupted by a crash, step by
// step, in its planned order: every step's target is absolute, so a step
// already done reads done, one not begun is applied, one half done is
// finished, and a service someone else moved fails its step (and stops the
// switch, as in a first run). Activating the phase again is harmless.
func (s *Scaler) resumeTransition(ctx context.Context, ev store.Event) {
	var plan Plan
	if err := json.Unmarshal(ev.TriggerMetrics, &plan); err != nil {
		s.finish(ctx, ev, store.StatusFailed, fmt.Sprintf("interrupted, and its plan cannot be read (%v)", err))
		return
	}
	ph, err := s.phaseNamed(ctx, ev, ev.After)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.finish(ctx, ev, store.StatusFailed, "interrupted, and the phase it was moving to no longer exists")
	case errors.Is(err, store.ErrUnavailable):
		s.cfg.Logger.Warn("resume a growth phase transition: read the phases; will retry", "event_id", ev.ID, "err", err)
	case err != nil:
		s.finish(ctx, ev, store.StatusFailed, "interrupted, and "+err.Error())
	default:
		s.cfg.Logger.Info("resuming an interrupted growth phase transition", "event_id", ev.ID, "to", ph.Name, "steps", len(plan.Steps))
		s.goTransition(ev, ph, plan)
	}
}

// phaseTarget is the level a service must be at in a phase: a fixed count
// or tier when the phase names one, otherwise the current level brought
// inside the phase's bounds (within the policy's).
func phaseTarget(p *policy.Service, ps PhaseService, level int) (int, error) {
	lo, hi := p.Bounds()
	if p.Mode == policy.Vertical {
		if ps.Tier == "" {
			return level, nil
		}
		i := p.TierIndex(ps.Tier)
		if i < 0 {
			return 0, fmt.Errorf("tier %q is not in the policy's ladder", ps.Tier)
		}
		return min(max(i, lo), hi), nil
	}
	if ps.Replicas != nil {
		return min(max(*ps.Replicas, lo), hi), nil
	}
	want := level
	if ps.MinReplicas != nil {
		want = max(want, min(max(*ps.MinReplicas, lo), hi))
	}
	if ps.MaxReplicas != nil {
		want = min(want, min(max(*ps.MaxReplicas, lo), hi))
	}
	return want, nil
}

func (s *Scaler) runTransition(ctx context.Context, ev store.Event, to store.Phase, plan Plan) {
	var failed []string
	for i := range plan.Steps {
		st := &plan.Steps[i]
		if st.Stage == "switch" {
			if len(failed) > 0 {
				st.Status = "skipped"
				continue // never switch on a half-done scale-out
			}
			if _, err := s.cfg.Store.ActivatePhase(ctx, to.ID); err != nil && !errors.Is(err, store.ErrConflict) {
				st.Status, st.Error = "failed", err.Error()
				failed = append(failed, "switch: "+err.Error())
				continue
			}
			if err := s.setPhase(to); err != nil {
				st.Status, st.Error = "failed", err.Error()
				failed = append(failed, "switch: "+err.Error())
				continue
			}
			st.Status = "completed"
			continue
		}
		if len(failed) > 0 && st.Stage == "trim" {
			st.Status = "skipped"
			continue
		}
		p := s.service(st.Service)
		act := s.actuator(st.Service)
		if p == nil || act == nil {
			st.Status, st.Error = "failed", "no longer in the policy file"
			failed = append(failed, st.Service+": "+st.Error)
			continue
		}
		// Read first: a resumed transition finds some steps done, and one
		// someone else changed must not be overwritten.
		cur, err := act.Current(ctx)
		switch {
		case err != nil:
		case cur == st.To:
			st.Status = "completed"
			continue
		case cur != st.From && !partly(st.From, cur, st.To):
			err = fmt.Errorf("now at %s, neither %s (planned from) nor %s: changed outside the autoscaler", cur, st.From, st.To)
		default:
			err = act.Apply(ctx, st.To)
		}
		if err == nil {
			err = s.settle(ctx, st.Service, act, st.To, p.SettleTimeout.D(), nil)
		}
		if ctx.Err() != nil {
			return // shutdown: reconciled at the next start
		}
		if err != nil {
			st.Status, st.Error = "failed", err.Error()
			failed = append(failed, st.Service+": "+err.Error())
			continue
		}
		st.Status = "completed"
	}
	status, msg := store.StatusCompleted, ""
	if len(failed) > 0 {
		status, msg = store.StatusFailed, strings.Join(failed, "; ")
	}
	s.cfg.Logger.Info("growth phase transition finished", "event_id", ev.ID, "to", to.Name, "status", status, "steps", plan.Steps)
	s.finish(ctx, ev, status, msg)
}

// AutoTransition answers a users-beyond-phase alert: when the active phase
// allows it and users really are beyond its maximum, move to the next
// phase. users is the alert's value (the user count).
func (s *Scaler) AutoTransition(ctx context.Context, users float64) (store.Event, error) {
	if err := s.loadPhase(ctx); err != nil {
		return store.Event{}, err
	}
	phases, err := s.cfg.Store.ListPhases(ctx)
	if err != nil {
		return store.Event{}, err
	}
	s.mu.Lock()
	cur := s.phase
	s.mu.Unlock()
	if !cur.AutoTransitionEnabled {
		return store.Event{}, &store.ConflictError{What: "growth phase " + cur.Name, State: "auto_transition_disabled"}
	}
	if cur.MaxUsers == nil || users <= float64(*cur.MaxUsers) {
		return store.Event{}, &store.ConflictError{What: "growth phase " + cur.Name, State: fmt.Sprintf("within bounds at %.0f users", users)}
	}
	sort.Slice(phases, func(i, j int) bool { return phases[i].Order < phases[j].Order })
	for _, p := range phases {
		if p.Order > cur.Order {
			ev, _, err := s.Transition(ctx, p, "autoscaler", false)
			return ev, err
		}
	}
	return store.Event{}, &store.ConflictError{What: "growth phase " + cur.Name, State: "last phase"}
}

// ActivePhase is the phase in force (the API reports progress against it).
func (s *Scaler) ActivePhase(ctx context.Context) (store.Phase, error) {
	if err := s.loadPhase(ctx); err != nil {
		return store.Phase{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.phaseLoaded {
		return store.Phase{}, fmt.Errorf("active growth phase: %w", store.ErrNotFound)
	}
	return s.phase, nil
}
