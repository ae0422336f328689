// Package recommend generates optimization recommendations on a schedule
// from Prometheus usage history and the policy's price tables, and keeps
// their lifecycle moving (expiry, measured impact):
//
//   - rightsizing: replicas for CPU at the p95 of usage and memory at its
//     maximum × 1.15, at a target utilization of 0.7 (the anchors of Robusta
//     KRR and Kubecost);
//   - idle resources: CPU and memory below 30 % for the whole lookback →
//     down to the minimum;
//   - caching: database CPU staying above 60 % → a cache instead of the next
//     compute tier;
//   - queue workers: from arrival rate and backlog.
//
// Estimated monthly impact is negative for savings, in decimal.
package recommend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// Anchors of the published tools this follows.
const (
	TargetUtilization = 0.7  // Kubecost's default
	MemoryHeadroom    = 1.15 // KRR: memory at max × 1.15
	IdleThreshold     = 0.30
	CachingThreshold  = 0.60
	MinHistory        = 3 * time.Hour // KRR refuses to recommend on less
)

// Store records recommendations.
type Store interface {
	OfferRecommendation(ctx context.Context, r store.Recommendation) (store.Recommendation, error)
	ExpireRecommendations(ctx context.Context, now time.Time) (int64, error)
	ImpactStore // measured impact (impact.go)
}

// Querier is the part of Prometheus' API client used here.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Current reads a service's state and level (the scaler).
type Current interface {
	Current(ctx context.Context, name string) (actuator.State, int, error)
}

// Config assembles a Generator.
type Config struct {
	Policy  *policy.File
	Store   Store
	Prom    Querier
	Current Current
	Logger  *slog.Logger
	// Lookback is the usage history considered (default 7 days).
	Lookback time.Duration
	// TTL is how long a pending recommendation stays open (default 7 days).
	TTL time.Duration
	Now func() time.Time
}

// Generator makes recommendations.
type Generator struct{ cfg Config }

