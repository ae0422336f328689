// Package recommend generates optimization recommendations on a schedule
// from Prometheus usage history and the policy's price tables, and keeps
// their lifecycle moving (expiry, measured impact). It is gather → decide:
// gather.go reads a service's usage summary from Prometheus, Decide
// (decide.go, pure) turns it into recommendations — the same Decide the
// replay runs on simulated weeks:
//
//   - rightsizing: a fleet held at a level gets replicas for CPU at the p95
//     of usage and memory at its maximum × 1.15, at a target utilization of
//     0.7 (the anchors of Robusta KRR and Kubecost); a level-controlled
//     fleet gets the floor its quietest hours need;
//   - idle resources: CPU and memory below 30 % for the whole lookback →
//     down to the minimum;
//   - database tier: a database whose CPU p95 would stay under the target
//     on a smaller tier moves down to it;
//   - caching: database CPU staying above 60 % → a cache instead of the next
//     compute tier, the cache's own price counted;
//   - queue workers: from arrival rate and backlog.
//
// Every recommendation changes the bounds in force (recommended_config
// carries the new min/max or min/max tier), so the next evaluation does
// not undo it. Estimated monthly impact is negative for savings, in
// decimal, and unknown — never $0.00 — when something is unpriced.
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
	// Bounds are the bounds in force (the scaler: file ⊇ phase ⊇
	// override), so that a floor a phase or an override raised is the one
	// a recommendation starts from; nil: the policy file's.
	Bounds Bounds
	Logger *slog.Logger
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
		p := g.cfg.Policy.Services[name]
		u, err := g.gather(ctx, name, p, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if u == nil {
			continue
		}
		for _, d := range Decide(name, p, g.cfg.Policy.Recommendations, *u) {
			r := toStore(d)
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
