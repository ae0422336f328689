package recommend

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/decide.golden.json from Decide")

const decidePolicy = `
recommendations: {cache_monthly_cost: 20}
services:
  static:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 20
    price_per_replica_monthly: 36.50
    metrics: [{name: cpu, query: x, target: 0.6}]
  fleet:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 40
    price_per_replica_monthly: 36.50
    metrics: [{name: cpu, query: x, target: 0.6}]
  unpriced:
    control: alerts_only
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    metrics: [{name: cpu, query: x, target: 0.6}]
  db:
    mode: vertical
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    tiers:
      - {name: small, capacity: 2, price_monthly: 50}
      - {name: medium, capacity: 4, price_monthly: 100}
      - {name: large, capacity: 8, price_monthly: 200}
      - {name: xlarge, capacity: 16, price_monthly: 400}
    metrics: [{name: cpu, query: x, target: 0.7}]
  workers:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 20
    price_per_replica_monthly: 10
    metrics: [{name: backlog, query: x, target: 0.6}]
    queue: {arrival_rate_query: a, backlog_query: b, per_worker_rate: 2, drain_within: 10m}
`

// Decide, table-driven, against a golden file: every kind, and every
// reason for making none.
func TestDecide(t *testing.T) {
	t.Parallel()
	f, err := policy.Parse([]byte(decidePolicy))
	if err != nil {
		t.Fatal(err)
	}
	noCache := &policy.Recommendations{}
	dear := decimal.RequireFromString("200")
	dearCache := &policy.Recommendations{CacheMonthlyCost: &dear}
	week := 7 * 24 * time.Hour
	full := func(u Usage) Usage { u.History, u.Lookback = week, week; return u }
	s := func(p05, p10, p95, mx float64) Series { return Series{P05: p05, P10: p10, P95: p95, Max: mx, OK: true} }
	tests := []struct {
		name, service string
		prices        *policy.Recommendations
		u             Usage
	}{
		{"static oversized: down, floor kept", "static", nil, full(Usage{Level: 6, Min: 2, Max: 20, CPU: s(0, 0, 0.25, 0.4), Memory: s(0, 0, 0, 0.4)})},
		{"static oversized under a raised floor: the floor follows", "static", nil, full(Usage{Level: 8, Min: 8, Max: 20, CPU: s(0, 0, 0.25, 0.4), Memory: s(0, 0, 0, 0.4)})},
		{"static undersized: up, floor raised", "static", nil, full(Usage{Level: 2, Min: 2, Max: 20, CPU: s(0, 0, 0.95, 1), Memory: s(0, 0, 0, 0.5)})},
		{"static right: nothing", "static", nil, full(Usage{Level: 4, Min: 2, Max: 20, CPU: s(0, 0, 0.6, 0.8), Memory: s(0, 0, 0, 0.5)})},
		{"static without memory: nothing", "static", nil, full(Usage{Level: 6, Min: 2, Max: 20, CPU: s(0, 0, 0.25, 0.4)})},
		{"idle: to the minimum", "static", nil, full(Usage{Level: 5, Min: 3, Max: 20, CPU: s(0, 0, 0.1, 0.2), Memory: s(0, 0, 0, 0.25)})},
		{"idle on a short history: rightsized instead", "static", nil, Usage{History: 5 * 24 * time.Hour, Lookback: week, Level: 5, Min: 3, Max: 20, CPU: s(0, 0, 0.1, 0.2), Memory: s(0, 0, 0, 0.25)}},
		{"too little history: nothing", "static", nil, Usage{History: 2 * time.Hour, Lookback: week, Level: 6, Min: 2, Max: 20, CPU: s(0, 0, 0.25, 0.4), Memory: s(0, 0, 0, 0.4)}},
		{"level fleet: floor lowered by a third of the time", "fleet", nil, full(Usage{Level: 12, Min: 8, Max: 40, CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5),
			Busy: s(1.2, 1.5, 15, 20), AtFloor: 0.4, AtFloorOK: true})},
		{"level fleet under a growth phase's floor of 8: nothing below it", "fleet", nil, full(Usage{Level: 12, Min: 8, Max: 40, Hard: Limits{Min: 8, Max: 40},
			CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5), Busy: s(1.2, 1.5, 15, 20), AtFloor: 0.4, AtFloorOK: true})},
		{"level fleet under an override of 8 in a phase of 4: lowered to 4", "fleet", nil, full(Usage{Level: 12, Min: 8, Max: 40, Hard: Limits{Min: 4, Max: 40},
			CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5), Busy: s(1.2, 1.5, 15, 20), AtFloor: 0.4, AtFloorOK: true})},
		{"level fleet never at its floor: nothing", "fleet", nil, full(Usage{Level: 12, Min: 8, Max: 40, CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5),
			Busy: s(1.2, 1.5, 15, 20), AtFloor: 0, AtFloorOK: true})},
		{"level fleet without replica counts: nothing", "fleet", nil, full(Usage{Level: 12, Min: 8, Max: 40, CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5)})},
		{"level fleet whose quiet hours need the floor: nothing", "fleet", nil, full(Usage{Level: 12, Min: 3, Max: 40, CPU: s(0.1, 0.2, 0.6, 0.7), Memory: s(0, 0, 0, 0.5),
			Busy: s(1.8, 2, 15, 20), AtFloor: 0.3, AtFloorOK: true})},
		{"unpriced: impact unknown", "unpriced", nil, full(Usage{Level: 6, Min: 1, Max: 10, CPU: s(0, 0, 0.35, 0.5), Memory: s(0, 0, 0, 0.35)})},
		{"database: two tiers down, the floor follows", "db", nil, full(Usage{Level: 3, Min: 3, Max: 3, CPU: s(0, 0.05, 0.15, 0.2)})},
		{"database: one tier down, the peak forbids two", "db", nil, full(Usage{Level: 3, Min: 1, Max: 3, CPU: s(0, 0.05, 0.15, 0.3)})},
		{"database: the next tier down would pass the target: nothing", "db", nil, full(Usage{Level: 2, Min: 0, Max: 3, CPU: s(0, 0.3, 0.4, 0.45)})},
		{"database hot: cache less its price", "db", nil, full(Usage{Level: 1, Min: 0, Max: 3, CPU: s(0, 0.65, 0.8, 0.9)})},
		{"database hot, cache unpriced: impact unknown", "db", noCache, full(Usage{Level: 1, Min: 0, Max: 3, CPU: s(0, 0.65, 0.8, 0.9)})},
		{"database hot, cache dearer than the tier: nothing", "db", dearCache, full(Usage{Level: 1, Min: 0, Max: 3, CPU: s(0, 0.65, 0.8, 0.9)})},
		{"database hot on the top tier: nothing", "db", nil, full(Usage{Level: 3, Min: 0, Max: 3, CPU: s(0, 0.65, 0.8, 0.9)})},
		{"workers: arrivals and backlog", "workers", nil, full(Usage{Level: 2, Min: 1, Max: 20, Queue: &QueueLoad{Arrival: 7, Backlog: 1200}})},
		{"workers idle: down to the arrivals", "workers", nil, full(Usage{Level: 8, Min: 4, Max: 20, Queue: &QueueLoad{Arrival: 1, Backlog: 0}})},
	}
	type result struct {
		Case string
		Recs []Recommendation
	}
	var got []result
	for _, tc := range tests {
		prices := f.Recommendations
		if tc.prices != nil {
			prices = tc.prices
		}
		recs := Decide(tc.service, f.Services[tc.service], prices, tc.u)
		for _, r := range recs {
			checkBounds(t, tc.name, f.Services[tc.service], r)
		}
		got = append(got, result{tc.name, recs})
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "decide.golden.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("Decide differs from %s (go test -run TestDecide -update to accept):\n%s", path, b)
	}
}

