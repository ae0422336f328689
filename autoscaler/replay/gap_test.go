package replay

import (
	"context"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/rules"
)

// Prometheus away for 4 minutes while the load falls from 600 to 150
// req/s: nothing acts during the outage, no scale-down follows within the
// down-window after it (the first valid samples say "release"), and once
// the window is observed the fleet does come down.
func TestNoScaleDownWithinTheWindowAfterAGap(t *testing.T) {
	t.Parallel()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := Trace{Start: start, Step: time.Minute}
	for i := range 30 {
		r := 600.0
		if i >= 10 {
			r = 150
		}
		tr.Rates = append(tr.Rates, r)
	}
	gap := Gap{From: 9 * time.Minute, To: 13 * time.Minute}
	pol := loadPolicyFile(t, demoPolicy)
	rep, err := Run(context.Background(), Config{Policy: pol, Service: "api", Trace: tr, CapacityPerReplica: 100, ReadyAfter: 2 * time.Second,
		Profile: th.Profiles["demo"], Arrivals: fleetsim.Uniform, Strategies: []string{Level, HPA}, Gaps: []Gap{gap}})
	if err != nil {
		t.Fatal(err)
	}
	windows := map[string]time.Duration{Level: pol.Services["api"].ScaleDown.StabilizationWindow.D(), HPA: 300 * time.Second}
	for name, w := range windows {
		var down *ActionLog
		for i, a := range rep.Strategies[name].Log {
			off := a.At.Sub(start)
			if off >= gap.From && off < gap.To {
				t.Errorf("%s acted during the gap: %+v", name, a)
			}
			if a.To < a.From && off >= gap.To && down == nil {
				down = &rep.Strategies[name].Log[i]
			}
		}
		if down == nil {
			t.Fatalf("%s: no scale-down after the gap at all: %+v", name, rep.Strategies[name].Log)
		}
		if after := down.At.Sub(start.Add(gap.To)); after < w {
			t.Fatalf("%s: scaled %d → %d %s after the gap, within its %s window (%s)", name, down.From, down.To, after, w, down.Reason)
		}
		t.Logf("%s: first scale-down %s after the gap: %d → %d", name, down.At.Sub(start.Add(gap.To)), down.From, down.To)
	}
}
