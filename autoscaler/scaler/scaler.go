// Package scaler is the autoscaler's control loop. Alerts say that a service
// needs attention; the scaler then reads the service's real state (the
// actuator) and its metrics (Prometheus), computes an absolute target with
// package decision, writes the event before acting, acts, waits for the
// change to show, and records the outcome. Because every pass starts from
// current state, duplicated or retried notifications cannot compound, and
// an interrupted action is reconciled against the actuator after a restart.
package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Store is the part of the store the scaler uses.
type Store interface {
	FiringAlerts(ctx context.Context, service string, notBefore time.Time) ([]store.Alert, error)
	BeginEvent(ctx context.Context, e store.NewEvent) (store.Event, error)
	BeginRollback(ctx context.Context, originalID string, e store.NewEvent) (store.Event, error)
	FinishEvent(ctx context.Context, id string, status store.EventStatus, errMsg string) (store.Event, error)
	GetEvent(ctx context.Context, id string) (store.Event, error)
	UnfinishedEvents(ctx context.Context) ([]store.Event, error)
	LastFinishedEvent(ctx context.Context, service string) (store.Event, error)
	RecordDecision(ctx context.Context, d store.Decision) error
	ActivePhase(ctx context.Context) (store.Phase, error)
	ActivatePhase(ctx context.Context, id string) (store.Phase, error)
	ListPhases(ctx context.Context) ([]store.Phase, error)
}

var _ Store = (*store.Store)(nil)

// Observer reads a policy's metrics.
type Observer interface {
	Observe(ctx context.Context, svc *policy.Service) []decision.Observation
}

// Alerter tells people what the autoscaler cannot decide alone: an action
// that failed, a scale-up that went past a cost ceiling because an SLO was
// breached.
type Alerter interface {
	ActionFailed(ctx context.Context, e store.Event) error
	OverCostCeiling(ctx context.Context, e store.Event, ceiling string) error
}

// Config assembles a Scaler.
type Config struct {
	Policy    *policy.File
	Store     Store
	Observer  Observer
	Actuators map[string]actuator.Actuator
	Alerter   Alerter // optional
	// Budgets, when set, make scale-ups budget-aware (see overBudget).
	Budgets BudgetStore
	DryRun  bool
	Logger  *slog.Logger
	Metrics *Metrics
	// SettlePoll is how often the actuator is read while an action settles.
	SettlePoll time.Duration
	Now        func() time.Time
}

// Scaler runs the loop.
type Scaler struct {
	cfg     Config
	started time.Time

	mu      sync.Mutex
	history map[string][]decision.Recommendation
	busy    map[string]bool
	pending map[string]time.Time // kicked services → earliest notification receipt
	kick    chan struct{}
	wg      sync.WaitGroup
	runCtx  context.Context // set by Run: actions started by the API live as long as the loop

	// The active growth phase, whose scaling configuration narrows the
	// policy's bounds (see effective).
	phase       store.Phase
	phaseCfg    PhaseConfig
	phaseLoaded bool
}

