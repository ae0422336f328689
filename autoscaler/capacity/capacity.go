// Package capacity plans capacity: from Prometheus history it forecasts
// users, database connections, storage, bandwidth and replicas three
// months ahead (core/forecast), says when each runs out against its limit,
// and what to buy before then. Replicas needed are derived from the
// per-replica throughput a load test measured, when there is one.
package capacity

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
)

// Querier is the part of Prometheus' API client used here.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Store is what the planner reads.
type Store interface {
	ActivePhase(ctx context.Context) (store.Phase, error)
	ListPhases(ctx context.Context) ([]store.Phase, error)
	ListBenchmarks(ctx context.Context, name string, limit int) ([]store.Benchmark, error)
}

// Planner computes forecasts.
type Planner struct {
	Prom   Querier
	Store  Store
	Policy *policy.File
	// History read (default 180 days) and horizon forecast (default 90).
	History, Horizon time.Duration
	Now              func() time.Time
}

// Point is a forecast value on a day.
type Point struct {
	Date  string  `json:"date"`
	Value float64 `json:"value"`
}

// Forecast is one resource's outlook.
type Forecast struct {
	Resource string  `json:"resource"` // users, database_connections, database_storage, bandwidth, replicas
	Service  string  `json:"service,omitempty"`
	Unit     string  `json:"unit,omitempty"`
	Current  float64 `json:"current"`
	Limit    float64 `json:"limit,omitempty"`
	// Exhaustion is the day usage reaches the limit, when within the
	// horizon; ExhaustsIn the same in days.
	Exhaustion *string  `json:"exhaustion_date"`
	ExhaustsIn *float64 `json:"exhausts_in_days,omitempty"`
	Method     string   `json:"method"`
	Confidence float64  `json:"confidence"`
	Points     []Point  `json:"forecast"` // weekly
	Advice     string   `json:"advice,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func (p *Planner) defaults() {
	if p.History == 0 {
		p.History = 180 * 24 * time.Hour
	}
	if p.Horizon == 0 {
		p.Horizon = 90 * 24 * time.Hour
	}
	if p.Now == nil {
		p.Now = time.Now
	}
}

// Forecasts computes every resource's outlook. A resource without enough
// history says so in its Error; the others stand.
func (p *Planner) Forecasts(ctx context.Context) ([]Forecast, error) {
	p.defaults()
	now := p.Now().UTC()
	var out []Forecast

	// Users, against the active growth phase's maximum.
	phase, err := p.Store.ActivePhase(ctx)
	if err != nil {
		return nil, err
	}
	users, err := p.daily(ctx, `max(max_over_time(wedsync_users{state="total"}[1d]))`, now)
	if err != nil {
		return nil, err
	}
	for _, s := range users {
		limit := 0.0
		if phase.MaxUsers != nil {
			limit = float64(*phase.MaxUsers)
		}
		f := p.outlook("users", "", "users", s.samples, limit, now)
		if f.Exhaustion != nil {
			f.Advice = fmt.Sprintf("users pass the %s phase's %.0f on %s: review the next phase's configuration (POST /api/admin/growth/transition dry_run)", phase.Name, limit, *f.Exhaustion)
		}
		out = append(out, f)
	}

	// Database connections, storage, bandwidth: the exporter's capacity series.
	used, err := p.daily(ctx, `max by (resource, service, unit) (max_over_time(wedsync_capacity_used[1d]))`, now)
	if err != nil {
		return nil, err
	}
	// The last limit seen today, even if the exporter is between scrapes.
	limits, err := p.instant(ctx, `max by (resource, service, unit) (last_over_time(wedsync_capacity_limit[1d]))`, now)
	if err != nil {
		return nil, err
	}
	for _, s := range used {
		f := p.outlook(s.labels["resource"], s.labels["service"], s.labels["unit"], s.samples, limits[key(s.labels)], now)
		if f.Exhaustion != nil {
			f.Advice = adviceFor(f.Resource, p.Policy)
		}
		out = append(out, f)
	}

	// Replicas, against each service's policy maximum.
	reps, err := p.daily(ctx, `max by (service) (max_over_time(wedsync_autoscaler_replicas[1d]))`, now)
	if err != nil {
		return nil, err
	}
	for _, s := range reps {
		svc := s.labels["service"]
		pol := p.Policy.Services[svc]
		if pol == nil || pol.Mode != policy.Horizontal {
			continue
		}
		_, hi := pol.Bounds()
		f := p.outlook("replicas", svc, "replicas", s.samples, float64(hi), now)
		if need, why, ok := p.replicasNeeded(ctx, svc, now); ok {
			f.Advice = why
			if need > hi {
				f.Advice += fmt.Sprintf("; raise max_replicas of %s from %d to at least %d", svc, hi, need)
			}
		} else if f.Exhaustion != nil {
			f.Advice = fmt.Sprintf("raise max_replicas of %s above %d before %s, or add capacity per replica", svc, hi, *f.Exhaustion)
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Resource != out[j].Resource {
			return out[i].Resource < out[j].Resource
		}
		return out[i].Service < out[j].Service
	})
	return out, nil
}

// outlook forecasts one series and finds when it reaches limit.
func (p *Planner) outlook(resource, service, unit string, samples []forecast.Sample, limit float64, now time.Time) Forecast {
	f := Forecast{Resource: resource, Service: service, Unit: unit, Limit: limit}
	if len(samples) == 0 {
		f.Error = "no history"
		return f
	}
	f.Current = samples[len(samples)-1].Value
	ys := make([]float64, len(samples))
	for i, s := range samples {
		ys[i] = s.Value
	}
	r, err := forecast.Choose(ys, forecast.Options{Period: 7})
	if err != nil {
		f.Error = err.Error()
		return f
	}
	f.Method, f.Confidence = r.Method(), round(r.Confidence, 3)
	days := int(p.Horizon / (24 * time.Hour))
	vals := r.Forecast(days)
	last := samples[len(samples)-1].At
	for i := 6; i < len(vals); i += 7 {
		f.Points = append(f.Points, Point{Date: last.AddDate(0, 0, i+1).Format(time.DateOnly), Value: round(vals[i], 2)})
	}
	if limit > 0 {
		for i, v := range vals {
			if v >= limit {
				d := last.AddDate(0, 0, i+1).Format(time.DateOnly)
				in := last.AddDate(0, 0, i+1).Sub(now).Hours() / 24
				f.Exhaustion, f.ExhaustsIn = &d, ptr(round(math.Max(0, in), 1))
				break
			}
		}
		if f.Current >= limit {
			d := now.Format(time.DateOnly)
			f.Exhaustion, f.ExhaustsIn = &d, ptr(0.0)
		}
	}
	return f
}

// replicasNeeded derives the replicas the forecast traffic needs from the
// per-replica throughput of the newest completed benchmark named after the
// service (a load test of it), at 70 % of that throughput.
func (p *Planner) replicasNeeded(ctx context.Context, svc string, now time.Time) (int, string, bool) {
	perReplica, name, ok := p.perReplica(ctx, svc)
	if !ok {
		return 0, "", false
	}
	traffic, err := p.daily(ctx, fmt.Sprintf(`sum(max_over_time(service:http_requests:rate{service=%q}[1d]))`, svc), now)
	if err != nil || len(traffic) == 0 || len(traffic[0].samples) < 3 {
		return 0, "", false
	}
	ys := make([]float64, len(traffic[0].samples))
	for i, s := range traffic[0].samples {
		ys[i] = s.Value
	}
	r, err := forecast.Choose(ys, forecast.Options{Period: 7})
	if err != nil {
		return 0, "", false
	}
	vals := r.Forecast(int(p.Horizon / (24 * time.Hour)))
	peak := 0.0
	for _, v := range vals {
		peak = math.Max(peak, v)
	}
	need := int(math.Ceil(peak / (perReplica * 0.7)))
	return need, fmt.Sprintf("load test %q measured %.0f req/s per replica; forecast peak %.0f req/s needs %d replicas at 70 %%",
		name, perReplica, peak, need), true
}

// CapacityPerReplica is what one replica of svc served in its newest
// completed load test (a benchmark named after the service): its throughput
// over the replicas the service had then. The scaler sizes load metrics
// with `capacity_from: load_test` by it.
func (p *Planner) CapacityPerReplica(ctx context.Context, svc string) (float64, bool, error) {
	v, _, ok := p.perReplica(ctx, svc)
	return v, ok, nil
}

func (p *Planner) perReplica(ctx context.Context, svc string) (float64, string, bool) {
	bs, err := p.Store.ListBenchmarks(ctx, svc, 1)
	if err != nil || len(bs) == 0 || bs[0].ThroughputRPS == nil || *bs[0].ThroughputRPS <= 0 {
		return 0, "", false
	}
	b := bs[0]
	// The replicas of the time, over the hour before (a run lasts minutes).
	reps, err := p.instant(ctx, fmt.Sprintf(`max(max_over_time(wedsync_autoscaler_replicas{service=%q}[1h]))`, svc), b.RecordedAt)
	if err != nil || reps[""] <= 0 {
		return 0, "", false
	}
	return *b.ThroughputRPS / reps[""], b.Name, true
}

func adviceFor(resource string, pol *policy.File) string {
	switch resource {
	case "database_connections":
		if db := pol.Services["database"]; db != nil && db.Mode == policy.Vertical {
			return "move the database to a larger compute tier (more connections) or add a connection pooler before then"
		}
		return "add a connection pooler or a larger database before then"
	case "database_storage", "storage":
		return "grow the storage plan or archive old data before then"
	case "bandwidth":
		return "move to a plan with more bandwidth or put a CDN in front before then"
	}
	return "add capacity before then"
}

type series struct {
	labels  map[string]string
	samples []forecast.Sample
}

// daily reads a query at one point per day over the history.
func (p *Planner) daily(ctx context.Context, q string, now time.Time) ([]series, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, _, _, err := p.Prom.QueryRange(ctx, q, promv1.Range{Start: now.Add(-p.History), End: now, Step: 24 * time.Hour})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	m, _ := v.(model.Matrix)
	var out []series
	for _, ss := range m {
		s := series{labels: map[string]string{}}
		for k, v := range ss.Metric {
			s.labels[string(k)] = string(v)
		}
		for _, pt := range ss.Values {
			if f := float64(pt.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
				s.samples = append(s.samples, forecast.Sample{At: pt.Timestamp.Time().UTC(), Value: f})
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// instant reads a query now, by its label set.
func (p *Planner) instant(ctx context.Context, q string, at time.Time) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := p.Prom.Query(ctx, q, at)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	out := map[string]float64{}
	if vec, ok := v.(model.Vector); ok {
		for _, s := range vec {
			labels := map[string]string{}
			for k, v := range s.Metric {
				labels[string(k)] = string(v)
			}
			out[key(labels)] = float64(s.Value)
		}
	}
	return out, nil
}

func key(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	return l["resource"] + "|" + l["service"] + "|" + l["unit"]
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func ptr[T any](v T) *T { return &v }
