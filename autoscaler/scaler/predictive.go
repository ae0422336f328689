package scaler

import (
	"context"
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/control"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
	"github.com/wedsync/scaling/core/store"
)

// HistoryReader reads a query's past at a fixed step (Prometheus'
// query_range).
type HistoryReader interface {
	Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]predict.Sample, error)
}

// WindowReader reads a policy's metrics over a past range as the observer
// would have read them at each step (observe.Prometheus.Window). A History
// reader that has it fills the stabilization windows after a data gap or
// a restart; without it they are observed again live.
type WindowReader interface {
	Window(ctx context.Context, svc *policy.Service, start, end time.Time, step time.Duration) ([]observe.Step, error)
}

// historyTimeout bounds the history read that fills a window: it runs in
// the evaluation (once per gap), and a slow Prometheus only makes the
// decision hold.
const historyTimeout = 10 * time.Second

// fillWindow fills the stabilization windows from Prometheus history when
// this evaluation's valid sample starts a new run of observation — after a
// gap in the data, after an action that kept the loop away, or as the
// first since the start — with the recommendations the live path would
// have recorded at each sync period of the window (control.Backfill). Any
// failure leaves the window to be observed live: the decision holds.
func (s *Scaler) fillWindow(ctx context.Context, ss *svcState, p *policy.Service, name string, now time.Time, level int, obs []decision.Observation) {
	wr, ok := s.cfg.History.(WindowReader)
	if !ok || len(obs) == 0 {
		return
	}
	for _, o := range obs {
		if !o.Valid() {
			return
		}
	}
	from, ok := ss.ctl.Unobserved(p, now, s.gapAfter())
	if !ok {
		return
	}
	// One step per sync period, ending one before now, as the live
	// evaluations would have been.
	sync := s.pol().SyncPeriod.D()
	start := now.Add(-max(1, now.Sub(from)/sync) * sync)
	hctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	steps, err := wr.Window(hctx, p, start, now.Add(-sync), sync)
	if err != nil {
		s.cfg.Logger.Warn("read the stabilization window's history; it is observed live again", "service", name, "err", err)
		return
	}
	levelAt, err := s.levelsSince(hctx, p, name, start, level)
	if err != nil {
		s.cfg.Logger.Warn("read the levels of the stabilization window; it is observed live again", "service", name, "err", err)
		return
	}
	hs := make([]control.HistoryStep, len(steps))
	for i, st := range steps {
		hs[i] = control.HistoryStep{At: st.At, Observations: st.Observations}
	}
	covered := ss.ctl.Backfill(p, now, s.gapAfter(), hs, levelAt)
	s.cfg.Logger.Info("stabilization window filled from Prometheus history", "service", name, "observed", covered.String(),
		"window", now.Sub(from).String(), "steps", len(steps))
}

