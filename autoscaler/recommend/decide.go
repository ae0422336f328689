package recommend

import (
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Recommendation types, as the optimization_recommendations CHECK lists
// them (TestTypesAcceptedByStore offers one of each to a real database).
const (
	TypeRightsizing  = "rightsizing"
	TypeIdle         = "idle_resource"
	TypeDatabaseTier = "database_tier"
	TypeCaching      = "caching"
	TypeQueueWorkers = "queue_workers"
)

// Types lists every type Decide makes.
var Types = []string{TypeRightsizing, TypeIdle, TypeDatabaseTier, TypeCaching, TypeQueueWorkers}

// Series is a distribution of one signal over the lookback; OK is false
// when Prometheus had no sample of it, and nothing is decided on it then.
type Series struct {
	P05, P10, P95, Max float64
	OK                 bool
}

// QueueLoad is a worker pool's load now.
type QueueLoad struct {
	Arrival float64 // jobs/s
	Backlog float64 // jobs waiting
}

// Usage is everything Decide reads about one service: what gather saw in
// Prometheus (or what the replay measured), the level it runs at and the
// bounds in force. Decide fetches nothing.
type Usage struct {
	// History is how far back the samples reach within Lookback.
	History, Lookback time.Duration
	// Level: replicas, or the tier's index for a vertical service.
	Level int
	// Min and Max are the bounds in force (the file's, or an override
	// within them).
	Min, Max int
	// Hard are the limits no recommendation goes outside: the file's
	// bounds narrowed by the growth phase (an override is implemented
	// inside the phase, so a floor below the phase's could never be put
	// in force). Zero: the file's own bounds.
	Hard Limits
	// CPU is the utilization of what the level allocates (ratio): for a
	// vertical service, the database's CPU.
	CPU Series
	// Memory: its Max is read.
	Memory Series
	// Busy is the work in replica-equivalents (CPU × replicas), for a
	// level-controlled fleet whose utilization hovers at its target by
	// design: its quiet hours show in the work, not in the ratio.
	Busy Series
	// AtFloor is the share of the lookback the fleet ran at Min.
	AtFloor   float64
	AtFloorOK bool
	// Queue is the load of a worker pool (policy queue:), nil otherwise.
	Queue *QueueLoad
}

// Limits are a service's hard [Min, Max] (replicas, or tier indexes).
type Limits struct{ Min, Max int }

// hard is u.Hard, or the file's bounds when gather was not told any.
func (u Usage) hard(p *policy.Service) (lo, hi int) {
	if u.Hard == (Limits{}) {
		return p.Bounds()
	}
	return u.Hard.Min, u.Hard.Max
}

// Recommendation is one decision of Decide.
type Recommendation struct {
	Type, Service, Title, Description string
	// Current and Recommended are current_config and recommended_config:
	// store.RecommendedConfig is the contract (docs/contracts.md), the one
	// the implementation parses.
	Current, Recommended store.RecommendedConfig
	// Impact is the estimated monthly cost change, negative for a saving;
	// invalid (unknown) when a level or the cache is unpriced.
	Impact     decimal.NullDecimal
	Confidence decimal.Decimal
	Effort     string
	Priority   string
}

// Decide turns one service's usage into recommendations; it is pure (no
// I/O, no clock) so that the Generator and the replay make the same ones.
// Too little history, or a signal a rule needs that was not seen, means no
// recommendation, never a guess.
func Decide(name string, p *policy.Service, prices *policy.Recommendations, u Usage) []Recommendation {
	if u.History < MinHistory || u.Lookback <= 0 {
		return nil
	}
	if p.Mode == policy.Vertical {
		return decideVertical(name, p, prices, u)
	}
	if p.Queue != nil {
		if r := decideQueue(name, p, u); r != nil {
			return []Recommendation{*r}
		}
		return nil
	}
	if r := decideIdle(name, p, u); r != nil {
		return []Recommendation{*r}
	}
	var r *Recommendation
	if p.Control == policy.Level {
		r = decideFloor(name, p, u)
	} else {
		r = decideReplicas(name, p, u)
	}
	if r != nil {
		return []Recommendation{*r}
	}
	return nil
}

// decideIdle: CPU and memory below the idle threshold for (nearly) the
// whole lookback → down to the file's minimum, and the floor with it.
func decideIdle(name string, p *policy.Service, u Usage) *Recommendation {
	lo, _ := u.hard(p)
	if u.History < u.Lookback*9/10 || !u.CPU.OK || !u.Memory.OK || u.CPU.Max >= IdleThreshold || u.Memory.Max >= IdleThreshold || u.Level <= lo {
		return nil
	}
	r := horizontal(name, p, TypeIdle, u, lo, lo, u.Max,
		fmt.Sprintf("%s was idle for %s: CPU peaked at %.0f%%, memory at %.0f%%", name, roundDays(u.History), 100*u.CPU.Max, 100*u.Memory.Max))
	r.Impact = p.PriceDelta(u.Level, lo)
	r.Priority = priorityFor(r.Impact, false)
	return &r
}

// decideFloor rightsizes a level-controlled fleet by its floor: the
// controller already follows the load, so what idles is the minimum it may
// not go below during the quiet hours. The new floor is what the quietest
// 5 % of the lookback needs at the target utilization; the maximum stays
// (capping it saves nothing an autoscaler does not already save, and costs
// SLO minutes at a peak above the last one).
func decideFloor(name string, p *policy.Service, u Usage) *Recommendation {
	if !u.Busy.OK || !u.AtFloorOK || u.AtFloor <= 0 {
		return nil
	}
	lo, _ := u.hard(p)
	floor := min(max(ceilEps(u.Busy.P05/TargetUtilization), lo), u.Max)
	if floor >= u.Min {
		return nil
	}
	target := min(max(u.Level, floor), u.Max)
	r := horizontal(name, p, TypeRightsizing, u, target, floor, u.Max,
		fmt.Sprintf("%s ran at its floor of %d replicas for %.0f%% of %s while the quietest 5%% of the time needed %.1f replicas of work: a floor of %d keeps those hours at %.0f%% utilization, and the controller still scales up from it",
			name, u.Min, 100*u.AtFloor, roundDays(u.History), u.Busy.P05, floor, 100*TargetUtilization))
	// Only the hours spent at the floor get cheaper, by at most the
	// replicas the floor drops: an upper estimate, measured afterwards.
	if d := p.PriceDelta(u.Min, floor); d.Valid {
		r.Impact = decimal.NewNullDecimal(d.Decimal.Mul(decimal.NewFromFloat(u.AtFloor).Round(3)).Round(2))
	}
	r.Priority = priorityFor(r.Impact, false)
	return &r
}

// decideReplicas rightsizes a fleet held at a level (alerts-only control):
// CPU at its p95 and memory at its maximum × 1.15, at the target
// utilization. The floor moves with the level so that the next alert does
// not undo the change: up, the floor rises to it (an underutilization alert
// may not take it back); down, the floor is lowered if it was above.
func decideReplicas(name string, p *policy.Service, u Usage) *Recommendation {
	if !u.CPU.OK || !u.Memory.OK {
		return nil
	}
	lo, hi := u.hard(p)
	cpuNeed := ceilEps(float64(u.Level) * u.CPU.P95 / TargetUtilization)
	memNeed := ceilEps(float64(u.Level) * u.Memory.Max * MemoryHeadroom)
	need := min(max(cpuNeed, memNeed, lo), hi)
	if need == u.Level {
		return nil
	}
	floor := min(u.Min, need)
	if need > u.Level {
		floor = need
	}
	r := horizontal(name, p, TypeRightsizing, u, need, floor, max(u.Max, need),
		fmt.Sprintf("CPU p95 %.0f%% and memory max %.0f%% over %s on %d replicas: %d replicas keep CPU at %.0f%% and memory at max × %.2f",
			100*u.CPU.P95, 100*u.Memory.Max, roundDays(u.History), u.Level, need, 100*TargetUtilization, MemoryHeadroom))
	r.Impact = p.PriceDelta(u.Level, need)
	r.Priority = priorityFor(r.Impact, need > u.Level)
	return &r
}

// decideQueue sizes a worker pool: enough workers for the arrivals at the
// target utilization, plus what works the backlog off within the drain
// window.
func decideQueue(name string, p *policy.Service, u Usage) *Recommendation {
	if u.Queue == nil {
		return nil
	}
	q := p.Queue
	drain := q.DrainWithin.D()
	if drain == 0 {
		drain = 10 * time.Minute
	}
	lo, hi := u.hard(p)
	need := ceilEps(u.Queue.Arrival/(q.PerWorkerRate*TargetUtilization) + u.Queue.Backlog/(q.PerWorkerRate*drain.Seconds()))
	need = min(max(need, lo), hi)
	if need == u.Level {
		return nil
	}
	r := horizontal(name, p, TypeQueueWorkers, u, need, min(u.Min, need), max(u.Max, need),
		fmt.Sprintf("%.1f jobs/s arrive and %.0f wait; at %.1f jobs/s per worker, %d workers keep up at %.0f%% and drain the backlog within %s",
			u.Queue.Arrival, u.Queue.Backlog, q.PerWorkerRate, need, 100*TargetUtilization, drain))
	r.Impact = p.PriceDelta(u.Level, need)
	r.Confidence = decimal.RequireFromString("0.7")
	r.Priority = priorityFor(r.Impact, need > u.Level)
	return &r
}

func horizontal(name string, p *policy.Service, typ string, u Usage, to, floor, ceil int, why string) Recommendation {
	verb := "Scale down"
	if to > u.Level {
		verb = "Scale up"
	}
	title := fmt.Sprintf("%s %s from %d to %d replicas", verb, name, u.Level, to)
	if to == u.Level {
		title = fmt.Sprintf("Lower %s's floor from %d to %d replicas", name, u.Min, floor)
	}
	return Recommendation{Type: typ, Service: name, Title: title, Description: why,
		Current:     store.ReplicaConfig(u.Level, u.Min, u.Max),
		Recommended: store.ReplicaConfig(to, floor, ceil),
		Confidence:  historyConfidence(u), Effort: "low"}
}

// historyConfidence grows with the history seen, up to 0.9 at a full
// lookback.
func historyConfidence(u Usage) decimal.Decimal {
	return decimal.NewFromFloat(math.Min(0.9, 0.9*u.History.Hours()/u.Lookback.Hours())).Round(3)
}

// decideVertical: a database whose CPU would stay under the target
// utilization on a smaller tier moves down to the smallest such tier (its
// peak still below saturation there); one whose CPU stays high even at its
// quietest gets a cache instead of the next tier, when the cache costs less
// than that tier adds.
func decideVertical(name string, p *policy.Service, prices *policy.Recommendations, u Usage) []Recommendation {
	if !u.CPU.OK || u.Level < 0 || u.Level >= len(p.Tiers) {
		return nil
	}
	lo, hi := u.hard(p)
	cur := p.Tiers[u.Level]
	down := -1
	for t := u.Level - 1; t >= lo; t-- {
		scale := cur.Capacity / p.Tiers[t].Capacity
		if u.CPU.P95*scale >= TargetUtilization || u.CPU.Max*scale >= 1 {
			break
		}
		down = t
	}
	current := store.TierConfig(cur.Name, tierName(p, u.Min), tierName(p, u.Max))
	if down >= 0 {
		to := p.Tiers[down]
		impact := p.PriceDelta(u.Level, down)
		return []Recommendation{{Type: TypeDatabaseTier, Service: name,
			Title: fmt.Sprintf("Move %s down from %s to %s", name, cur.Name, to.Name),
			Description: fmt.Sprintf("CPU p95 %.0f%% and max %.0f%% over %s on %s: on %s (%.3g× less capacity) they would be %.0f%% and %.0f%%, under the %.0f%% target",
				100*u.CPU.P95, 100*u.CPU.Max, roundDays(u.History), cur.Name, to.Name, cur.Capacity/to.Capacity,
				100*u.CPU.P95*cur.Capacity/to.Capacity, 100*u.CPU.Max*cur.Capacity/to.Capacity, 100*TargetUtilization),
			Current: current,
			// The floor follows, or the next evaluation clamps it back up.
			Recommended: store.TierConfig(to.Name, tierName(p, min(u.Min, down)), tierName(p, u.Max)),
			Impact:      impact, Confidence: historyConfidence(u), Effort: "medium", Priority: priorityFor(impact, false)}}
	}
	if u.CPU.P10 <= CachingThreshold || u.Level+1 > hi {
		return nil
	}
	// The alternative to a cache is the next tier: its extra price, less
	// the cache's own, is what a cache saves.
	var impact decimal.NullDecimal
	if next := p.PriceDelta(u.Level, u.Level+1); next.Valid {
		if cache, ok := prices.CachePrice(); ok {
			impact = decimal.NewNullDecimal(cache.Sub(next.Decimal).Round(2))
			if !impact.Decimal.IsNegative() {
				return nil // a cache dearer than the tier saves nothing
			}
		}
	}
	return []Recommendation{{Type: TypeCaching, Service: name,
		Title: fmt.Sprintf("Cache reads in front of %s instead of moving to %s", name, p.Tiers[u.Level+1].Name),
		Description: fmt.Sprintf("database CPU stayed above %.0f%% (10th percentile %.0f%% over %s): a read cache (query results, sessions) takes load off without the next compute tier",
			100*CachingThreshold, 100*u.CPU.P10, roundDays(u.History)),
		Current:     store.CacheConfig(cur.Name, false),
		Recommended: store.CacheConfig(cur.Name, true),
		Impact:      impact, Confidence: decimal.RequireFromString("0.6"), Effort: "medium", Priority: priorityFor(impact, false)}}
}

func tierName(p *policy.Service, i int) string {
	if i < 0 || i >= len(p.Tiers) {
		return ""
	}
	return p.Tiers[i].Name
}

// ceilEps is ceil that forgives float noise (0.7 × 3 / 0.7 is 3, not 4).
func ceilEps(x float64) int { return int(math.Ceil(x - 1e-9)) }

// priorityFor ranks by money; a scale-up is a risk, not a saving, and
// ranks high whatever it costs. An unknown impact cannot be ranked by money
// and sits in the middle, neither hidden nor urgent.
func priorityFor(impact decimal.NullDecimal, up bool) string {
	if up {
		return "high"
	}
	if !impact.Valid {
		return "medium"
	}
	a := impact.Decimal.Abs()
	switch {
	case a.GreaterThanOrEqual(decimal.NewFromInt(1000)):
		return "critical"
	case a.GreaterThanOrEqual(decimal.NewFromInt(200)):
		return "high"
	case a.GreaterThanOrEqual(decimal.NewFromInt(50)):
		return "medium"
	}
	return "low"
}