// New builds a Generator.
func New(c Config) *Generator {
	if c.Lookback == 0 {
		c.Lookback = 7 * 24 * time.Hour
	}
	if c.TTL == 0 {
		c.TTL = 7 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Generator{cfg: c}
}

// Run generates every interval until ctx ends.
func (g *Generator) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := g.Generate(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Logger.Warn("generate recommendations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Generate runs one pass over every service: expires stale pending
// recommendations, measures the impact of implemented ones, and offers
// fresh ones. A service whose data cannot be read is skipped, not guessed.
func (g *Generator) Generate(ctx context.Context) ([]store.Recommendation, error) {
	now := g.cfg.Now()
	if _, err := g.cfg.Store.ExpireRecommendations(ctx, now); err != nil {
		return nil, err
	}
	if _, err := g.measureImpact(ctx, now); err != nil {
		return nil, err
	}
	var out []store.Recommendation
	var errs []error
	names := make([]string, 0, len(g.cfg.Policy.Services))
	for n := range g.cfg.Policy.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		recs, err := g.service(ctx, name, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, r := range recs {
			expires := now.Add(g.cfg.TTL)
			r.ExpiresAt = &expires
			saved, err := g.cfg.Store.OfferRecommendation(ctx, r)
			if err != nil {
				return out, err
			}
			out = append(out, saved)
		}
	}
	return out, errors.Join(errs...)
}

func (g *Generator) service(ctx context.Context, name string, now time.Time) ([]store.Recommendation, error) {
	p := g.cfg.Policy.Services[name]
	_, level, err := g.cfg.Current.Current(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.Mode == policy.Vertical {
		return g.caching(ctx, name, p, level, now)
	}
	var recs []store.Recommendation
	if p.Queue != nil {
		r, err := g.queueWorkers(ctx, name, p, level, now)
		if err != nil {
			return nil, err
		}
		if r != nil {
			recs = append(recs, *r)
		}
		return recs, nil
	}
	u, err := g.usage(ctx, name, now)
	if err != nil || u == nil {
		return nil, err
	}
	lo, hi := p.Bounds()
	if u.history >= g.cfg.Lookback*9/10 && u.cpuMax < IdleThreshold && u.memMax < IdleThreshold && level > lo {
		recs = append(recs, g.replicas(p, name, "idle_resource", level, lo, u,
			fmt.Sprintf("%s was idle for %s: CPU peaked at %.0f%%, memory at %.0f%%", name, roundDays(u.history), 100*u.cpuMax, 100*u.memMax)))
		return recs, nil
	}
	cpuNeed := int(math.Ceil(float64(level) * u.cpuP95 / TargetUtilization))
	memNeed := int(math.Ceil(float64(level) * u.memMax * MemoryHeadroom))
	need := min(max(cpuNeed, memNeed, lo), hi)
	if need != level {
		recs = append(recs, g.replicas(p, name, "rightsizing", level, need, u,
			fmt.Sprintf("CPU p95 %.0f%% and memory max %.0f%% over %s on %d replicas: %d replicas keep CPU at %.0f%% and memory at max × %.2f",
				100*u.cpuP95, 100*u.memMax, roundDays(u.history), level, need, 100*TargetUtilization, MemoryHeadroom)))
	}
	return recs, nil
}

type usage struct {
	cpuP95, cpuMax, memMax float64
	history                time.Duration
}

// usage reads the lookback's CPU p95 and maximum, memory maximum and how
// much history there is. nil without enough history.
func (g *Generator) usage(ctx context.Context, name string, now time.Time) (*usage, error) {
	lb := model.Duration(g.cfg.Lookback).String()
	sel := fmt.Sprintf(`{service=%q}`, name)
	var u usage
	var err error
	first, ok, err := g.scalar(ctx, fmt.Sprintf(`min(min_over_time(timestamp(service:cpu_utilization:ratio%s)[%s:5m]))`, sel, lb), now)
	if err != nil || !ok {
		return nil, err
	}
	u.history = now.Sub(time.Unix(int64(first), 0))
	if u.history < MinHistory {
		return nil, nil
	}
	for _, q := range []struct {
		dst *float64
		q   string
	}{
		{&u.cpuP95, fmt.Sprintf(`max(quantile_over_time(0.95, service:cpu_utilization:ratio%s[%s]))`, sel, lb)},
		{&u.cpuMax, fmt.Sprintf(`max(max_over_time(service:cpu_utilization:ratio%s[%s]))`, sel, lb)},
		{&u.memMax, fmt.Sprintf(`max(max_over_time(service:memory_utilization:ratio%s[%s]))`, sel, lb)},
	} {
		v, ok, err := g.scalar(ctx, q.q, now)
		if err != nil || !ok {
			return nil, err
		}
		*q.dst = v
	}
	return &u, nil
}

func (g *Generator) replicas(p *policy.Service, name, typ string, from, to int, u *usage, why string) store.Recommendation {
	impact := p.MonthlyCost(to).Sub(p.MonthlyCost(from)).Round(2)
	verb := "Scale down"
	priority := priorityFor(impact)
	if to > from {
		verb, priority = "Scale up", "high" // under-provisioned: a risk, not a saving
	}
	// Confidence grows with the history seen, up to 0.9 at a full lookback.
	conf := decimal.NewFromFloat(math.Min(0.9, 0.9*u.history.Hours()/g.cfg.Lookback.Hours())).Round(3)
	return store.Recommendation{Type: typ, Service: name,
		Title:       fmt.Sprintf("%s %s from %d to %d replicas", verb, name, from, to),
		Description: why, CurrentConfig: mustJSON(map[string]int{"replicas": from}), RecommendedConfig: mustJSON(map[string]int{"replicas": to}),
		EstimatedMonthlyImpact: impact, Confidence: conf, Effort: "low", Priority: priority}
}

func (g *Generator) caching(ctx context.Context, name string, p *policy.Service, level int, now time.Time) ([]store.Recommendation, error) {
	lb := model.Duration(g.cfg.Lookback).String()
	low, ok, err := g.scalar(ctx, fmt.Sprintf(`max(quantile_over_time(0.1, db:cpu_utilization:ratio{service=%q}[%s]))`, name, lb), now)
	if err != nil || !ok || low <= CachingThreshold || level+1 >= len(p.Tiers) {
		return nil, err
	}
	// The alternative to a cache is the next tier: its extra price is what
	// a cache saves.
	saving := p.MonthlyCost(level).Sub(p.MonthlyCost(level + 1)).Round(2)
	return []store.Recommendation{{Type: "caching", Service: name,
		Title:         fmt.Sprintf("Cache reads in front of %s instead of moving to %s", name, p.Tiers[level+1].Name),
		Description:   fmt.Sprintf("database CPU stayed above %.0f%% (10th percentile %.0f%% over %s): a read cache (query results, sessions) takes load off without the next compute tier", 100*CachingThreshold, 100*low, lb),
		CurrentConfig: mustJSON(map[string]string{"tier": p.Tiers[level].Name}), RecommendedConfig: mustJSON(map[string]any{"tier": p.Tiers[level].Name, "cache": true}),
		EstimatedMonthlyImpact: saving, Confidence: decimal.RequireFromString("0.6"), Effort: "medium", Priority: priorityFor(saving)}}, nil
}

func (g *Generator) queueWorkers(ctx context.Context, name string, p *policy.Service, level int, now time.Time) (*store.Recommendation, error) {
	q := p.Queue
	arrival, ok1, err := g.scalar(ctx, q.ArrivalRateQuery, now)
	if err != nil {
		return nil, err
	}
	backlog, ok2, err := g.scalar(ctx, q.BacklogQuery, now)
	if err != nil || !ok1 || !ok2 {
		return nil, err
	}
	drain := q.DrainWithin.D()
	if drain == 0 {
		drain = 10 * time.Minute
	}
	// Enough workers for the arrivals at the target utilization, plus what
	// works the backlog off within the drain window.
	need := int(math.Ceil(arrival/(q.PerWorkerRate*TargetUtilization) + backlog/(q.PerWorkerRate*drain.Seconds())))
	lo, hi := p.Bounds()
	need = min(max(need, lo), hi)
	if need == level {
		return nil, nil
	}
	u := &usage{history: g.cfg.Lookback}
	r := g.replicas(p, name, "queue_workers", level, need, u,
		fmt.Sprintf("%.1f jobs/s arrive and %.0f wait; at %.1f jobs/s per worker, %d workers keep up at %.0f%% and drain the backlog within %s",
			arrival, backlog, q.PerWorkerRate, need, 100*TargetUtilization, drain))
	r.Confidence = decimal.RequireFromString("0.7")
	return &r, nil
}

func (g *Generator) scalar(ctx context.Context, q string, now time.Time) (float64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := g.cfg.Prom.Query(ctx, q, now)
	if err != nil {
		return 0, false, fmt.Errorf("query %s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		return 0, false, nil
	}
	f := float64(vec[0].Value)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, nil
	}
	return f, true, nil
}

func priorityFor(impact decimal.Decimal) string {
	a := impact.Abs()
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

func roundDays(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.0f days", d.Hours()/24)
	}
	return fmt.Sprintf("%.0f hours", d.Hours())
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
