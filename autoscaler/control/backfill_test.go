package control

import (
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
)

// downPol has a 60 s scale-down window and a 15 s sync period (gapAfter
// 45 s in the tests, as the scaler's 3 sync periods).
const downPol = `
sync_period: 15s
services:
  api:
    actuator: {type: exec, exec: {current_command: [x], apply_command: [y]}}
    min_replicas: 2
    max_replicas: 40
    metrics:
      - {name: cpu, query: q1, target: 0.6}
    scale_up: {stabilization_window: 0s, cooldown: 0s}
    scale_down: {stabilization_window: 60s, cooldown: 0s}
`

func downService(t *testing.T) *policy.Service {
	t.Helper()
	f, err := policy.Parse([]byte(downPol))
	if err != nil {
		t.Fatal(err)
	}
	return f.Services["api"]
}

func cpuObs(v float64, problem string) []decision.Observation {
	return []decision.Observation{{Name: "cpu", Value: v, Target: 0.6, Problem: problem}}
}

// steps is history at 15 s steps over [from, to], all with the same cpu,
// except at the times listed in bad (seconds before t0), which are NaN.
func steps(from, to time.Time, cpu float64, bad ...int) []HistoryStep {
	var out []HistoryStep
	for at := to; !at.Before(from); at = at.Add(-15 * time.Second) {
		problem := ""
		for _, b := range bad {
			if t0.Sub(at) == time.Duration(b)*time.Second {
				problem = "nan"
			}
		}
		out = append(out, HistoryStep{At: at, Observations: cpuObs(cpu, problem)})
	}
	return out
}

// What the controller hands the decision on the first valid samples after
// a gap, with and without history: the window counts as observed only as
// far back as valid data reaches without a gap, and the recommendations
// the history gives are the live path's (cpu 0.2 on 4 replicas → 2).
func TestWindowAfterAGap(t *testing.T) {
	t.Parallel()
	const sync, gapAfter = 15 * time.Second, 45 * time.Second
	p := downService(t)
	at4 := func(time.Time) int { return 4 }
	type want struct {
		since       time.Duration // before now; 0 = now
		fromHistory time.Duration
		outcome     decision.Outcome
		restart     bool
	}
	tests := []struct {
		name string
		// before runs the controller up to now (t0).
		before  func(c *Service)
		history []HistoryStep // nil: none read
		want    want
	}{
		{"(a) Prometheus unreachable for 4 sync periods, no history", func(c *Service) {
			live(c, p, t0.Add(-5*time.Minute), t0.Add(-75*time.Second), 0.2)
			for at := t0.Add(-60 * time.Second); at.Before(t0); at = at.Add(sync) {
				c.Gather(p, at, 4, cpuObs(0, "query_error"), sync, gapAfter)
			}
		}, nil, want{0, 0, decision.Stabilizing, false}},
		{"(a) … history has the outage as a hole: only what follows it counts", func(c *Service) {
			live(c, p, t0.Add(-5*time.Minute), t0.Add(-75*time.Second), 0.2)
			for at := t0.Add(-60 * time.Second); at.Before(t0); at = at.Add(sync) {
				c.Gather(p, at, 4, cpuObs(0, "query_error"), sync, gapAfter)
			}
		}, steps(t0.Add(-time.Minute), t0.Add(-sync), 0.2, 30, 45, 60), want{sync, sync, decision.Stabilizing, false}},
		{"(b) one failed evaluation (shorter than gapAfter)", func(c *Service) {
			live(c, p, t0.Add(-5*time.Minute), t0.Add(-30*time.Second), 0.2)
			c.Gather(p, t0.Add(-sync), 4, cpuObs(0, "query_error"), sync, gapAfter)
		}, nil, want{0, 0, decision.Stabilizing, false}},
		{"(b) … history bridges it: the gap was only ours, the old run goes on", func(c *Service) {
			live(c, p, t0.Add(-5*time.Minute), t0.Add(-30*time.Second), 0.2)
			c.Gather(p, t0.Add(-sync), 4, cpuObs(0, "query_error"), sync, gapAfter)
		}, steps(t0.Add(-time.Minute), t0.Add(-sync), 0.2), want{5 * time.Minute, time.Minute, decision.Stabilizing, false}},
		{"(c) NaN for 3 minutes (no traffic), history NaN too", func(c *Service) {
			live(c, p, t0.Add(-5*time.Minute), t0.Add(-195*time.Second), 0.2)
			for at := t0.Add(-3 * time.Minute); at.Before(t0); at = at.Add(sync) {
				c.Gather(p, at, 4, cpuObs(0, "nan"), sync, gapAfter)
			}
		}, steps(t0.Add(-time.Minute), t0.Add(-sync), 0, 15, 30, 45, 60), want{0, 0, decision.Stabilizing, false}},
		{"(d) restart, first evaluation 3 minutes after the start, no history", func(c *Service) {}, nil,
			want{0, 0, decision.Stabilizing, true}},
		{"(d) restart: the window comes from history", func(c *Service) {}, steps(t0.Add(-time.Minute), t0.Add(-sync), 0.2),
			want{time.Minute, time.Minute, decision.Stabilizing, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New("api", t0.Add(-3*time.Minute))
			tc.before(c)
			if tc.history != nil {
				from, ok := c.Unobserved(p, t0, gapAfter)
				if !ok || !from.Equal(t0.Add(-time.Minute)) {
					t.Fatalf("Unobserved = %s, %v", from, ok)
				}
				c.Backfill(p, t0, gapAfter, tc.history, at4)
			}
			in, _ := c.Gather(p, t0, 4, cpuObs(0.2, ""), sync, gapAfter)
			if got := t0.Sub(in.HistorySince); got != tc.want.since {
				t.Errorf("observed since %s before now, want %s", got, tc.want.since)
			}
			if in.Gap == nil || !in.Gap.LiveSince.Equal(t0) || in.Gap.FromHistory != tc.want.fromHistory || in.Gap.Restart != tc.want.restart {
				t.Fatalf("gap = %+v, want live since now, %s from history, restart %v", in.Gap, tc.want.fromHistory, tc.want.restart)
			}
			out := decision.Decide(p, in)
			c.Record(p, t0, out)
			if out.Outcome != tc.want.outcome {
				t.Fatalf("first sample: %s (%s)", out.Outcome, out.Reason)
			}
			// The next sample: a scale-down once the window is covered.
			in, _ = c.Gather(p, t0.Add(sync), 4, cpuObs(0.2, ""), sync, gapAfter)
			out = decision.Decide(p, in)
			if covered := tc.want.since+sync >= time.Minute; covered != (out.Outcome == decision.Scale) {
				t.Fatalf("second sample, %s observed: %s (%s)", tc.want.since+sync, out.Outcome, out.Reason)
			}
		})
	}
}