// levelsSince gives the service's level at any time since from, from its
// events (every replica's): the level before an action is its from.
func (s *Scaler) levelsSince(ctx context.Context, p *policy.Service, name string, from time.Time, current int) (func(time.Time) int, error) {
	if s.cfg.Store == nil {
		return func(time.Time) int { return current }, nil
	}
	evs, err := s.cfg.Store.ListEvents(ctx, store.EventFilter{Service: name, From: from, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var acts []decision.Action // newest first, as listed
	for _, ev := range evs {
		if a, ok := actionOf(p, ev); ok {
			acts = append(acts, a)
		}
	}
	return func(at time.Time) int {
		level := current
		for _, a := range acts {
			if a.At.After(at) {
				level = a.From
			}
		}
		return level
	}, nil
}

// AlertChecker says which alerts Prometheus has firing for a service
// (ALERTS{alertstate="firing"}) and which alert names its rules own.
type AlertChecker interface {
	AlertState(ctx context.Context, service string) (firing, owned map[string]bool, err error)
}

// CapacityReader reads a service's capacity per replica measured by its
// newest load test.
type CapacityReader interface {
	CapacityPerReplica(ctx context.Context, service string) (float64, bool, error)
}

// seasonalQuery is the driver's highest value in each step: the history
// point of a step is the load capacity had to carry through it.
func seasonalQuery(driver string, step time.Duration) string {
	return fmt.Sprintf("max_over_time((%s)[%ds:])", driver, int(step.Seconds()))
}

// refitAll starts, in the background, the seasonal refits that are due:
// a fit reads two weeks of history, and no evaluation waits for it.
func (s *Scaler) refitAll(ctx context.Context) {
	if s.cfg.History == nil {
		return
	}
	now := s.cfg.Now()
	v := s.view() // one policy for the whole pass, even across a reload
	for _, name := range sortedKeys(v.pol.Services) {
		p := v.pol.Services[name]
		ss := v.ctls[name]
		ss.mu.Lock()
		due := ss.ctl.NeedsRefit(p, now)
		if due {
			// Marked at once, so a slow fit is not started again each sync.
			ss.ctl.MarkRefit(now)
		}
		ss.mu.Unlock()
		if !due {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			m, err := s.fitSeasonal(ctx, p, now)
			ss.mu.Lock()
			ss.ctl.SetSeasonal(now, m, err)
			ss.mu.Unlock()
			if err != nil {
				s.cfg.Logger.Info("seasonal forecast not available", "service", name, "reason", err)
			} else {
				s.cfg.Logger.Info("seasonal forecast fitted", "service", name, "method", m.Method, "confidence", m.Confidence,
					"history", m.History.String())
			}
			s.cfg.Metrics.setSeasonal(name, m, err)
		}()
	}
}

func (s *Scaler) fitSeasonal(ctx context.Context, p *policy.Service, now time.Time) (*predict.Seasonal, error) {
	pr := p.Predictive
	m := p.Metric(pr.Driver)
	step := pr.Seasonal.Step.D()
	end := now.Truncate(step)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pts, err := s.cfg.History.Range(ctx, seasonalQuery(m.Query, step), end.Add(-pr.Seasonal.History.D()+step), end, step)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return predict.FitSeasonal(pts, end, step, pr.Seasonal.MinHistory.D())
}

// Plan is a read-only evaluation for the eval command: what would be done
// now, and why, with the forecasts, the lead and the scheduled windows. It
// writes nothing and starts nothing. allow restricts the directions (as a
// firing alert would); nil evaluates as level control does. The trend
// forecaster is seeded from Prometheus history, the seasonal model fitted
// on the spot, and the scale-down window taken as observed.
func (s *Scaler) Plan(ctx context.Context, name string, allow *decision.Directions) Result {
	res := Result{Service: name}
	if err := s.loadPhase(ctx); err != nil {
		res.Err = err
		return res
	}
	p := s.effective(name)
	if p == nil {
		res.Err = fmt.Errorf("service %q is not in the policy file", name)
		return res
	}
	cur, level, err := s.current(ctx, name, p, s.actuator(name))
	if err != nil {
		res.Err = err
		return res
	}
	res.Current = cur
	now := s.cfg.Now()
	sync := s.pol().SyncPeriod.D()
	ctl := control.New(name, now)
	ctl.AssumeObserved(now.Add(-24*time.Hour), now)
	var lastAction time.Time
	if s.cfg.Store != nil {
		if last, err := s.cfg.Store.LastFinishedEvent(ctx, name); err == nil && last.CompletedAt != nil {
			lastAction = *last.CompletedAt
		}
	}
	if pr := p.Predictive; pr != nil && s.cfg.History != nil {
		m := p.Metric(pr.Driver)
		if pr.Uses(policy.ForecasterTrend) {
			if pts, err := s.cfg.History.Range(ctx, m.Query, now.Add(-pr.Trend.Window.D()), now.Add(-sync), sync); err == nil {
				ctl.SeedDriver(pts)
			}
		}
		if pr.Uses(policy.ForecasterSeasonal) {
			sm, err := s.fitSeasonal(ctx, p, now)
			ctl.SetSeasonal(now, sm, err)
		}
	}
	ctl.SetActions(nil, lastAction)
	if s.cfg.Capacities != nil {
		for _, m := range p.Metrics {
			if m.Type == policy.MetricLoad && m.CapacityFrom == policy.CapacityFromLoadTest {
				if v, ok, err := s.cfg.Capacities.CapacityPerReplica(ctx, name); err == nil && ok {
					ctl.SetCapacity(m.Name, v)
				}
			}
		}
	}
	obs := s.cfg.Observer.Observe(ctx, p)
	in, notes := ctl.Gather(p, now, level, obs, sync, s.gapAfter())
	in.Allow = allow
	res.Output = decision.Decide(p, in)
	res.Notes = notes
	res.Observations = obs
	res.Action = s.actionOf(level, res.Output, "", "")
	return res
}