// New builds a Scaler. Every service of the policy needs an actuator.
func New(c Config) (*Scaler, error) {
	for name := range c.Policy.Services {
		if c.Actuators[name] == nil {
			return nil, fmt.Errorf("service %s has no actuator", name)
		}
	}
	if c.SettlePoll == 0 {
		c.SettlePoll = 500 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	return &Scaler{cfg: c, started: c.Now(), history: map[string][]decision.Recommendation{},
		busy: map[string]bool{}, pending: map[string]time.Time{}, kick: make(chan struct{}, 1)}, nil
}

// Known reports whether a service is in the policy.
func (s *Scaler) Known(service string) bool { return s.cfg.Policy.Services[service] != nil }

// Kick asks for an evaluation of services soon; it never blocks, so the
// webhook can call it after recording a notification.
func (s *Scaler) Kick(services []string, received time.Time) {
	s.mu.Lock()
	for _, svc := range services {
		if at, ok := s.pending[svc]; !ok || received.Before(at) {
			s.pending[svc] = received
		}
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run reconciles unfinished events, then evaluates kicked services at once
// and every service each sync period, until ctx ends. Actions still running
// at shutdown are left in_progress and reconciled at the next start.
func (s *Scaler) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	if err := s.loadPhase(ctx); err != nil {
		s.cfg.Logger.Warn("read the active growth phase; policy bounds apply until it is read", "err", err)
	}
	s.Reconcile(ctx, true)
	tick := time.NewTicker(s.cfg.Policy.SyncPeriod.D())
	defer tick.Stop()
	s.syncAll(ctx)
	for {
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return nil
		case <-s.kick:
			s.mu.Lock()
			pending := s.pending
			s.pending = map[string]time.Time{}
			s.mu.Unlock()
			for _, name := range sortedKeys(pending) {
				s.Evaluate(ctx, name, pending[name])
			}
		case <-tick.C:
			if err := s.ReloadPhase(ctx); err != nil {
				s.cfg.Logger.Warn("reload the active growth phase", "err", err)
			}
			s.Reconcile(ctx, false)
			s.syncAll(ctx)
		}
	}
}

// Wait blocks until actions started by Evaluate have finished.
func (s *Scaler) Wait() { s.wg.Wait() }

func (s *Scaler) syncAll(ctx context.Context) {
	for _, name := range sortedKeys(s.cfg.Policy.Services) {
		if ctx.Err() != nil {
			return
		}
		s.Evaluate(ctx, name, time.Time{})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Result is what one evaluation concluded.
type Result struct {
	Service      string
	Current      actuator.State
	Action       store.EventType // "" when no alert asks for action
	Output       decision.Output
	Event        *store.Event // the event started, if any
	Observations []decision.Observation
	Err          error
}

// Evaluate reads the service's state and metrics, keeps the stabilization
// history, and — if a firing alert asks for action — decides and, when the
// decision is to scale, starts the action. received is when the
// notification that caused this evaluation arrived (zero for a timer pass).
func (s *Scaler) Evaluate(ctx context.Context, name string, received time.Time) Result {
	res := Result{Service: name}
	if err := s.loadPhase(ctx); err != nil {
		s.cfg.Logger.Warn("read the active growth phase", "err", err)
	}
	p := s.effective(name)
	s.mu.Lock()
	busy := s.busy[name]
	s.mu.Unlock()
	if busy {
		res.Output.Outcome = decision.InProgress
		return res
	}
	now := s.cfg.Now()
	act := s.cfg.Actuators[name]
	cur, level, err := s.current(ctx, name, p, act)
	if err != nil {
		res.Err = err
		s.cfg.Logger.Warn("read current state", "service", name, "err", err)
		return res
	}
	res.Current = cur
	s.cfg.Metrics.setLevel(p, name, level)

	// Prometheus and PostgreSQL are read at the same time: this path runs
	// between a notification and the action it calls for.
	var obs []decision.Observation
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		obs = s.cfg.Observer.Observe(ctx, p)
	}()
	alerts, alertsErr := s.cfg.Store.FiringAlerts(ctx, name, now.Add(-s.cfg.Policy.AlertTTL.D()))
	var lastAction time.Time
	var lastErr error
	if alertsErr == nil && len(alerts) > 0 {
		var last store.Event
		switch last, lastErr = s.cfg.Store.LastFinishedEvent(ctx, name); {
		case lastErr == nil && last.CompletedAt != nil:
			lastAction = *last.CompletedAt
		case errors.Is(lastErr, store.ErrNotFound):
			lastErr = nil
		}
	}
	<-observed
	res.Observations = obs
	raw, ok, _ := decision.Recommend(p, level, obs)
	s.mu.Lock()
	history := append([]decision.Recommendation(nil), s.history[name]...)
	if ok {
		s.history[name] = prune(append(s.history[name], decision.Recommendation{At: now, Level: raw}), now, p)
		s.cfg.Metrics.setDesired(p, name, raw)
	}
	s.mu.Unlock()

	if err := errors.Join(alertsErr, lastErr); err != nil {
		res.Err = err
		s.cfg.Logger.Warn("read firing alerts", "service", name, "err", err)
		return res
	}
	up, down := alertReasons(alerts)
	if up == "" && down == "" {
		return res
	}
	slo := sloBreached(alerts)
	in := decision.Input{Now: now, Current: level, Observations: obs, History: history, HistorySince: s.started, LastAction: lastAction,
		SLOBreached: slo}
	action, reasons, out := decideBoth(p, in, up, down)
	res.Action = action
	res.Output = out
	inputs := mustJSON(map[string]any{"observations": obs, "alerts": alertSummaries(alerts), "decision": out})
	d := store.Decision{Service: name, Outcome: string(out.Outcome), Action: action, Current: mustJSON(cur),
		Desired: mustJSON(s.state(p, out.Target)), Inputs: inputs, Reason: out.Reason}

	overBudgets := s.budgetCheck(ctx, p, name, level, &out, slo)
	res.Output = out
	d.Outcome, d.Reason, d.Desired = string(out.Outcome), out.Reason, mustJSON(s.state(p, out.Target))
	if out.Outcome != decision.Scale {
		s.record(ctx, d)
		return res
	}
	target := s.state(p, out.Target)
	if s.cfg.DryRun {
		d.Outcome = string(decision.DryRun)
		s.record(ctx, d)
		s.cfg.Logger.Info("dry run: would scale", "service", name, "from", cur.String(), "to", target.String(), "reason", out.Reason)
		res.Output.Outcome = decision.DryRun
		return res
	}
	if out.OverCeiling {
		reasons += " (over the monthly cost ceiling: SLO breached)"
	}
	if len(overBudgets) > 0 {
		reasons += " (over budget: SLO breached)"
	}
	ev, err := s.cfg.Store.BeginEvent(ctx, store.NewEvent{
		Type: direction(level, out.Target), Service: name, TriggerReason: reasons, TriggerMetrics: inputs,
		Before: mustJSON(cur), After: mustJSON(target), InitiatedBy: "autoscaler",
		CostImpactMonthly: costDelta(p, level, out.Target),
	})
	if errors.Is(err, store.ErrBusy) {
		// Another replica (or an interrupted run) owns this service now.
		d.Outcome, d.Reason = string(decision.InProgress), "another action on this service is unfinished"
		s.record(ctx, d)
		res.Output.Outcome = decision.InProgress
		return res
	}
	if err != nil {
		res.Err = err
		s.cfg.Logger.Error("record event before acting; not acting", "service", name, "err", err)
		return res
	}
	res.Event = &ev
	s.cfg.Logger.Info("scaling", "service", name, "event_id", ev.ID, "type", ev.Type, "from", cur.String(), "to", target.String(), "reason", out.Reason)
	s.start(ctx, p, act, ev, target, received)
	if (out.OverCeiling || len(overBudgets) > 0) && s.cfg.Alerter != nil {
		limit := strings.Join(overBudgets, "; ")
		if out.OverCeiling {
			limit = "ceiling " + p.MonthlyCostCeiling.StringFixed(2) + " " + limit
		}
		go func() {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.cfg.Alerter.OverCostCeiling(actx, ev, strings.TrimSpace(limit)); err != nil {
				s.cfg.Logger.Error("raise alert for a scale-up over the cost ceiling or a budget", "event_id", ev.ID, "err", err)
			}
		}()
	}
	// The event, written above, is the record that must precede the action;
	// the decision row only links the why to it, so it follows.
	d.EventID = ev.ID
	s.record(ctx, d)
	return res
}

func (s *Scaler) record(ctx context.Context, d store.Decision) {
	s.cfg.Metrics.decisions.WithLabelValues(d.Service, d.Outcome).Inc()
	if err := s.cfg.Store.RecordDecision(ctx, d); err != nil {
		s.cfg.Logger.Warn("record decision", "service", d.Service, "outcome", d.Outcome, "err", err)
	}
}

// current reads the actuator and maps the state to a level.
func (s *Scaler) current(ctx context.Context, name string, p *policy.Service, act actuator.Actuator) (actuator.State, int, error) {
	t0 := time.Now()
	cur, err := act.Current(ctx)
	s.cfg.Metrics.actuatorDuration.WithLabelValues(name, "current").Observe(time.Since(t0).Seconds())
	if err != nil {
		return actuator.State{}, 0, fmt.Errorf("read %s: %w", name, err)
	}
	level, err := levelOf(p, cur)
	return cur, level, err
}

func levelOf(p *policy.Service, st actuator.State) (int, error) {
	if p.Mode == policy.Vertical {
		i := p.TierIndex(st.Tier)
		if i < 0 {
			return 0, fmt.Errorf("actuator reports tier %q, which is not in the policy's ladder", st.Tier)
		}
		return i, nil
	}
	if st.Tier != "" {
		return 0, fmt.Errorf("actuator reports tier %q for a horizontal policy", st.Tier)
	}
	return st.Replicas, nil
}

func (s *Scaler) state(p *policy.Service, level int) actuator.State {
	if p.Mode == policy.Vertical {
		if level >= 0 && level < len(p.Tiers) {
			return actuator.State{Tier: p.Tiers[level].Name}
		}
		return actuator.State{}
	}
	return actuator.State{Replicas: level}
}

func direction(from, to int) store.EventType {
	if to < from {
		return store.EventScaleDown
	}
	return store.EventScaleUp
}

func costDelta(p *policy.Service, from, to int) decimal.NullDecimal {
	return decimal.NewNullDecimal(p.MonthlyCost(to).Sub(p.MonthlyCost(from)).Round(2))
}

// alertReasons collects the reasons of the firing alerts by direction.
func alertReasons(alerts []store.Alert) (up, down string) {
	var u, d []string
	for _, a := range alerts {
		switch a.Action {
		case store.EventScaleUp:
			u = append(u, a.Reason)
		case store.EventScaleDown:
			d = append(d, a.Reason)
		}
	}
	return strings.Join(uniq(u), ","), strings.Join(uniq(d), ",")
}

// budgetCheck holds a scale-up that would push a budget's projected
// month-end past its limit — unless an SLO is breached, when it goes ahead
// and the budgets it passes are returned, for the event and the alert.
func (s *Scaler) budgetCheck(ctx context.Context, p *policy.Service, name string, level int, out *decision.Output, slo bool) []string {
	if out.Outcome != decision.Scale || out.Target <= level || s.cfg.Budgets == nil {
		return nil
	}
	over, err := overBudget(ctx, s.cfg.Budgets, name, p.MonthlyCost(out.Target).Sub(p.MonthlyCost(level)), s.cfg.Now())
	if err != nil {
		// Budgets are advisory; a failed read must not block capacity.
		s.cfg.Logger.Warn("budget check", "service", name, "err", err)
		return nil
	}
	if len(over) == 0 || slo {
		return over
	}
	out.Outcome = decision.CostCeiling
	out.Reason = fmt.Sprintf("%d → %d would push %s past its limit, and no SLO is breached", level, out.Target, strings.Join(over, ", "))
	out.Target = level
	return nil
}

// sloReasons are the alert reasons that mean users are hurting now: a
// scale-up for them goes ahead even past a cost ceiling.
var sloReasons = map[string]bool{"response_time_degradation": true, "error_rate_degradation": true}

func sloBreached(alerts []store.Alert) bool {
	for _, a := range alerts {
		if a.Action == store.EventScaleUp && sloReasons[a.Reason] {
			return true
		}
	}
	return false
}

// decideBoth decides for the directions the firing alerts allow. An alert
// allows a direction; the metrics choose. Scale-up is tried first (capacity
// is the safe side); when the metrics do not call for more, a firing
// scale-down alert gets its turn. This matters because alerts lag: after a
// Prometheus restart a scale-up alert can stay "firing" in Alertmanager for
// minutes after the load is gone, and must not block the scale-down.
func decideBoth(p *policy.Service, in decision.Input, up, down string) (store.EventType, string, decision.Output) {
	var out decision.Output
	if up != "" {
		in.Action = store.EventScaleUp
		out = decision.Decide(p, in)
		if down == "" || out.Outcome != decision.WithinTolerance {
			return store.EventScaleUp, up, out
		}
	}
	in.Action = store.EventScaleDown
	return store.EventScaleDown, down, decision.Decide(p, in)
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

type alertSummary struct {
	Alertname   string `json:"alertname"`
	Fingerprint string `json:"fingerprint"`
	Action      string `json:"scaling_action"`
	Reason      string `json:"reason"`
	Value       string `json:"value,omitempty"`
	StartsAt    string `json:"starts_at"`
}

func alertSummaries(alerts []store.Alert) []alertSummary {
	out := make([]alertSummary, len(alerts))
	for i, a := range alerts {
		out[i] = alertSummary{a.Alertname, a.Fingerprint, string(a.Action), a.Reason, a.Annotations["value"], a.StartsAt.Format(time.RFC3339)}
	}
	return out
}

// prune keeps the recommendations the longer stabilization window needs.
func prune(h []decision.Recommendation, now time.Time, p *policy.Service) []decision.Recommendation {
	keep := max(p.ScaleUp.StabilizationWindow.D(), p.ScaleDown.StabilizationWindow.D())
	i := 0
	for i < len(h) && now.Sub(h[i].At) > keep {
		i++
	}
	return h[i:]
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled here; failing means a bug.
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return b
}

// Plan is a read-only evaluation for the eval command: what would be done
// for action now, and why. It writes nothing and starts nothing. The
// stabilization history is this process's (empty in a one-shot eval), and
// the scale-down window is taken as observed.
func (s *Scaler) Plan(ctx context.Context, name string, action store.EventType) Result {
	res := Result{Service: name, Action: action}
	if err := s.loadPhase(ctx); err != nil {
		res.Err = err
		return res
	}
	p := s.effective(name)
	if p == nil {
		res.Err = fmt.Errorf("service %q is not in the policy file", name)
		return res
	}
	cur, level, err := s.current(ctx, name, p, s.cfg.Actuators[name])
	if err != nil {
		res.Err = err
		return res
	}
	res.Current = cur
	obs := s.cfg.Observer.Observe(ctx, p)
	var lastAction time.Time
	if s.cfg.Store != nil {
		if last, err := s.cfg.Store.LastFinishedEvent(ctx, name); err == nil && last.CompletedAt != nil {
			lastAction = *last.CompletedAt
		}
	}
	s.mu.Lock()
	history := append([]decision.Recommendation(nil), s.history[name]...)
	s.mu.Unlock()
	res.Output = decision.Decide(p, decision.Input{Now: s.cfg.Now(), Action: action, Current: level, Observations: obs,
		History: history, LastAction: lastAction})
	res.Observations = obs
	return res
}

// Services lists the services of the policy, sorted.
func (s *Scaler) Services() []string { return sortedKeys(s.cfg.Policy.Services) }
