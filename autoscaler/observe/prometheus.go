// Package observe reads the current value of a policy's metrics from
// Prometheus, and says precisely why a value cannot be trusted: an empty
// result, NaN, a stale sample, several series where one was expected, or
// Prometheus itself unreachable. The decision holds on any of these.
package observe

import (
	"context"
	"fmt"
	"math"
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

// Observe reads every metric. It never fails as a whole: each observation
// carries its own problem.
func (p *Prometheus) Observe(ctx context.Context, svc *policy.Service) []decision.Observation {
	out := make([]decision.Observation, len(svc.Metrics))
	for i, m := range svc.Metrics {
		out[i] = p.one(ctx, m, svc.MaxDataAge.D())
	}
	return out
}

func (p *Prometheus) one(ctx context.Context, m policy.Metric, maxAge time.Duration) decision.Observation {
	o := decision.Observation{Name: m.Name, Query: m.Query, Target: m.Target}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	now := p.now()
	val, _, _, err := p.api.Query(ctx, m.Query, now)
	if err != nil {
		o.Problem, o.Detail = ProblemQueryError, err.Error()
		return o
	}
	s, problem, detail := single(val)
	if problem != "" {
		o.Problem, o.Detail = problem, detail
		return o
	}
	o.Value = float64(s.Value)
	if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
		o.Problem = ProblemNaN
		return o
	}
	// timestamp() gives the time of the sample the query used (for a
	// recording rule, when the rule last ran), not the evaluation time.
	tsVal, _, _, err := p.api.Query(ctx, "timestamp("+m.Query+")", now)
	if err != nil {
		o.Problem, o.Detail = ProblemQueryError, err.Error()
		return o
	}
	ts, problem, detail := single(tsVal)
	if problem != "" {
		o.Problem, o.Detail = problem, "timestamp: "+detail
		return o
	}
	sec, frac := math.Modf(float64(ts.Value))
	o.At = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	if age := now.Sub(o.At); maxAge > 0 && age > maxAge {
		o.Problem, o.Detail = ProblemStale, fmt.Sprintf("newest sample is %s old, more than %s", age.Round(time.Second), maxAge)
	}
	return o
}

func single(v model.Value) (*model.Sample, string, string) {
	switch v := v.(type) {
	case model.Vector:
		switch len(v) {
		case 0:
			return nil, ProblemNoData, "query returned no series"
		case 1:
			return v[0], "", ""
		default:
			return nil, ProblemAmbiguous, fmt.Sprintf("query returned %d series; aggregate it to one (e.g. max by ())", len(v))
		}
	case *model.Scalar:
		return &model.Sample{Value: v.Value, Timestamp: v.Timestamp}, "", ""
	default:
		return nil, ProblemAmbiguous, fmt.Sprintf("query returned a %s, want an instant vector", v.Type())
	}
}
