// Package observe reads the current value of a policy's metrics from
// Prometheus, and says precisely why a value cannot be trusted: an empty
// result, NaN, a stale sample, several series where one was expected, or
// Prometheus itself unreachable. The decision holds on any of these.
package observe

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/predict"
)

// Problems an observation can have.
const (
	ProblemNoData     = "no_data"
	ProblemNaN        = "nan"
	ProblemStale      = "stale"
	ProblemAmbiguous  = "ambiguous"
	ProblemQueryError = "query_error"
	// ProblemWarmingUp: Prometheus started less than a metric window ago,
	// so rates and averages over that window are computed from part of it.
	ProblemWarmingUp = "warming_up"
)

// Querier is the part of Prometheus' API client we use.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	Runtimeinfo(ctx context.Context) (promv1.RuntimeinfoResult, error)
	Rules(ctx context.Context, matches []string) (promv1.RulesResult, error)
}

var _ Querier = promv1.NewAPI(nil)

// Prometheus observes metrics through the HTTP API.
type Prometheus struct {
	api     Querier
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex
	startTime time.Time // Prometheus' own start, re-read every startCheck
	checkedAt time.Time
	rules     map[string]bool // alerting rules Prometheus evaluates, by name
	rulesAt   time.Time
}

// startCheck: how often Prometheus' start time is re-read (a restart must
// be noticed within a rate window).
const startCheck = 5 * time.Second

// NewPrometheus returns an observer for the Prometheus at url.
func NewPrometheus(url string, timeout time.Duration) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &Prometheus{api: promv1.NewAPI(c), timeout: timeout, now: time.Now}, nil
}

// Observe reads every metric, concurrently. It never fails as a whole:
// each observation carries its own problem.
func (p *Prometheus) Observe(ctx context.Context, svc *policy.Service) []decision.Observation {
	out := make([]decision.Observation, len(svc.Metrics))
	if w := svc.MetricWindow.D(); w > 0 {
		if up, ok := p.upFor(ctx); ok && up < w {
			for i, m := range svc.Metrics {
				out[i] = decision.Observation{Name: m.Name, Query: m.Query, Target: m.Target, Problem: ProblemWarmingUp,
					Detail: fmt.Sprintf("Prometheus started %s ago; the %s metric window is not yet full", up.Round(time.Second), svc.MetricWindow)}
			}
			return out
		}
	}
	var wg sync.WaitGroup
	for i, m := range svc.Metrics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = p.one(ctx, m, svc.MaxDataAge.D())
		}()
	}
	wg.Wait()
	return out
}

// upFor is how long Prometheus has been running; false when it cannot be
// told (the queries themselves then say what is wrong).
func (p *Prometheus) upFor(ctx context.Context) (time.Duration, bool) {
	now := p.now()
	p.mu.Lock()
	start, checked := p.startTime, p.checkedAt
	p.mu.Unlock()
	if now.Sub(checked) >= startCheck || start.IsZero() {
		ctx, cancel := context.WithTimeout(ctx, p.timeout)
		info, err := p.api.Runtimeinfo(ctx)
		cancel()
		if err != nil {
			return 0, false
		}
		start = info.StartTime
		p.mu.Lock()
		p.startTime, p.checkedAt = start, now
		p.mu.Unlock()
	}
	if start.IsZero() {
		return 0, false
	}
	return now.Sub(start), true
}

// maxRangePoints keeps each query_range under Prometheus' limit of 11,000
// points per series.
const maxRangePoints = 10000

// Range reads a one-series query at a fixed step over [start, end], in
// pieces small enough for Prometheus. Missing steps are simply absent.
func (p *Prometheus) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]predict.Sample, error) {
	if step <= 0 || end.Before(start) {
		return nil, fmt.Errorf("range %s…%s step %s: empty", start, end, step)
	}
	var out []predict.Sample
	for from := start; !from.After(end); {
		to := from.Add(step * (maxRangePoints - 1))
		if to.After(end) {
			to = end
		}
		qctx, cancel := context.WithTimeout(ctx, 4*p.timeout)
		val, _, _, err := p.api.QueryRange(qctx, query, promv1.Range{Start: from, End: to, Step: step})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("query_range %s: %w", query, err)
		}
		m, ok := val.(model.Matrix)
		if !ok {
			return nil, fmt.Errorf("query_range %s: a %s, want a matrix", query, val.Type())
		}
		if len(m) > 1 {
			return nil, fmt.Errorf("query_range %s: %d series; select or aggregate one", query, len(m))
		}
		for _, ss := range m {
			for _, v := range ss.Values {
				f := float64(v.Value)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					continue
				}
				out = append(out, predict.Sample{At: v.Timestamp.Time().UTC(), Value: f})
			}
		}
		from = to.Add(step)
	}
	return out, nil
}