// History recommendations are computed at the level the service had then:
// before a scale-up from 2 to 4, cpu 0.9 on 2 replicas called for 3 (on 4
// it would have been 6); after it, 0.3 on 4 calls for 2.
func TestBackfillUsesThePastLevel(t *testing.T) {
	t.Parallel()
	p := downService(t)
	c := New("api", t0.Add(-time.Hour))
	acted := t0.Add(-30 * time.Second)
	level := func(at time.Time) int {
		if at.Before(acted) {
			return 2
		}
		return 4
	}
	var hist []HistoryStep
	for at := t0.Add(-45 * time.Second); at.Before(t0); at = at.Add(15 * time.Second) {
		v := 0.9
		if !at.Before(acted) {
			v = 0.3
		}
		hist = append(hist, HistoryStep{At: at, Observations: cpuObs(v, "")})
	}
	c.Backfill(p, t0, 45*time.Second, hist, level)
	var levels []int
	for _, r := range c.history {
		levels = append(levels, r.Level)
	}
	if len(levels) != 3 || levels[0] != 3 || levels[1] != 2 || levels[2] != 2 {
		t.Fatalf("recommendations from history = %v, want [3 2 2]", levels)
	}
}

// live runs valid evaluations every 15 s over [from, to].
func live(c *Service, p *policy.Service, from, to time.Time, cpu float64) {
	for at := from; !at.After(to); at = at.Add(15 * time.Second) {
		in, _ := c.Gather(p, at, 4, cpuObs(cpu, ""), 15*time.Second, 45*time.Second)
		c.Record(p, at, decision.Decide(p, in))
	}
}
