package observe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/devstack"
)

// Against a real Prometheus holding backfilled history: each past step is
// judged as Observe judges the present — a value, a NaN (no value), a
// hole in the scrapes (the 5-minute lookback returns an old sample: stale
// past max_data_age), with the sample time as Prometheus has it.
func TestWindowFromRealHistory(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	nanAt := base.Add(2 * time.Minute)
	holeFrom, holeTo := base.Add(4*time.Minute), base.Add(6*time.Minute) // no samples in (from, to)
	var om strings.Builder
	om.WriteString("# TYPE test_cpu_ratio gauge\n")
	for at := base; at.Before(base.Add(9 * time.Minute)); at = at.Add(5 * time.Second) {
		v := "0.4"
		switch {
		case at.Equal(nanAt):
			v = "NaN"
		case at.After(holeFrom) && at.Before(holeTo):
			continue
		case !at.Before(holeTo):
			v = "0.2"
		}
		fmt.Fprintf(&om, "test_cpu_ratio{service=\"api\"} %s %d\ntest_cpu_ratio{service=\"web\"} 0.1 %d\n", v, at.Unix(), at.Unix())
	}
	om.WriteString("# EOF\n")
	prom, err := devstack.StartPrometheusWithHistory(ctx, om.String(), devstack.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	p, err := NewPrometheus(prom.URL(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	svc := &policy.Service{MaxDataAge: config.Duration(30 * time.Second),
		Metrics: []policy.Metric{{Name: "cpu", Query: `test_cpu_ratio{service="api"}`, Target: 0.6}}}
	steps, err := p.Window(ctx, svc, base.Add(time.Minute), base.Add(8*time.Minute), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 29 {
		t.Fatalf("%d steps over 7 minutes at 15 s, want 29", len(steps))
	}
	for _, st := range steps {
		o := st.Observations[0]
		var problem string
		value, age := 0.4, 5*time.Second
		switch {
		case st.At.Equal(nanAt):
			problem = ProblemNoData
		case st.At.After(holeFrom.Add(30*time.Second)) && st.At.Before(holeTo):
			problem = ProblemStale
		case st.At.After(holeFrom) && st.At.Before(holeTo):
			age = 31 * time.Second // the last sample before the hole, still fresh
		case !st.At.Before(holeTo):
			value = 0.2
		}
		if o.Problem != problem {
			t.Errorf("%s: problem %q (%s), want %q", st.At.Format(time.TimeOnly), o.Problem, o.Detail, problem)
			continue
		}
		if problem == "" && (o.Value != value || st.At.Sub(o.At) >= age || o.At.After(st.At)) {
			t.Errorf("%s: value %v sampled at %s, want %v", st.At.Format(time.TimeOnly), o.Value, o.At.Format(time.TimeOnly), value)
		}
	}
	// Several series are not one metric: the history is refused, not guessed.
	svc.Metrics[0].Query = `test_cpu_ratio`
	if _, err := p.Window(ctx, svc, base.Add(time.Minute), base.Add(8*time.Minute), 15*time.Second); err == nil {
		t.Fatal("no error for an ambiguous query")
	}
}
