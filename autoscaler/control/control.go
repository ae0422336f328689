// Package control keeps what a level-triggered controller remembers about
// one service between evaluations — recommendations for the stabilization
// windows, recent actions for the rate policies, when valid data started
// after a gap, learned capacity per replica, the driver's recent samples and
// its seasonal model, measured readiness times, forecast errors — and turns
// one evaluation's observations into a decision.Input. The live scaler and
// the offline replay both run it, so the replay judges the real controller.
package control

import (
	"fmt"
	"math"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
)

// Combined is the forecaster name under which the forecast actually used
// (the highest of the forecasters) is scored.
const Combined = "combined"

// Service is one service's controller state. It is not safe for
// concurrent use: the scaler evaluates a service from one goroutine at a
// time.
type Service struct {
	Name string

	history []decision.Recommendation
	actions []decision.Action
	// lastAction is when the last action finished (cooldown).
	lastAction time.Time
	// readyTimes of recent scale-ups (request → ready), for the lead.
	readyTimes []time.Duration
	// changed is when the replica count last moved (an action started or
	// finished): windows reaching back before it mix two fleet sizes.
	changed time.Time

	// dataSince is when the current run of valid observations began
	// (earlier than liveSince when history filled the window); lastValid
	// the last valid evaluation (zero: none since the start). A gap starts
	// a new run: gapAt is when it began, liveSince the first live sample
	// after it, fromHistory how much of the window history filled.
	dataSince, lastValid time.Time
	inGap                bool
	gapAt, liveSince     time.Time
	restart              bool
	fromHistory          time.Duration
	// filled is what Backfill read for the run about to start.
	filled *filled

	capacity map[string]float64 // learned capacity per replica, by load metric
	driver   []predict.Sample   // recent driver samples (trend)

	seasonal    *predict.Seasonal
	seasonalErr error
	fittedAt    time.Time

	Tracker predict.Tracker
}

// New returns the state of a service whose controller started at started
// and has observed nothing yet: the first valid sample starts the
// windows' observation (a restart is a gap), unless Backfill filled them
// from history first.
func New(name string, started time.Time) *Service {
	return &Service{Name: name, gapAt: started, restart: true}
}

// AssumeObserved declares the data valid and continuous from since to
// until, as if observed: for a one-shot eval or a replay that starts from
// a settled fleet, where no earlier window can be read.
func (c *Service) AssumeObserved(since, until time.Time) {
	c.dataSince, c.lastValid, c.inGap, c.restart = since, until, false, false
	c.gapAt, c.liveSince, c.fromHistory, c.filled = time.Time{}, time.Time{}, 0, nil
}

// newRun reports whether a valid sample at now starts a new run of
// observation: the first since the start, or one after invalid samples or
// after no evaluation for longer than gapAfter.
func (c *Service) newRun(now time.Time, gapAfter time.Duration) bool {
	return c.lastValid.IsZero() || c.inGap || now.Sub(c.lastValid) > gapAfter
}

// Notes are what an evaluation found besides the decision input, for
// metrics, eval and the decision's record.
type Notes struct {
	Lead        time.Duration
	Forecasts   []decision.Forecast
	Why         []string // why a forecaster gave nothing
	SeasonalErr error    // the seasonal forecaster's state (nil when ready)
	Seasonal    *predict.Seasonal
	Capacity    map[string]float64
}

// maxHistory bounds the remembered recommendations and samples even when
// windows are long and sync periods short.
const maxHistory = 4096

