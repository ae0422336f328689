// Package scaler is the autoscaler's control loop, level-triggered: every
// sync period it gathers each service's real state (the actuator), its
// metrics (Prometheus), the alerts that concern it and its forecasts,
// decides with package decision what the service should be at, and acts —
// event written before the actuator is called, change awaited, outcome
// recorded. A firing alert only makes the next evaluation immediate (and,
// under `control: alerts_only`, is what allows a direction at all). Because
// every pass starts from current state, duplicated or retried notifications
// cannot compound, and an interrupted action is reconciled against the
// actuator after a restart.
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
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/control"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Store is the part of the store the scaler uses.
type Store interface {
	FiringAlerts(ctx context.Context, service string, notBefore time.Time) ([]store.Alert, error)
	BeginEvent(ctx context.Context, e store.NewEvent) (store.Event, error)
	BeginRollback(ctx context.Context, originalID string, e store.NewEvent) (store.Event, error)
	CloseEvent(ctx context.Context, id, owner string, status store.EventStatus, errMsg string) (store.Event, error)
	ExtendEvent(ctx context.Context, id string, after json.RawMessage, costImpact decimal.NullDecimal, note string) (store.Event, error)
	GetEvent(ctx context.Context, id string) (store.Event, error)
	UnfinishedEvents(ctx context.Context) ([]store.Event, error)
	OrphanedEvents(ctx context.Context, minAge time.Duration) ([]store.Orphan, error)
	AdoptEvent(ctx context.Context, id, holder string) (store.Event, error)
	LastFinishedEvent(ctx context.Context, service string) (store.Event, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
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

// FailureRenewer is an Alerter that keeps failure alerts firing while the
// failures last and resolves them when they end (package alerting's).
type FailureRenewer interface {
	RenewFailures(ctx context.Context, active []store.Event) error
}

// FailureStore lists the failures still standing: failed events that are
// their service's latest finished event.
type FailureStore interface {
	ActiveFailures(ctx context.Context, since time.Time) ([]store.Event, error)
}

// Lease is this replica's lease (package lease's Keeper).
type Lease interface {
	Holder() string
	// Valid reports that the lease was renewed recently enough to hold.
	Valid() bool
}

// Config assembles a Scaler.
type Config struct {
	Policy    *policy.File
	Store     Store
	Observer  Observer
	Actuators map[string]actuator.Actuator
	// History reads the driver's past for the forecasters (optional:
	// without it prediction runs on what this process observed).
	History HistoryReader
	// AlertCheck says which alerts Prometheus itself still has firing
	// (optional): an alert it no longer has no longer allows action.
	AlertCheck AlertChecker
	// Capacities reads load-test throughput per replica (optional).
	Capacities CapacityReader
	Alerter    Alerter // optional
	// RenewFailures, when set (with an Alerter that is a FailureRenewer and
	// a Store that is a FailureStore), is how often the standing failures
	// are re-posted to Alertmanager (and ended ones resolved).
	RenewFailures time.Duration
	// FailureWindow is how far back a standing failure is still alerted
	// (default 7 days).
	FailureWindow time.Duration
	// Budgets, when set, make scale-ups budget-aware (see overBudget).
	Budgets BudgetStore
	DryRun  bool
	// Lease, when set, is this replica's: events it starts name it as their
	// owner, it starts actions only while the lease holds, and it takes
	// over only events whose owner's lease has expired. Without one (the
	// CLI, a single replica) every unfinished event is this process's.
	Lease Lease
	// ActuatorTimeout is the longest an actuator call may run (default:
	// the longest of the actuators' own timeouts): an orphaned action is
	// applied again only this long after its owner's lease expired.
	ActuatorTimeout time.Duration
	Logger          *slog.Logger
	Metrics         *Metrics
	// SettlePoll is how often the actuator is read while an action settles.
	SettlePoll time.Duration
	// Parallel bounds how many services are evaluated at once (default 8).
	Parallel int
	// EvalTimeout bounds one evaluation of one service: its reads of the
	// actuator, Prometheus and the database (default: the sync period,
	// at least 10 s).
	EvalTimeout time.Duration
	// NewActuator builds the actuator of a service that a policy reload
	// adds or whose actuator it changes (optional: without it, such a
	// reload is refused).
	NewActuator func(name string, p *policy.Service) (actuator.Actuator, error)
	Now         func() time.Time
}

// Scaler runs the loop.
type Scaler struct {
	cfg      Config // cfg.Policy and cfg.Actuators are the first view only: read live
	started  time.Time
	live     atomic.Pointer[view] // the policy in force and what was built for it
	reloadMu sync.Mutex           // one reload at a time
	reloaded chan struct{}        // a reload happened: the loop re-reads the sync period
	slots    chan struct{}        // Parallel evaluations at most

	mu         sync.Mutex
	evaluating map[string]time.Time         // services whose evaluation runs, since when
	retired    map[string]actuator.Actuator // actuators of services a reload removed
	busy       map[string]bool
	running    map[string]*running  // the loop's actions in flight
	pending    map[string]time.Time // kicked services → earliest notification receipt
	recorded   map[string]string    // last decision recorded per service (outcome and target)
	kick       chan struct{}
	wg         sync.WaitGroup
	runCtx     context.Context // set by Run: actions started by the API live as long as the loop

	// The active growth phase, whose scaling configuration narrows the
	// policy's bounds (see effective).
	phase       store.Phase
	phaseCfg    PhaseConfig
	phaseLoaded bool
}

// svcState is a service's controller, evaluated by one goroutine at a time.
type svcState struct {
	mu     sync.Mutex
	ctl    *control.Service
	seeded bool // actions and readiness read back from the event log
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
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ActuatorTimeout == 0 {
		for _, a := range c.Actuators {
			c.ActuatorTimeout = max(c.ActuatorTimeout, actuator.CallTimeout(a, 30*time.Second))
		}
	}
	s := &Scaler{cfg: c, started: c.Now(), busy: map[string]bool{}, running: map[string]*running{}, pending: map[string]time.Time{},
		recorded: map[string]string{}, kick: make(chan struct{}, 1), reloaded: make(chan struct{}, 1), slots: make(chan struct{}, c.Parallel),
		evaluating: map[string]time.Time{}, retired: map[string]actuator.Actuator{}}
	v := &view{pol: c.Policy, acts: map[string]actuator.Actuator{}, ctls: map[string]*svcState{}}
	for name, p := range c.Policy.Services {
		v.acts[name] = c.Actuators[name]
		v.ctls[name] = &svcState{ctl: control.New(name, s.started)}
		c.Metrics.setControl(name, p)
	}
	s.live.Store(v)
	return s, nil
}

// Known reports whether a service is in the policy.
func (s *Scaler) Known(service string) bool { return s.service(service) != nil }

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
// and every service each sync period, until ctx ends. Evaluations run on
// their own (see each): the loop never waits for one. Actions still running
// at shutdown are left in_progress and reconciled at the next start.
func (s *Scaler) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	if err := s.loadPhase(ctx); err != nil {
		s.cfg.Logger.Warn("read the active growth phase; policy bounds apply until it is read", "err", err)
	}
	s.Reconcile(ctx, true)
	s.seedAll(ctx)
	s.refitAll(ctx)
	period := s.pol().SyncPeriod.D()
	tick := time.NewTicker(period)
	defer tick.Stop()
	if s.renewsFailures() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.renewFailures(ctx)
		}()
	}
	s.syncAll(ctx, nil)
	for {
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return nil
		case <-s.reloaded:
			if p := s.pol().SyncPeriod.D(); p != period {
				period = p
				tick.Reset(p)
			}
		case <-s.kick:
			pending := s.takePending()
			s.requeue(pending, s.each(ctx, sortedKeys(pending), func(ctx context.Context, name string) { s.Evaluate(ctx, name, pending[name]) }))
		case <-tick.C:
			if err := s.ReloadPhase(ctx); err != nil {
				s.cfg.Logger.Warn("reload the active growth phase", "err", err)
			}
			// Bounded like an evaluation: a hung actuator read must not
			// stop the loop; actions it restarts run on (see outlive).
			rctx, cancel := context.WithTimeout(context.WithValue(ctx, loopCtxKey{}, ctx), s.evalTimeout())
			s.Reconcile(rctx, false)
			cancel()
			s.syncAll(ctx, s.takePending())
			s.refitAll(ctx)
		}
	}
}

