package scaler

import (
	"strings"
	"testing"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

const boundsPol = `
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 10
    metrics: [{name: cpu, query: x, target: 0.6}]
  database:
    mode: vertical
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    tiers:
      - {name: ci_micro, capacity: 2, price_monthly: 10}
      - {name: ci_small, capacity: 3, price_monthly: 30}
      - {name: ci_medium, capacity: 4, price_monthly: 60}
      - {name: ci_xlarge, capacity: 16, price_monthly: 210}
    min_tier: ci_small
    metrics: [{name: cpu, query: x, target: 0.6}]
`

func ip(n int) *int { return &n }

// Overrides are judged against the file's bounds and, in force, narrow the
// bounds the decision sees — never past the file's (or the phase's).
func TestOverrideBounds(t *testing.T) {
	t.Parallel()
	f, err := policy.Parse([]byte(boundsPol))
	if err != nil {
		t.Fatal(err)
	}
	api, db := f.Services["api"], f.Services["database"]
	narrowPhase := *api
	narrowPhase.MinReplicas, narrowPhase.MaxReplicas = ip(5), ip(8) // a phase's [5, 8]
	for _, c := range []struct {
		name   string
		svc    *policy.Service
		b      store.Bounds
		err    string
		lo, hi int
	}{
		{"replicas inside", api, store.Bounds{MinReplicas: ip(2), MaxReplicas: ip(4)}, "", 2, 4},
		{"replicas, the file's own", api, store.Bounds{MinReplicas: ip(2), MaxReplicas: ip(10)}, "", 2, 10},
		{"below the file's minimum", api, store.Bounds{MinReplicas: ip(1), MaxReplicas: ip(4)}, "[1, 4] is not inside [2, 10]", 0, 0},
		{"above the file's maximum", api, store.Bounds{MinReplicas: ip(3), MaxReplicas: ip(11)}, "[3, 11] is not inside [2, 10]", 0, 0},
		{"upside down", api, store.Bounds{MinReplicas: ip(4), MaxReplicas: ip(3)}, "[4, 3] is not inside", 0, 0},
		{"tiers for a horizontal service", api, store.Bounds{MinTier: "a", MaxTier: "b"}, "min_replicas and max_replicas only", 0, 0},
		{"tiers inside", db, store.Bounds{MinTier: "ci_small", MaxTier: "ci_medium"}, "", 1, 2},
		{"below the file's min_tier", db, store.Bounds{MinTier: "ci_micro", MaxTier: "ci_medium"}, "[ci_micro, ci_medium] is not inside [ci_small, ci_xlarge]", 0, 0},
		{"a tier off the ladder", db, store.Bounds{MinTier: "ci_small", MaxTier: "ci_huge"}, "not both on the ladder", 0, 0},
		{"tier order", db, store.Bounds{MinTier: "ci_medium", MaxTier: "ci_small"}, "min_tier ci_medium is above max_tier ci_small", 0, 0},
		{"replicas for a vertical service", db, store.Bounds{MinReplicas: ip(1), MaxReplicas: ip(2)}, "min_tier and max_tier only", 0, 0},
	} {
		err := checkOverride(c.svc, c.b)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if lo, hi := withOverride(c.svc, c.b).Bounds(); lo != c.lo || hi != c.hi {
			t.Errorf("%s: in force [%d, %d], want [%d, %d]", c.name, lo, hi, c.lo, c.hi)
		}
	}
	// Inside the phase's narrower bounds: [2, 6] under a phase's [5, 8] is [5, 6];
	// [2, 4] under it is pinned at the phase's minimum, never below it.
	for _, c := range []struct{ min, max, lo, hi int }{{2, 6, 5, 6}, {2, 4, 5, 5}, {6, 10, 6, 8}} {
		if lo, hi := withOverride(&narrowPhase, store.Bounds{MinReplicas: ip(c.min), MaxReplicas: ip(c.max)}).Bounds(); lo != c.lo || hi != c.hi {
			t.Errorf("[%d, %d] under the phase [5, 8]: [%d, %d], want [%d, %d]", c.min, c.max, lo, hi, c.lo, c.hi)
		}
	}
	// The policy itself is not changed by applying an override.
	if lo, hi := api.Bounds(); lo != 2 || hi != 10 {
		t.Fatalf("the file's bounds changed: [%d, %d]", lo, hi)
	}
}