// Gather builds the decision input from one evaluation's observations.
// gapAfter is the longest time between two valid evaluations that still
// counts as continuous data (a few sync periods).
func (c *Service) Gather(p *policy.Service, now time.Time, current int, obs []decision.Observation, sync, gapAfter time.Duration) (decision.Input, Notes) {
	valid := len(obs) > 0
	for _, o := range obs {
		valid = valid && o.Valid()
	}
	if valid {
		if c.newRun(now, gapAfter) {
			// The first valid sample after a gap starts the observation of
			// every window again — from history, when Backfill found it
			// continuous up to now: a scale-down must not follow from it.
			if !c.lastValid.IsZero() {
				c.gapAt, c.restart = c.lastValid, false
			}
			c.dataSince, c.liveSince, c.fromHistory = now, now, 0
			if f := c.filled; f != nil && !f.at.Before(now.Add(-gapAfter)) && !f.at.After(now) {
				c.dataSince, c.fromHistory = f.since, f.covered
			}
		}
		c.filled = nil
		c.inGap, c.lastValid = false, now
		// Learn only from windows of one fleet size: a rate window that
		// spans a scale-up divides the old load by the new replica count.
		if now.Sub(c.changed) > 2*p.MetricWindow.D()+sync {
			c.learnCapacity(p, current, obs)
		}
	} else {
		c.inGap = true
	}
	in := decision.Input{Now: now, Current: current, Observations: obs, Capacity: c.capacity, History: c.history,
		HistorySince: c.dataSince, Actions: c.actions, LastAction: c.lastAction}
	if !c.liveSince.IsZero() {
		in.Gap = &decision.Gap{At: c.gapAt, Restart: c.restart, LiveSince: c.liveSince, FromHistory: c.fromHistory}
	}
	if set := p.ScheduleSet(); set != nil {
		in.Schedule = set.At(now)
	}
	notes := Notes{Capacity: c.capacity}
	pr := p.Predictive
	if pr == nil {
		return in, notes
	}
	var driver float64
	haveDriver := false
	for _, o := range obs {
		if o.Name == pr.Driver && o.Valid() {
			driver, haveDriver = o.Value, true
		}
	}
	if haveDriver {
		c.driver = append(c.driver, predict.Sample{At: now, Value: driver})
		c.Tracker.Observe(now, driver)
	}
	c.driver = pruneSamples(c.driver, now.Add(-pr.Trend.Window.D()))
	lead := predict.Lead(pr, sync, c.readyTimes)
	notes.Lead = lead
	notes.SeasonalErr, notes.Seasonal = c.seasonalErr, c.seasonal
	if !valid {
		return in, notes
	}
	var best float64
	if pr.Uses(policy.ForecasterTrend) {
		if v, ok, why := predict.Trend(c.driver, now, pr.Trend.Window.D(), lead, pr.Trend.MinSamples); ok {
			in.Forecasts = append(in.Forecasts, decision.Forecast{Forecaster: policy.ForecasterTrend, Value: v, Lead: lead})
			best = math.Max(best, v)
		} else {
			notes.Why = append(notes.Why, why)
		}
	}
	if pr.Uses(policy.ForecasterSeasonal) {
		switch v, ok := c.seasonal.MaxOver(now, now.Add(lead)); {
		case ok:
			in.Forecasts = append(in.Forecasts, decision.Forecast{Forecaster: policy.ForecasterSeasonal, Value: v, Lead: lead})
			best = math.Max(best, v)
		case c.seasonalErr != nil:
			notes.Why = append(notes.Why, c.seasonalErr.Error())
		case c.seasonal == nil:
			notes.Why = append(notes.Why, "seasonal: not fitted yet")
		default:
			notes.Why = append(notes.Why, fmt.Sprintf("seasonal: model of %s is too old", c.seasonal.End.Format(time.RFC3339)))
		}
	}
	for _, f := range in.Forecasts {
		c.Tracker.Made(f.Forecaster, now, now.Add(lead), f.Value)
	}
	if len(in.Forecasts) > 0 {
		c.Tracker.Made(Combined, now, now.Add(lead), best)
	}
	notes.Forecasts = in.Forecasts
	return in, notes
}

// Record keeps a decision's raw recommendation for the stabilization
// windows.
func (c *Service) Record(p *policy.Service, now time.Time, out decision.Output) {
	if out.Recorded {
		c.history = append(c.history, decision.Recommendation{At: now, Level: out.Raw})
	}
	keep := max(p.ScaleUp.StabilizationWindow.D(), p.ScaleDown.StabilizationWindow.D())
	i := 0
	for i < len(c.history) && (now.Sub(c.history[i].At) > keep || len(c.history)-i > maxHistory) {
		i++
	}
	c.history = c.history[i:]
}

// Acted records an action started at now from one level to another.
func (c *Service) Acted(p *policy.Service, now time.Time, from, to int) {
	c.actions = append(c.actions, decision.Action{At: now, From: from, To: to})
	c.changed = now
	c.PruneActions(p, now)
}

// PruneActions forgets actions older than the longest rate period.
func (c *Service) PruneActions(p *policy.Service, now time.Time) {
	keep := p.LongestPeriod()
	i := 0
	for i < len(c.actions) && now.Sub(c.actions[i].At) >= keep {
		i++
	}
	c.actions = c.actions[i:]
}

