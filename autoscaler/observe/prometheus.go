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
)

// Problems an observation can have.
const (
	ProblemNoData     = "no_data"
	ProblemNaN        = "nan"
	ProblemStale      = "stale"
	ProblemAmbiguous  = "ambiguous"
	ProblemQueryError = "query_error"
)

// Querier is the part of Prometheus' API client we use.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ Querier = promv1.NewAPI(nil)

// Prometheus observes metrics through the HTTP API.
type Prometheus struct {
	api     Querier
	timeout time.Duration
	now     func() time.Time
}

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
