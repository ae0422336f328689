package replay

import (
	"math"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/rules"
)

// simSignals stands in for Prometheus: from the simulated fleet's ticks it
// computes the normalized series the recording rules would hold — rates and
// quantiles over the rules' rate window, one evaluation interval late, and
// the long-window CPU average recorded only once the window is full.
type simSignals struct {
	window, lag  int // seconds
	long         int
	buf          []fleetsim.Tick
	longBusy     []float64 // ring: busy slot-seconds per second
	longSlots    []float64 // ring: slot-seconds per second
	longSum      [2]float64
	longN, longI int
	slotsPer     int
}

func newSignals(p *rules.Profile, sync time.Duration) *simSignals {
	w := max(1, int(p.RateWindow.D()/time.Second))
	lag := max(0, int(p.EvaluationInterval.D()/time.Second))
	long := max(1, int(p.LongWindow.D()/time.Second))
	return &simSignals{window: w, lag: lag, long: long, longBusy: make([]float64, long), longSlots: make([]float64, long),
		slotsPer: fleetsim.DefaultSlotsPerReplica}
}

func (s *simSignals) add(t fleetsim.Tick) {
	s.buf = append(s.buf, t)
	if keep := s.window + s.lag + 1; len(s.buf) > 4*keep {
		s.buf = append(s.buf[:0], s.buf[len(s.buf)-keep:]...)
	}
	slots := float64(t.Ready*s.slotsPer) * t.Dt.Seconds()
	s.longSum[0] += t.BusySlotSeconds - s.longBusy[s.longI]
	s.longSum[1] += slots - s.longSlots[s.longI]
	s.longBusy[s.longI], s.longSlots[s.longI] = t.BusySlotSeconds, slots
	s.longI = (s.longI + 1) % s.long
	s.longN = min(s.longN+1, s.long)
}

// win is the rate window as the latest rule evaluation saw it.
func (s *simSignals) win() []fleetsim.Tick {
	end := len(s.buf) - s.lag
	if end <= 0 {
		return nil
	}
	return s.buf[max(0, end-s.window):end]
}

func (s *simSignals) value(sig signal) (float64, bool) {
	w := s.win()
	if len(w) == 0 {
		return math.NaN(), false
	}
	var busy, slots, answered, refused float64
	for _, t := range w {
		busy += t.BusySlotSeconds
		slots += float64(t.Ready*s.slotsPer) * t.Dt.Seconds()
		answered += t.Served + t.Refused
		refused += t.Refused
	}
	secs := float64(len(w))
	switch sig {
	case sigCPU:
		if slots == 0 {
			return math.NaN(), false
		}
		return math.Min(busy/slots, 1), true
	case sigLoad:
		return answered / secs, true
	case sigErrors:
		if answered == 0 {
			return math.NaN(), false
		}
		return refused / answered, true
	}
	q := map[signal]float64{sigP50: 0.5, sigP95: 0.95, sigP99: 0.99}[sig]
	v := fleetsim.Quantile(w, q, 0) // 503s are answered at once, as the fleet's own histogram has them
	return v, !math.IsNaN(v)
}

func (s *simSignals) signals() signals {
	var out signals
	out.cpu, out.cpuOK = s.value(sigCPU)
	out.p95, out.latOK = s.value(sigP95)
	out.p99, _ = s.value(sigP99)
	if s.longN == s.long && s.longSum[1] > 0 {
		out.cpuAvgLong, out.longOK = s.longSum[0]/s.longSum[1], true
	}
	return out
}

// observe reads the policy's metrics as the observer would, with the same
// problems: a latency with no requests is NaN, and NaN holds.
func (s *simSignals) observe(p *policy.Service, sigs []signal, now time.Time) []decision.Observation {
	obs := make([]decision.Observation, len(p.Metrics))
	at := now.Add(-time.Duration(s.lag) * time.Second)
	for i, m := range p.Metrics {
		o := decision.Observation{Name: m.Name, Query: m.Query, Target: m.Target, At: at}
		v, ok := s.value(sigs[i])
		o.Value = v
		if !ok {
			o.Problem = observe.ProblemNaN
		}
		obs[i] = o
	}
	return obs
}

// stepHistory is the driver's history as the seasonal forecaster reads it
// from Prometheus: the highest value of each step.
type stepHistory struct {
	step, keep, min time.Duration
	pts             []predict.Sample
}

func newStepHistory(p *policy.Service) *stepHistory {
	h := &stepHistory{step: 5 * time.Minute, keep: 14 * 24 * time.Hour, min: 7 * 24 * time.Hour}
	if pr := p.Predictive; pr != nil {
		h.step, h.keep, h.min = pr.Seasonal.Step.D(), pr.Seasonal.History.D(), pr.Seasonal.MinHistory.D()
	}
	return h
}

func (h *stepHistory) add(at time.Time, v float64) {
	if math.IsNaN(v) {
		return
	}
	// The point at T covers (T−step, T].
	end := at.Truncate(h.step)
	if !end.Equal(at) {
		end = end.Add(h.step)
	}
	if n := len(h.pts); n > 0 && h.pts[n-1].At.Equal(end) {
		h.pts[n-1].Value = math.Max(h.pts[n-1].Value, v)
		return
	}
	h.pts = append(h.pts, predict.Sample{At: end, Value: v})
	if cut := at.Add(-h.keep); h.pts[0].At.Before(cut) {
		i := 0
		for i < len(h.pts) && h.pts[i].At.Before(cut) {
			i++
		}
		h.pts = h.pts[i:]
	}
}

func (h *stepHistory) fit(now time.Time) (*predict.Seasonal, error) {
	end := now.Truncate(h.step)
	var pts []predict.Sample
	for _, p := range h.pts {
		if !p.At.After(end) {
			pts = append(pts, p)
		}
	}
	return predict.FitSeasonal(pts, end, h.step, h.min)
}
