package scaler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/control"
	"github.com/wedsync/scaling/autoscaler/policy"
)

// view is the policy the scaler runs and what was built for it. A reload
// builds a new one and swaps it whole, so an evaluation never sees half a
// policy; an action keeps the service policy and actuator it started with.
type view struct {
	pol  *policy.File
	acts map[string]actuator.Actuator
	ctls map[string]*svcState
}

func (s *Scaler) view() *view { return s.live.Load() }

// pol is the policy in force.
func (s *Scaler) pol() *policy.File { return s.live.Load().pol }

// service is a service's policy as the file has it (nil: not in the file).
func (s *Scaler) service(name string) *policy.Service { return s.live.Load().pol.Services[name] }

// ctl is a service's controller (nil: not in the policy).
func (s *Scaler) ctl(name string) *svcState { return s.live.Load().ctls[name] }

// actuator is a service's actuator. A service removed by a reload keeps
// its last one here: an action or a reconcile read the service's policy
// before the swap and must still reach it.
func (s *Scaler) actuator(name string) actuator.Actuator {
	if a := s.live.Load().acts[name]; a != nil {
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired[name]
}

// loopCtxKey marks an evaluation's context: its value is the loop's
// context, under which the actions an evaluation starts run. The
// evaluation's timeout bounds its reads, not the action (which has its own
// settle timeout and must not be cut off when the evaluation returns).
type loopCtxKey struct{}

// outlive is the context an action started under ctx runs in.
func outlive(ctx context.Context) context.Context {
	if parent, ok := ctx.Value(loopCtxKey{}).(context.Context); ok {
		return parent
	}
	return ctx
}

// minEvalTimeout is the shortest default timeout: a short sync period
// (the demo's 2 s) must not cut evaluations that a busy Prometheus (its
// queries time out at 5 s) or a slow actuator read would still finish;
// overlapping the next tick is harmless, it skips the service.
const minEvalTimeout = 10 * time.Second

// evalTimeout bounds one evaluation of one service.
func (s *Scaler) evalTimeout() time.Duration {
	if s.cfg.EvalTimeout > 0 {
		return s.cfg.EvalTimeout
	}
	return max(s.pol().SyncPeriod.D(), minEvalTimeout)
}

// each starts f for every named service whose previous evaluation has
// finished, at most Parallel at a time, each under the evaluation timeout,
// and returns at once: one hung dependency (a Prometheus query, an
// actuator read) stalls only its own service, and the next tick skips that
// service (counted and logged) instead of queueing behind it. It returns the
// services it skipped.
func (s *Scaler) each(ctx context.Context, names []string, f func(ctx context.Context, name string)) (skipped []string) {
	timeout := s.evalTimeout()
	for _, name := range names {
		if ctx.Err() != nil {
			return skipped
		}
		s.mu.Lock()
		since, running := s.evaluating[name]
		if !running {
			s.evaluating[name] = s.cfg.Now()
		}
		s.mu.Unlock()
		if running {
			skipped = append(skipped, name)
			s.cfg.Metrics.loop.skipped.WithLabelValues(name).Inc()
			s.cfg.Logger.Warn("previous evaluation still running; skipped", "service", name, "running_for", s.cfg.Now().Sub(since).Round(time.Millisecond))
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.evaluating, name)
				s.mu.Unlock()
			}()
			select {
			case s.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-s.slots }()
			ectx, cancel := context.WithTimeout(context.WithValue(ctx, loopCtxKey{}, ctx), timeout)
			defer cancel()
			f(ectx, name)
			if errors.Is(ectx.Err(), context.DeadlineExceeded) {
				s.cfg.Metrics.loop.timeouts.WithLabelValues(name).Inc()
				s.cfg.Logger.Warn("evaluation timed out", "service", name, "timeout", timeout)
			}
		}()
	}
	return skipped
}

// Reload switches the scaler to a new, already validated policy file in one
// step: services added get a controller and an actuator; removed ones are
// no longer evaluated (their actions in flight run to the end); kept ones
// keep their controller (history, windows, cooldowns) and, unless their
// actuator's configuration changed, their actuator. Actions in flight keep
// the policy they started with. On error nothing changes.
func (s *Scaler) Reload(pol *policy.File) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.view()
	next := &view{pol: pol, acts: map[string]actuator.Actuator{}, ctls: map[string]*svcState{}}
	var added, changed, removed []string
	for _, name := range sortedKeys(pol.Services) {
		p := pol.Services[name]
		op := old.pol.Services[name]
		switch {
		case op != nil && reflect.DeepEqual(op.Actuator, p.Actuator):
			next.acts[name] = old.acts[name]
		case s.cfg.NewActuator == nil:
			return fmt.Errorf("services.%s.actuator: new or changed, and the scaler cannot build actuators (no Config.NewActuator)", name)
		default:
			a, err := s.cfg.NewActuator(name, p)
			if err != nil {
				return fmt.Errorf("services.%s.actuator: %w", name, err)
			}
			next.acts[name] = a
		}
		switch {
		case op == nil:
			added = append(added, name)
		case !reflect.DeepEqual(op, p):
			changed = append(changed, name)
		}
		if ss := old.ctls[name]; ss != nil {
			next.ctls[name] = ss
		} else {
			next.ctls[name] = &svcState{ctl: control.New(name, s.cfg.Now())}
		}
	}
	for _, name := range sortedKeys(old.pol.Services) {
		if pol.Services[name] == nil {
			removed = append(removed, name)
		}
	}
	s.mu.Lock()
	for _, name := range removed {
		s.retired[name] = old.acts[name]
		delete(s.recorded, name)
		delete(s.pending, name)
	}
	s.live.Store(next)
	s.mu.Unlock()
	for _, name := range removed {
		s.cfg.Metrics.forget(name)
	}
	for name, p := range pol.Services {
		s.cfg.Metrics.setControl(name, p)
	}
	select { // the loop re-reads the sync period
	case s.reloaded <- struct{}{}:
	default:
	}
	s.cfg.Logger.Info("policy reloaded", "services", len(pol.Services), "added", added, "changed", changed, "removed", removed,
		"sync_period", pol.SyncPeriod.D())
	return nil
}

// loopMetrics are the loop's own series: evaluations skipped or cut short.
type loopMetrics struct {
	skipped  *prometheus.CounterVec
	timeouts *prometheus.CounterVec
}

func newLoopMetrics(reg prometheus.Registerer) *loopMetrics {
	m := &loopMetrics{
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "evaluations_skipped_total",
			Help: "Evaluations of a service not started because its previous one was still running (a hung dependency).",
		}, []string{"service"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "evaluation_timeouts_total",
			Help: "Evaluations of a service that ran past the evaluation timeout (their reads were cancelled).",
		}, []string{"service"}),
	}
	if reg != nil {
		reg.MustRegister(m.skipped, m.timeouts)
	}
	return m
}

// forget drops a removed service's series: they would otherwise report it
// at its last values forever.
func (m *Metrics) forget(service string) {
	for _, v := range []*prometheus.GaugeVec{m.replicas, m.desiredReplicas, m.tier, m.desiredTier, m.reactiveReplicas,
		m.predictedReplicas, m.scheduledMin, m.forecast, m.forecastError, m.forecastLead, m.forecasterReady, m.seasonalHistory,
		m.capacity, m.controlInfo, m.stateUnknown} {
		v.DeletePartialMatch(prometheus.Labels{"service": service})
	}
}
