package observe

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
)

// Step is every metric of a policy as Observe would have read it at one
// past time.
type Step struct {
	At           time.Time
	Observations []decision.Observation
}

// Window reads a policy's metrics over [start, end] at a fixed step from
// Prometheus' history (query_range over the policy's own queries, through
// Range), and judges each step as Observe judges the present: a step with
// no value is no_data (Range drops NaN), one whose newest sample is older
// than max_data_age is stale (the queries' timestamp(), as live), and one
// less than the metric window after Prometheus' own start is warming_up.
// Every step of the range is returned, valid or not, so a hole in the
// history is seen as one. An error (a query refused, several series) means
// the history cannot be used at all.
func (p *Prometheus) Window(ctx context.Context, svc *policy.Service, start, end time.Time, step time.Duration) ([]Step, error) {
	if step <= 0 || end.Before(start) {
		return nil, fmt.Errorf("window %s…%s step %s: empty", start, end, step)
	}
	// Prometheus evaluates a range at start + k·step, in milliseconds.
	start = start.Truncate(time.Millisecond)
	var steps []Step
	for at := start; !at.After(end); at = at.Add(step) {
		steps = append(steps, Step{At: at.UTC(), Observations: make([]decision.Observation, len(svc.Metrics))})
	}
	// Before its start the steps belong to an earlier run of Prometheus
	// (the outage between is a hole in the history).
	var promStart, warm time.Time
	if w := svc.MetricWindow.D(); w > 0 {
		if up, ok := p.upFor(ctx); ok {
			promStart = p.now().Add(-up)
			warm = promStart.Add(w)
		}
	}
	maxAge := svc.MaxDataAge.D()
	for i, m := range svc.Metrics {
		values, err := p.Range(ctx, m.Query, start, end, step)
		if err != nil {
			return nil, err
		}
		stamps, err := p.Range(ctx, fmt.Sprintf("timestamp(%s)", m.Query), start, end, step)
		if err != nil {
			return nil, err
		}
		value, stamp := map[int64]float64{}, map[int64]float64{}
		for _, v := range values {
			value[v.At.UnixMilli()] = v.Value
		}
		for _, v := range stamps {
			stamp[v.At.UnixMilli()] = v.Value
		}
		for j := range steps {
			at := steps[j].At
			o := decision.Observation{Name: m.Name, Query: m.Query, Target: m.Target}
			v, ok := value[at.UnixMilli()]
			ts, okTS := stamp[at.UnixMilli()]
			switch {
			case !at.Before(promStart) && at.Before(warm):
				o.Problem, o.Detail = ProblemWarmingUp, "less than the metric window after Prometheus started"
			case !ok:
				o.Problem, o.Detail = ProblemNoData, "no value in history at this step"
			case !okTS:
				o.Problem, o.Detail = ProblemNoData, "no sample time for the value"
			default:
				o.Value = v
				sec, frac := math.Modf(ts)
				o.At = time.Unix(int64(sec), int64(frac*1e9)).UTC()
				if age := at.Sub(o.At); maxAge > 0 && age > maxAge {
					o.Problem, o.Detail = ProblemStale, fmt.Sprintf("newest sample was %s old, more than %s", age.Round(time.Second), maxAge)
				}
			}
			steps[j].Observations[i] = o
		}
	}
	return steps, nil
}