// SetActions replaces the remembered actions (read back from the event log
// at start, or before acting, so replicas count each other's actions).
func (c *Service) SetActions(a []decision.Action, lastFinished time.Time) {
	c.actions = a
	if lastFinished.After(c.lastAction) {
		c.lastAction = lastFinished
	}
}

// maxReadyTimes is how many measured readiness times the lead learns from.
const maxReadyTimes = 10

// Finished records that an action finished at now; ready is how long a
// scale-up took to become ready (0 for other actions).
func (c *Service) Finished(now time.Time, ready time.Duration) {
	c.lastAction, c.changed = now, now
	if ready > 0 {
		c.readyTimes = append(c.readyTimes, ready)
		if len(c.readyTimes) > maxReadyTimes {
			c.readyTimes = c.readyTimes[1:]
		}
	}
}

// SetReadyTimes seeds the measured readiness times (from the event log).
func (c *Service) SetReadyTimes(t []time.Duration) {
	if len(t) > maxReadyTimes {
		t = t[len(t)-maxReadyTimes:]
	}
	c.readyTimes = append([]time.Duration(nil), t...)
}

// ReadyTimes are the measured readiness times.
func (c *Service) ReadyTimes() []time.Duration { return c.readyTimes }

// NeedsRefit reports whether the seasonal model is due to be fitted again.
func (c *Service) NeedsRefit(p *policy.Service, now time.Time) bool {
	pr := p.Predictive
	if !pr.Uses(policy.ForecasterSeasonal) {
		return false
	}
	return c.fittedAt.IsZero() || now.Sub(c.fittedAt) >= pr.Seasonal.RefitEvery.D()
}

// MarkRefit notes that a refit started at now (it may take a while).
func (c *Service) MarkRefit(now time.Time) { c.fittedAt = now }

// SeedDriver fills the trend window from history (a one-shot eval, or a
// restart), before this process has observed anything itself.
func (c *Service) SeedDriver(samples []predict.Sample) {
	c.driver = append(append([]predict.Sample(nil), samples...), c.driver...)
}

// SetSeasonal installs a fitted model, or the reason there is none.
func (c *Service) SetSeasonal(now time.Time, s *predict.Seasonal, err error) {
	c.fittedAt = now
	if err != nil {
		// A model that fitted before stays usable until it runs out: one
		// failed refresh (Prometheus restarting) must not drop prediction.
		c.seasonalErr = err
		if c.seasonal != nil && now.Sub(c.seasonal.End) < 24*time.Hour {
			c.seasonalErr = nil
		}
		return
	}
	c.seasonal, c.seasonalErr = s, nil
}

// Capacity is the learned capacity per replica of a load metric.
func (c *Service) Capacity(metric string) float64 { return c.capacity[metric] }

// Learning: utilization between these bounds says how much one replica
// serves; near zero it is noise, near one it is saturation (the load is
// then more than the replicas can serve, and the ratio would understate it).
const (
	learnMinUtil = 0.15
	learnMaxUtil = 0.9
	learnWeight  = 0.1 // EWMA weight of a new estimate
)

func (c *Service) learnCapacity(p *policy.Service, current int, obs []decision.Observation) {
	if current <= 0 {
		return
	}
	value := func(name string) (float64, bool) {
		for _, o := range obs {
			if o.Name == name {
				return o.Value, true
			}
		}
		return 0, false
	}
	for _, m := range p.Metrics {
		if m.Type != policy.MetricLoad || m.CapacityFrom == "" || m.CapacityFrom == policy.CapacityFromLoadTest {
			continue
		}
		load, ok1 := value(m.Name)
		util, ok2 := value(m.CapacityFrom)
		if !ok1 || !ok2 || util < learnMinUtil || util > learnMaxUtil || !(load > 0) {
			continue
		}
		est := load / (float64(current) * util)
		if c.capacity == nil {
			c.capacity = map[string]float64{}
		}
		if old := c.capacity[m.Name]; old > 0 {
			est = old + learnWeight*(est-old)
		}
		c.capacity[m.Name] = est
	}
}

// SetCapacity fixes a load metric's capacity per replica (from a load test).
func (c *Service) SetCapacity(metric string, v float64) {
	if c.capacity == nil {
		c.capacity = map[string]float64{}
	}
	c.capacity[metric] = v
}

func pruneSamples(s []predict.Sample, from time.Time) []predict.Sample {
	i := 0
	for i < len(s) && (s[i].At.Before(from) || len(s)-i > maxHistory) {
		i++
	}
	return s[i:]
}