// checkBounds: whatever Decide recommends stays within the file's hard
// bounds and is consistent (min ≤ target ≤ max), and is what the
// implementation's parser (store.ParseRecommendedConfig, the contract's
// owner) accepts and acts on: a cache is no action, every other type one.
func checkBounds(t *testing.T, name string, p *policy.Service, r Recommendation) {
	t.Helper()
	for _, c := range []store.RecommendedConfig{r.Current, r.Recommended} {
		back, err := store.ParseRecommendedConfig(c.JSON())
		if err != nil {
			t.Errorf("%s: %s refused by the implementation: %v", name, c.JSON(), err)
		} else if !bytes.Equal(back.JSON(), c.JSON()) {
			t.Errorf("%s: %s reads back as %s", name, c.JSON(), back.JSON())
		}
	}
	if got := r.Recommended.Actionable(); got == (r.Type == TypeCaching) {
		t.Errorf("%s: %s actionable %v", name, r.Recommended.JSON(), got)
	}
	lo, hi := p.Bounds()
	c := r.Recommended
	if p.Mode == policy.Vertical {
		if r.Type == TypeCaching {
			if !c.Caches() || r.Current.Caches() || c.Tier != r.Current.Tier || !c.Bounds.IsZero() {
				t.Errorf("%s: caching %s from %s", name, c.JSON(), r.Current.JSON())
			}
			return
		}
		a, x, b := p.TierIndex(c.MinTier), p.TierIndex(c.Tier), p.TierIndex(c.MaxTier)
		if a < lo || b > hi || a > x || x > b {
			t.Errorf("%s: %s outside tiers %d…%d", name, c.JSON(), lo, hi)
		}
		return
	}
	if c.Replicas == nil || c.MinReplicas == nil || c.MaxReplicas == nil {
		t.Fatalf("%s: %s lacks a target or a bound", name, c.JSON())
	}
	if n, l, h := *c.Replicas, *c.MinReplicas, *c.MaxReplicas; l < lo || h > hi || l > n || n > h {
		t.Errorf("%s: %s outside [%d, %d] or inconsistent", name, c.JSON(), lo, hi)
	}
}

// The idle threshold is the rules' underutilization threshold: one number
// for "underused", whether an alert or a recommendation says it.
func TestIdleThresholdIsTheRules(t *testing.T) {
	t.Parallel()
	th, err := rules.EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range th.Profiles {
		if p.Underutilized.Threshold != IdleThreshold {
			t.Errorf("profile %s: underutilized.threshold %v, recommend.IdleThreshold %v", name, p.Underutilized.Threshold, IdleThreshold)
		}
	}
}