// AlertState lists, for a service, the alerts Prometheus has firing now
// and the alert names Prometheus owns (its alerting rules): an alert state
// held elsewhere is checked against this truth only for the alerts this
// Prometheus generates — an alert posted by another source stays as it is.
func (p *Prometheus) AlertState(ctx context.Context, service string) (firing, owned map[string]bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if owned, err = p.alertRules(ctx); err != nil {
		return nil, nil, err
	}
	val, _, _, err := p.api.Query(ctx, fmt.Sprintf(`ALERTS{alertstate="firing",scaling_service=%q}`, service), p.now())
	if err != nil {
		return nil, nil, fmt.Errorf("firing alerts of %s: %w", service, err)
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, nil, fmt.Errorf("firing alerts of %s: a %s, want a vector", service, val.Type())
	}
	firing = map[string]bool{}
	for _, s := range vec {
		firing[string(s.Metric[model.AlertNameLabel])] = true
	}
	return firing, owned, nil
}

// rulesCheck: how often the list of alerting rules is re-read.
const rulesCheck = time.Minute

func (p *Prometheus) alertRules(ctx context.Context) (map[string]bool, error) {
	now := p.now()
	p.mu.Lock()
	rules, at := p.rules, p.rulesAt
	p.mu.Unlock()
	if rules != nil && now.Sub(at) < rulesCheck {
		return rules, nil
	}
	res, err := p.api.Rules(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("alerting rules: %w", err)
	}
	rules = map[string]bool{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if ar, ok := r.(promv1.AlertingRule); ok {
				rules[ar.Name] = true
			}
		}
	}
	p.mu.Lock()
	p.rules, p.rulesAt = rules, now
	p.mu.Unlock()
	return rules, nil
}

// tsLabel marks, in the combined query's result, the samples that carry
// timestamps rather than values.
const tsLabel = "__wedsync_sample_timestamp"

func (p *Prometheus) one(ctx context.Context, m policy.Metric, maxAge time.Duration) decision.Observation {
	o := decision.Observation{Name: m.Name, Query: m.Query, Target: m.Target}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	now := p.now()
	// Value and sample time in one round trip: timestamp() gives the time
	// of the sample a plain selector found (for an aggregation or a
	// function, Prometheus gives the evaluation time, so staleness can only
	// be seen through selectors — of recording rules, typically); the
	// extra label keeps `or` from dropping the timestamps as duplicates.
	q := fmt.Sprintf("(%s) or label_replace(timestamp(%s), %q, \"1\", \"\", \"\")", m.Query, m.Query, tsLabel)
	val, _, _, err := p.api.Query(ctx, q, now)
	if err != nil {
		o.Problem, o.Detail = ProblemQueryError, err.Error()
		return o
	}
	vec, ok := val.(model.Vector)
	if !ok {
		o.Problem, o.Detail = ProblemAmbiguous, fmt.Sprintf("query returned a %s, want an instant vector", val.Type())
		return o
	}
	var values, stamps model.Vector
	for _, s := range vec {
		if _, isTS := s.Metric[tsLabel]; isTS {
			stamps = append(stamps, s)
		} else {
			values = append(values, s)
		}
	}
	s, problem, detail := single(values)
	if problem != "" {
		o.Problem, o.Detail = problem, detail
		return o
	}
	o.Value = float64(s.Value)
	if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
		o.Problem = ProblemNaN
		return o
	}
	ts, found := matchingStamp(s.Metric, stamps)
	if !found {
		o.Problem, o.Detail = ProblemNoData, "no sample time for the value"
		return o
	}
	sec, frac := math.Modf(float64(ts))
	o.At = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	if age := now.Sub(o.At); maxAge > 0 && age > maxAge {
		o.Problem, o.Detail = ProblemStale, fmt.Sprintf("newest sample is %s old, more than %s", age.Round(time.Second), maxAge)
	}
	return o
}

// matchingStamp finds the timestamp sample of a value sample: same labels
// but the metric name (which timestamp() drops) and our marker.
func matchingStamp(value model.Metric, stamps model.Vector) (model.SampleValue, bool) {
	for _, st := range stamps {
		if len(st.Metric)-1 != len(value)-btoi(value[model.MetricNameLabel] != "") {
			continue
		}
		match := true
		for k, v := range value {
			if k != model.MetricNameLabel && st.Metric[k] != v {
				match = false
				break
			}
		}
		if match {
			return st.Value, true
		}
	}
	return 0, false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func single(v model.Vector) (*model.Sample, string, string) {
	switch len(v) {
	case 0:
		return nil, ProblemNoData, "query returned no series"
	case 1:
		return v[0], "", ""
	default:
		return nil, ProblemAmbiguous, fmt.Sprintf("query returned %d series; select or aggregate one", len(v))
	}
}
