package decision

import (
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
)

// After a data gap (or a restart) a scale-down waits until its window is
// observed again, never follows from the first valid sample, and says why;
// a scale-up on a fresh valid sample goes ahead (its window is 0, as HPA's).
func TestStabilizationAfterAGap(t *testing.T) {
	t.Parallel()
	gapAt := t0.Add(-10 * time.Minute)
	down, up := obs3(0.2, 100, 0.3), obs3(0.9, 540, 0.3)
	tests := []struct {
		name    string
		in      Input
		outcome Outcome
		target  int
		reason  string
	}{
		{"first sample after the gap: nothing observed", Input{Current: 6, Observations: down, HistorySince: t0,
			Gap: &Gap{At: gapAt, LiveSince: t0}}, Stabilizing, 6,
			"stabilization window not yet observed since the data gap at 2026-11-27T11:50:00Z: 0 s of 300 s; the first valid sample after it never scales down: " +
				"cpu 0.2/0.6 → 2; load 100 needs 2 at 100 per replica × 0.6"},
		{"live samples cover part of the window", Input{Current: 6, Observations: down, HistorySince: t0.Add(-2 * time.Minute),
			Gap: &Gap{At: gapAt, LiveSince: t0.Add(-2 * time.Minute)}}, Stabilizing, 6,
			"stabilization window not yet observed since the data gap at 2026-11-27T11:50:00Z: 120 s of 300 s: " +
				"cpu 0.2/0.6 → 2; load 100 needs 2 at 100 per replica × 0.6"},
		{"history fills the window, but this is the first live sample", Input{Current: 6, Observations: down, HistorySince: t0.Add(-6 * time.Minute),
			Gap: &Gap{At: gapAt, LiveSince: t0, FromHistory: 6 * time.Minute}}, Stabilizing, 6,
			"stabilization window not yet observed since the data gap at 2026-11-27T11:50:00Z: 300 s of 300 s (300 s from Prometheus history); " +
				"the first valid sample after it never scales down: cpu 0.2/0.6 → 2; load 100 needs 2 at 100 per replica × 0.6"},
		{"history fills the window, second live sample scales down", Input{Current: 6, Observations: down, HistorySince: t0.Add(-6 * time.Minute),
			Gap: &Gap{At: gapAt, LiveSince: t0.Add(-15 * time.Second), FromHistory: 6 * time.Minute}}, Scale, 3,
			"6 → 3: cpu 0.2/0.6 → 2; load 100 needs 2 at 100 per replica × 0.6 (limited from 2 by the scale-down rate policies)"},
		{"after a restart the reason says so", Input{Current: 6, Observations: down, HistorySince: t0,
			Gap: &Gap{At: t0.Add(-3 * time.Minute), Restart: true, LiveSince: t0}}, Stabilizing, 6,
			"stabilization window not yet observed since the restart at 2026-11-27T11:57:00Z: 0 s of 300 s; the first valid sample after it never scales down: " +
				"cpu 0.2/0.6 → 2; load 100 needs 2 at 100 per replica × 0.6"},
		{"a scale-up on the first sample after a gap goes ahead", Input{Current: 4, Observations: up, HistorySince: t0,
			Gap: &Gap{At: gapAt, LiveSince: t0}}, Scale, 8,
			"4 → 8: cpu 0.9/0.6 → 6; load 540 needs 9 at 100 per replica × 0.6 (limited from 9 by the scale-up rate policies)"},
	}
	p := levelService(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = t0
			got := Decide(p, tc.in)
			if got.Outcome != tc.outcome || got.Target != tc.target || got.Reason != tc.reason {
				t.Fatalf("Decide = %s → %d\n  %s\nwant %s → %d\n  %s", got.Outcome, got.Target, got.Reason, tc.outcome, tc.target, tc.reason)
			}
		})
	}
	// A zero window asks for no stabilization: not even the first sample
	// after a gap is held.
	p0 := levelService(t, func(s *policy.Service) { *s.ScaleDown.StabilizationWindow = 0 })
	if got := Decide(p0, Input{Now: t0, Current: 6, Observations: down, HistorySince: t0, Gap: &Gap{At: gapAt, LiveSince: t0}}); got.Outcome != Scale {
		t.Fatalf("zero window: %s (%s)", got.Outcome, got.Reason)
	}
}
