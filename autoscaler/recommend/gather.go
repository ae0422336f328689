package recommend

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Bounds tells the bounds in force for a service: the policy file's,
// narrowed by the growth phase and by an implemented rightsizing's
// override (the scaler's, see Config.Bounds), and the hard limits a
// recommendation stays inside (the file's narrowed by the phase: an
// override is implemented inside them). Levels as policy.Service.Bounds
// counts them: replicas, or tier indexes. ok is false for a service it
// does not know; the file's bounds are taken then. An error skips the
// service: a recommendation is never made from bounds that were not read.
type Bounds interface {
	Bounds(ctx context.Context, name string) (b InForce, ok bool, err error)
}

// InForce are a service's bounds in force and its hard limits.
type InForce struct {
	Min, Max int
	Hard     Limits
}

// gather reads one service's usage summary from Prometheus: the normalized
// series the rules record (service:* for fleets, db:* for a database) over
// the lookback. nil without the series a decision needs or with too little
// history: the service is skipped, not guessed.
func (g *Generator) gather(ctx context.Context, name string, p *policy.Service, now time.Time) (*Usage, error) {
	_, level, err := g.cfg.Current.Current(ctx, name)
	if err != nil {
		return nil, err
	}
	lo, hi := p.Bounds()
	var hard Limits
	if g.cfg.Bounds != nil {
		b, ok, err := g.cfg.Bounds.Bounds(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("bounds in force: %w", err)
		}
		if ok {
			lo, hi, hard = b.Min, b.Max, b.Hard
		}
	}
	u := &Usage{Lookback: g.cfg.Lookback, Level: level, Min: lo, Max: hi, Hard: hard}
	lb := model.Duration(g.cfg.Lookback).String()
	sel := fmt.Sprintf(`{service=%q}`, name)
	if p.Queue != nil {
		arrival, ok1, err := g.scalar(ctx, p.Queue.ArrivalRateQuery, now)
		if err != nil {
			return nil, err
		}
		backlog, ok2, err := g.scalar(ctx, p.Queue.BacklogQuery, now)
		if err != nil || !ok1 || !ok2 {
			return nil, err
		}
		// Instant values: a pool is sized for what arrives and waits now.
		u.History, u.Queue = g.cfg.Lookback, &QueueLoad{Arrival: arrival, Backlog: backlog}
		return u, nil
	}
	cpu := "service:cpu_utilization:ratio" + sel
	if p.Mode == policy.Vertical {
		cpu = "db:cpu_utilization:ratio" + sel
	}
	first, ok, err := g.scalar(ctx, fmt.Sprintf(`min(min_over_time(timestamp(%s)[%s:5m]))`, cpu, lb), now)
	if err != nil || !ok {
		return nil, err
	}
	u.History = now.Sub(time.Unix(int64(first), 0))
	if u.History < MinHistory {
		return nil, nil
	}
	type query struct {
		dst *float64
		q   string
	}
	read := func(s *Series, qs []query) error {
		for _, q := range qs {
			v, ok, err := g.scalar(ctx, q.q, now)
			if err != nil || !ok {
				return err
			}
			*q.dst = v
		}
		s.OK = true
		return nil
	}
	if err := read(&u.CPU, []query{
		{&u.CPU.P10, fmt.Sprintf(`max(quantile_over_time(0.1, %s[%s]))`, cpu, lb)},
		{&u.CPU.P95, fmt.Sprintf(`max(quantile_over_time(0.95, %s[%s]))`, cpu, lb)},
		{&u.CPU.Max, fmt.Sprintf(`max(max_over_time(%s[%s]))`, cpu, lb)},
	}); err != nil {
		return nil, err
	}
	if p.Mode == policy.Vertical {
		return u, nil
	}
	if err := read(&u.Memory, []query{
		{&u.Memory.Max, fmt.Sprintf(`max(max_over_time(service:memory_utilization:ratio%s[%s]))`, sel, lb)},
	}); err != nil {
		return nil, err
	}
	if p.Control != policy.Level {
		return u, nil
	}
	// The work in replica-equivalents and the time spent at the floor, from
	// the replica count the rules record; without it no floor is proposed.
	work := fmt.Sprintf(`(max(service:cpu_utilization:ratio%s) * max(service:replicas:count%s))`, sel, sel)
	if err := read(&u.Busy, []query{
		{&u.Busy.P05, fmt.Sprintf(`quantile_over_time(0.05, %s[%s:5m])`, work, lb)},
		{&u.Busy.P95, fmt.Sprintf(`quantile_over_time(0.95, %s[%s:5m])`, work, lb)},
		{&u.Busy.Max, fmt.Sprintf(`max_over_time(%s[%s:5m])`, work, lb)},
	}); err != nil {
		return nil, err
	}
	at, ok, err := g.scalar(ctx, fmt.Sprintf(`avg_over_time((max(service:replicas:count%s) <= bool %d)[%s:5m])`, sel, u.Min, lb), now)
	if err != nil {
		return nil, err
	}
	u.AtFloor, u.AtFloorOK = at, ok
	return u, nil
}

// toStore is a decision as the store records it; an unknown impact
// (unpriced) stays null, never $0.00.
func toStore(d Recommendation) store.Recommendation {
	impact := d.Impact
	if impact.Valid {
		impact.Decimal = impact.Decimal.Round(2)
	}
	return store.Recommendation{Type: d.Type, Service: d.Service, Title: d.Title, Description: d.Description,
		CurrentConfig: d.Current.JSON(), RecommendedConfig: d.Recommended.JSON(),
		EstimatedMonthlyImpact: impact, Confidence: d.Confidence, Effort: d.Effort, Priority: d.Priority}
}