// takePending returns the kicked services and empties the list.
func (s *Scaler) takePending() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := s.pending
	s.pending = map[string]time.Time{}
	return pending
}

// requeue puts back the kicked services an evaluation still running made
// the loop skip: the next pass evaluates them as asked by the
// notification (recorded, and its latency measured).
func (s *Scaler) requeue(pending map[string]time.Time, skipped []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range skipped {
		at, ok := pending[name]
		if !ok || s.ctl(name) == nil {
			continue
		}
		if prev, ok := s.pending[name]; !ok || at.Before(prev) {
			s.pending[name] = at
		}
	}
}

func (s *Scaler) renewsFailures() bool {
	_, ok1 := s.cfg.Alerter.(FailureRenewer)
	_, ok2 := s.cfg.Store.(FailureStore)
	return s.cfg.RenewFailures > 0 && ok1 && ok2
}

// renewFailures re-posts the standing failures every RenewFailures until
// ctx ends: an alert lives only a few renewals, so a failure is alerted
// while it stands — across restarts and replicas, since the list comes from
// the event log — and resolved soon after a retry, a rollback or a later
// action ends it.
func (s *Scaler) renewFailures(ctx context.Context) {
	r, fs := s.cfg.Alerter.(FailureRenewer), s.cfg.Store.(FailureStore)
	window := s.cfg.FailureWindow
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	t := time.NewTicker(s.cfg.RenewFailures)
	defer t.Stop()
	for {
		active, err := fs.ActiveFailures(ctx, s.cfg.Now().Add(-window))
		if err == nil {
			err = r.RenewFailures(ctx, active)
		}
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("renew failure alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Wait blocks until actions and refits started by the scaler have finished.
func (s *Scaler) Wait() { s.wg.Wait() }

// syncAll starts an evaluation of every service; pending are the kicked
// ones, evaluated as asked by their notification.
func (s *Scaler) syncAll(ctx context.Context, pending map[string]time.Time) {
	s.requeue(pending, s.each(ctx, s.Services(), func(ctx context.Context, name string) { s.Evaluate(ctx, name, pending[name]) }))
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
	Action       store.EventType // the direction the decision took (or an alert asked for)
	Output       decision.Output
	Notes        control.Notes
	Event        *store.Event // the event started, if any
	Observations []decision.Observation
	Err          error
}

// gathered is everything one evaluation reads.
type gathered struct {
	p       *policy.Service
	cur     actuator.State
	level   int
	obs     []decision.Observation
	alerts  []store.Alert
	expired []string // alerts dropped because they ended
}

// Evaluate gathers the service's state, metrics, alerts and forecasts,
// decides, and acts when the decision is to scale. received is when the
// notification that caused this evaluation arrived (zero for a timer pass).
func (s *Scaler) Evaluate(ctx context.Context, name string, received time.Time) Result {
	res := Result{Service: name}
	ss := s.ctl(name)
	if ss == nil {
		res.Err = fmt.Errorf("service %q is not in the policy file", name)
		return res
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.isBusy(name) {
		if r := s.extendable(name); r != nil {
			return s.extend(ctx, ss, name, r, received)
		}
		res.Output.Outcome = decision.InProgress
		return res
	}
	now := s.cfg.Now()
	g, err := s.gather(ctx, name)
	var rerr *readError
	if errors.As(err, &rerr) {
		// Nothing is decided on a state the autoscaler does not know; the
		// decision says so (once per change, like every conclusion), the
		// gauge and counter make it alertable.
		res.Err = err
		res.Output = decision.Output{Outcome: decision.NoState, Reason: err.Error()}
		s.cfg.Metrics.evaluationErrors.WithLabelValues(name).Inc()
		s.cfg.Metrics.readErrors.WithLabelValues(name).Inc()
		s.cfg.Metrics.stateUnknown.WithLabelValues(name).Set(1)
		s.cfg.Metrics.decisions.WithLabelValues(name, string(decision.NoState)).Inc()
		s.cfg.Logger.Warn("read the actuator; not deciding", "service", name, "err", err)
		if s.changed(name, res.Output) || !received.IsZero() {
			s.record(ctx, store.Decision{Service: name, Outcome: string(decision.NoState), Reason: err.Error(),
				Inputs: mustJSON(map[string]any{"error": err.Error()})})
		}
		return res
	}
	if err != nil {
		res.Err = err
		s.cfg.Metrics.evaluationErrors.WithLabelValues(name).Inc()
		s.cfg.Logger.Warn("gather", "service", name, "err", err)
		return res
	}
	s.cfg.Metrics.stateUnknown.WithLabelValues(name).Set(0)
	res.Current, res.Observations = g.cur, g.obs
	p := g.p

	s.fillWindow(ctx, ss, p, name, now, g.level, g.obs)
	in, notes := ss.ctl.Gather(p, now, g.level, g.obs, s.pol().SyncPeriod.D(), s.gapAfter())
	res.Notes = notes
	in.SLOBreached = sloBreached(g.alerts)
	up, down := alertReasons(g.alerts)
	if p.Control == policy.AlertsOnly {
		in.Allow = &decision.Directions{Up: up != "", Down: down != ""}
	}
	out := decision.Decide(p, in)
	if out.Outcome == decision.Scale {
		// About to act: count what every replica did, not only this one.
		if in, err = s.refresh(ctx, ss, p, name, in); err != nil {
			res.Err = err
			s.cfg.Logger.Warn("read the service's recent events; not acting", "service", name, "err", err)
			return res
		}
		out = decision.Decide(p, in)
	}
	ss.ctl.Record(p, now, out)
	s.cfg.Metrics.observe(name, p, g.level, out, notes, &ss.ctl.Tracker)

	res.Output = out
	res.Action = s.actionOf(g.level, out, up, down)
	reasons := triggerReasons(out, g.level, up, down, notes)
	inputs := mustJSON(withAlertRefs(map[string]any{"observations": g.obs, "decision": out,
		"forecasts": notes.Forecasts, "lead_seconds": notes.Lead.Seconds()}, g.alerts, g.expired))
	d := store.Decision{Service: name, Outcome: string(out.Outcome), Action: res.Action, Current: mustJSON(g.cur),
		Desired: mustJSON(s.state(p, out.Target)), Inputs: inputs, Reason: out.Reason}
	// An evaluation is worth a row when an alert asked for it, when it
	// acts or would have, or when its conclusion changed: every sync period
	// of every service would bury the why under the same "holding".
	// Under alerts_only, only while an alert asks (as before level control).
	worth := !received.IsZero()
	if p.Control == policy.AlertsOnly {
		worth = worth || up != "" || down != ""
		if up == "" && down == "" {
			res.Action = "" // nothing asked for a direction
		}
	} else {
		worth = s.changed(name, out) || worth
	}

	budget := s.budgetCheck(ctx, p, name, g.level, &out, in.SLOBreached)
	overBudgets := budget.over
	res.Output = out
	d.Outcome, d.Reason, d.Desired = string(out.Outcome), out.Reason, mustJSON(s.state(p, out.Target))
	if out.Outcome != decision.Scale {
		if worth {
			s.record(ctx, d)
		}
		s.cfg.Metrics.decisions.WithLabelValues(name, string(out.Outcome)).Inc()
		return res
	}
	target := s.state(p, out.Target)
	if s.cfg.DryRun {
		d.Outcome = string(decision.DryRun)
		s.record(ctx, d)
		s.cfg.Logger.Info("dry run: would scale", "service", name, "from", g.cur.String(), "to", target.String(), "reason", out.Reason)
		res.Output.Outcome = decision.DryRun
		return res
	}
	if out.OverCeiling {
		reasons += " (over the monthly cost ceiling: SLO breached)"
	}
	if len(overBudgets) > 0 {
		reasons += " (over budget: SLO breached)"
	}
	if len(budget.notes) > 0 {
		reasons += " (" + strings.Join(budget.notes, "; ") + ")"
	}
	by := "autoscaler"
	if out.BySchedule {
		by = "scheduled"
	}
	if !s.leaseValid() {
		// The lease may have lapsed (the database is unreachable, or this
		// replica was paused): another replica may own the service now.
		d.Outcome, d.Reason = string(decision.Error), "this replica's lease is not renewed; not acting"
		s.record(ctx, d)
		res.Output.Outcome, res.Output.Reason = decision.Error, d.Reason
		return res
	}
	// The decision row goes in the event's transaction: the record that
	// must precede the action is written whole or not at all.
	d.Outcome = string(out.Outcome)
	ev, err := s.cfg.Store.BeginEvent(ctx, store.NewEvent{
		Type: direction(g.level, out.Target), Service: name, TriggerReason: reasons, TriggerMetrics: inputs,
		Before: mustJSON(g.cur), After: mustJSON(target), InitiatedBy: by,
		CostImpactMonthly: costDelta(p, g.level, out.Target), Owner: s.holder(), Decision: &d,
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
	ss.ctl.Acted(p, ev.StartedAt, g.level, out.Target)
	s.cfg.Metrics.decisions.WithLabelValues(name, string(out.Outcome)).Inc()
	s.cfg.Logger.Info("scaling", "service", name, "event_id", ev.ID, "type", ev.Type, "from", g.cur.String(), "to", target.String(),
		"initiated_by", by, "reason", out.Reason)
	s.start(ctx, p, s.actuator(name), ev, target, received)
	if (out.OverCeiling || len(overBudgets) > 0) && s.cfg.Alerter != nil {
		limit := strings.Join(overBudgets, "; ")
		if out.OverCeiling {
			limit = "ceiling " + p.MonthlyCostCeiling.StringFixed(2) + " " + limit
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.cfg.Alerter.OverCostCeiling(actx, ev, strings.TrimSpace(limit)); err != nil {
				s.cfg.Logger.Error("raise alert for a scale-up over the cost ceiling or a budget", "event_id", ev.ID, "err", err)
			}
		}()
	}
	return res
}

// gather reads the service's state, metrics and alerts. Prometheus and
// PostgreSQL are read at the same time: this path runs between a
// notification and the action it calls for.
func (s *Scaler) gather(ctx context.Context, name string) (gathered, error) {
	if err := s.loadPhase(ctx); err != nil {
		s.cfg.Logger.Warn("read the active growth phase", "err", err)
	}
	g := gathered{p: s.effective(name)}
	if g.p == nil {
		return g, fmt.Errorf("service %q is not in the policy file", name)
	}
	var err error
	if g.cur, g.level, err = s.current(ctx, name, g.p, s.actuator(name)); err != nil {
		return g, &readError{err}
	}
	s.cfg.Metrics.setLevel(g.p, name, g.level)
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		g.obs = s.cfg.Observer.Observe(ctx, g.p)
	}()
	now := s.cfg.Now()
	alerts, alertsErr := s.cfg.Store.FiringAlerts(ctx, name, now.Add(-s.pol().AlertTTL.D()))
	<-observed
	if alertsErr != nil {
		return g, fmt.Errorf("read firing alerts: %w", alertsErr)
	}
	g.alerts, g.expired = s.liveAlerts(ctx, name, alerts, now)
	return g, nil
}

// liveAlerts drops alerts that have ended although no "resolved" arrived:
// past their own endsAt, or no longer firing in Prometheus (after a
// Prometheus restart an alert whose condition is gone is never resolved by
// Prometheus; Alertmanager would only time it out minutes later).
func (s *Scaler) liveAlerts(ctx context.Context, service string, alerts []store.Alert, now time.Time) (live []store.Alert, expired []string) {
	if len(alerts) == 0 {
		return nil, nil
	}
	var firing, owned map[string]bool
	if s.cfg.AlertCheck != nil {
		// Unreachable Prometheus: nothing is dropped (the observations hold
		// the decision anyway).
		firing, owned, _ = s.cfg.AlertCheck.AlertState(ctx, service)
	}
	for _, a := range alerts {
		switch {
		case a.EndsAt != nil && a.EndsAt.Year() > 1 && !now.Before(*a.EndsAt):
			expired = append(expired, a.Alertname+": past its endsAt")
		case owned[a.Alertname] && !firing[a.Alertname]:
			expired = append(expired, a.Alertname+": no longer firing in Prometheus")
		default:
			live = append(live, a)
		}
	}
	return live, expired
}

// refresh re-reads, before an action, the service's recent events: the
// rate policies and the cooldown must count what every replica did.
func (s *Scaler) refresh(ctx context.Context, ss *svcState, p *policy.Service, name string, in decision.Input) (decision.Input, error) {
	var lastFinished time.Time
	switch last, err := s.cfg.Store.LastFinishedEvent(ctx, name); {
	case err == nil && last.CompletedAt != nil:
		lastFinished = *last.CompletedAt
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return in, err
	}
	var acts []decision.Action
	if period := p.LongestPeriod(); period > 0 {
		evs, err := s.cfg.Store.ListEvents(ctx, store.EventFilter{Service: name, From: in.Now.Add(-period), Limit: 1000})
		if err != nil {
			return in, err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if a, ok := actionOf(p, evs[i]); ok {
				acts = append(acts, a)
			}
		}
	}
	ss.ctl.SetActions(acts, lastFinished)
	in.Actions = acts
	if lastFinished.After(in.LastAction) {
		in.LastAction = lastFinished
	}
	return in, nil
}

// actionOf reads an event's levels, for the rate policies. Failed actions
// count too: they may have half-applied.
func actionOf(p *policy.Service, ev store.Event) (decision.Action, bool) {
	var before, after actuator.State
	if json.Unmarshal(ev.Before, &before) != nil || json.Unmarshal(ev.After, &after) != nil {
		return decision.Action{}, false
	}
	from, err1 := levelOf(p, before)
	to, err2 := levelOf(p, after)
	if err1 != nil || err2 != nil || ev.Type == store.EventMigration {
		return decision.Action{}, false
	}
	return decision.Action{At: ev.StartedAt, From: from, To: to}, true
}

// seedAll reads each service's recent actions and measured readiness times
// back from the event log, and the driver's recent samples from
// Prometheus, so that a restart forgets neither rate limits nor the lead,
// and the trend forecaster has a window at once.
func (s *Scaler) seedAll(ctx context.Context) {
	for _, name := range sortedKeys(s.pol().Services) {
		s.seed(ctx, name)
	}
}

func (s *Scaler) seed(ctx context.Context, name string) {
	ss := s.ctl(name)
	p := s.effective(name)
	if ss == nil || p == nil {
		return // removed by a reload meanwhile
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.seeded || s.cfg.Store == nil {
		return
	}
	evs, err := s.cfg.Store.ListEvents(ctx, store.EventFilter{Service: name, Type: store.EventScaleUp, Status: store.StatusCompleted, Limit: 10})
	if err != nil {
		s.cfg.Logger.Warn("read past scale-ups for the lead time", "service", name, "err", err)
		return
	}
	var ready []time.Duration
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].DurationMS != nil {
			ready = append(ready, time.Duration(*evs[i].DurationMS)*time.Millisecond)
		}
	}
	ss.ctl.SetReadyTimes(ready)
	if s.cfg.Capacities != nil {
		for _, m := range p.Metrics {
			if m.Type == policy.MetricLoad && m.CapacityFrom == policy.CapacityFromLoadTest {
				if v, ok, err := s.cfg.Capacities.CapacityPerReplica(ctx, name); err == nil && ok {
					ss.ctl.SetCapacity(m.Name, v)
				}
			}
		}
	}
	ss.seeded = true
}

// gapAfter: valid evaluations further apart than this are a gap in the
// data, after which every window is observed again.
func (s *Scaler) gapAfter() time.Duration { return 3 * s.pol().SyncPeriod.D() }

func (s *Scaler) isBusy(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy[name]
}

// changed reports whether a service's conclusion differs from the last one
// recorded, and remembers it.
func (s *Scaler) changed(name string, out decision.Output) bool {
	key := fmt.Sprintf("%s/%d/%d", out.Outcome, out.Target, out.WouldTarget)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded[name] == key {
		return false
	}
	s.recorded[name] = key
	return true
}

func (s *Scaler) actionOf(level int, out decision.Output, up, down string) store.EventType {
	switch {
	case out.Outcome == decision.Scale || out.Outcome == decision.DryRun:
		return direction(level, out.Target)
	case out.WouldTarget > 0:
		return direction(level, out.WouldTarget)
	case up != "":
		return store.EventScaleUp
	case down != "":
		return store.EventScaleDown
	case out.Raw > level:
		return store.EventScaleUp
	case out.Raw < level:
		return store.EventScaleDown
	}
	return ""
}

// triggerReasons says why an event is started: the alerts that asked for
// it, else what the controller saw.
func triggerReasons(out decision.Output, level int, up, down string, notes control.Notes) string {
	upward := out.Target > level
	switch {
	case upward && up != "":
		return up
	case !upward && down != "":
		return down
	case out.BySchedule:
		return "scheduled: " + strings.Join(out.Scheduled, ",")
	case out.ByForecast:
		var fs []string
		for _, f := range notes.Forecasts {
			if f.Desired > out.Reactive {
				fs = append(fs, f.Forecaster)
			}
		}
		return "predicted_load: " + strings.Join(fs, ",")
	case level < out.Min || level > out.Max:
		return "bounds"
	case upward:
		return "target_tracking: above target"
	}
	return "target_tracking: below target"
}

func (s *Scaler) record(ctx context.Context, d store.Decision) {
	if ctx.Err() != nil {
		// An evaluation cut at its timeout (a hung read) still says why it
		// did not decide.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
	}
	if err := s.cfg.Store.RecordDecision(ctx, d); err != nil {
		s.cfg.Logger.Warn("record decision", "service", d.Service, "outcome", d.Outcome, "err", err)
	}
}

// readError is a failed read of a service's actuator (or a state that does
// not fit its policy): the service's state is unknown.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// holder is this replica's lease name ("" without a lease).
func (s *Scaler) holder() string {
	if s.cfg.Lease == nil {
		return ""
	}
	return s.cfg.Lease.Holder()
}

func (s *Scaler) leaseValid() bool { return s.cfg.Lease == nil || s.cfg.Lease.Valid() }

// errNoLease refuses an action while this replica's lease is not renewed:
// the database is unreachable, so it is ErrUnavailable (retry later).
var errNoLease = fmt.Errorf("this replica's lease is not renewed; not acting: %w", store.ErrUnavailable)

// begin writes the event that must precede an action (BeginEvent, or
// BeginRollback when rollbackOf is set), only while the lease holds.
func (s *Scaler) begin(ctx context.Context, ne store.NewEvent, rollbackOf string) (store.Event, error) {
	if !s.leaseValid() {
		return store.Event{}, errNoLease
	}
	if rollbackOf != "" {
		return s.cfg.Store.BeginRollback(ctx, rollbackOf, ne)
	}
	return s.cfg.Store.BeginEvent(ctx, ne)
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
	// An unpriced level makes the impact unknown (NULL), never $0.00.
	d := p.PriceDelta(from, to)
	if d.Valid {
		d.Decimal = d.Decimal.Round(2)
	}
	return d
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
// What could not be judged (unmapped, unpriced) is returned as notes and
// added to the decision's reason.
func (s *Scaler) budgetCheck(ctx context.Context, p *policy.Service, name string, level int, out *decision.Output, slo bool) budgetVerdict {
	if out.Outcome != decision.Scale || out.Target <= level || s.cfg.Budgets == nil {
		return budgetVerdict{}
	}
	v, err := overBudget(ctx, s.cfg.Budgets, p, name, p.PriceDelta(level, out.Target), s.cfg.Now())
	if err != nil {
		// Budgets are advisory; a failed read must not block capacity.
		s.cfg.Logger.Warn("budget check", "service", name, "err", err)
		return budgetVerdict{}
	}
	if len(v.notes) > 0 {
		out.Reason = strings.TrimPrefix(out.Reason+"; "+strings.Join(v.notes, "; "), "; ")
	}
	if len(v.over) == 0 || slo {
		return v
	}
	out.Outcome = decision.CostCeiling
	out.Reason = fmt.Sprintf("%d → %d would push %s past its limit, and no SLO is breached", level, out.Target, strings.Join(v.over, ", "))
	if len(v.notes) > 0 {
		out.Reason += "; " + strings.Join(v.notes, "; ")
	}
	out.Target = level
	return budgetVerdict{notes: v.notes}
}

// sloReasons are the alert reasons that mean users are hurting now: a
// scale-up for them goes ahead even past a cost ceiling.
var sloReasons = map[string]bool{"response_time_degradation": true, "error_rate_degradation": true, "latency_slo_burn": true}

func sloBreached(alerts []store.Alert) bool {
	for _, a := range alerts {
		if a.Action == store.EventScaleUp && sloReasons[a.Reason] {
			return true
		}
	}
	return false
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

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled here; failing means a bug.
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return b
}

// Services lists the services of the policy, sorted.
func (s *Scaler) Services() []string { return sortedKeys(s.pol().Services) }
