package plugin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// comparison mirrors what loadtest/record stores in
// load_tests.baseline_comparison.
type comparison struct {
	BaselineBenchmarkID string `json:"baseline_benchmark_id"`
	BaselineLoadTestID  string `json:"baseline_load_test_id"`
	Tolerance           float64
	Changes             []struct {
		Metric    string   `json:"metric"`
		Baseline  *float64 `json:"baseline"`
		Current   *float64 `json:"current"`
		Relative  *float64 `json:"relative"`
		Regressed bool     `json:"regressed"`
	} `json:"changes"`
	Regressed bool `json:"regressed"`
}

// results mirrors the parts of load_tests.results the dashboards show.
type results struct {
	Thresholds []struct {
		Metric    string `json:"metric"`
		Threshold string `json:"threshold"`
		OK        bool   `json:"ok"`
	} `json:"thresholds"`
	Capacity *int64 `json:"capacity"`
}

// loadTests lists runs with their headline figures and whether they
// regressed against their baseline; id is what cancel needs.
func (d *Datasource) loadTests(ctx context.Context, q query) (data.Frames, error) {
	var m models.LoadTestsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	from, to := rangeOr(q, m.AllTime)
	lts, err := st.ListLoadTests(ctx, store.LoadTestFilter{Name: m.Name, Type: m.TestType, Status: store.LoadTestStatus(m.Status), From: from, To: to, Limit: m.RowLimit()})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(lts))
	for i, lt := range lts {
		ids[i] = lt.ID
	}
	benches, err := st.BenchmarksOfLoadTests(ctx, ids)
	if err != nil {
		return nil, err
	}
	n := len(lts)
	created := make([]time.Time, n)
	started, completed := make([]*time.Time, n), make([]*time.Time, n)
	id, name, typ, status, target, failure, by := strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	duration, p50, p95, p99, rps, errRate := make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n)
	vus := make([]*int64, n)
	passed, regressed, baseline := make([]*bool, n), make([]*bool, n), make([]bool, n)
	for i, lt := range lts {
		created[i], started[i], completed[i] = lt.CreatedAt.UTC(), utcPtr(lt.StartedAt), utcPtr(lt.CompletedAt)
		id[i], name[i], typ[i], status[i], target[i], failure[i], by[i] = lt.ID, lt.Name, lt.Type, string(lt.Status), lt.TargetURL, lt.FailureReason, lt.InitiatedBy
		duration[i], passed[i] = lt.DurationSeconds, lt.PassedCriteria
		if b, ok := benches[lt.ID]; ok {
			p50[i], p95[i], p99[i], rps[i], errRate[i], vus[i], baseline[i] = b.P50, b.P95, b.P99, b.ThroughputRPS, b.ErrorRate, b.ConcurrentUsers, b.IsBaseline
		}
		if len(lt.BaselineComparison) > 0 {
			var c comparison
			if json.Unmarshal(lt.BaselineComparison, &c) == nil {
				r := c.Regressed
				regressed[i] = &r
			}
		}
	}
	f := data.NewFrame("load_tests",
		data.NewField("time", nil, created),
		data.NewField("name", nil, name),
		data.NewField("test_type", nil, typ),
		data.NewField("status", nil, status),
		data.NewField("passed", nil, passed),
		data.NewField("regressed", nil, regressed),
		data.NewField("p50_ms", nil, p50).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("p95_ms", nil, p95).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("p99_ms", nil, p99).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("throughput_rps", nil, rps).SetConfig(&data.FieldConfig{Unit: "reqps"}),
		data.NewField("error_rate", nil, errRate).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("concurrent_users", nil, vus),
		data.NewField("is_baseline", nil, baseline),
		data.NewField("duration_s", nil, duration).SetConfig(&data.FieldConfig{Unit: "s"}),
		data.NewField("started_at", nil, started),
		data.NewField("completed_at", nil, completed),
		data.NewField("target_url", nil, target),
		data.NewField("failure_reason", nil, failure),
		data.NewField("initiated_by", nil, by),
		data.NewField("id", nil, id),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

// loadTestResults compares one run with its baseline, figure by figure, and
// lists its thresholds. Without an id it takes the newest completed run
// (of the name, if given) in the range.
func (d *Datasource) loadTestResults(ctx context.Context, q query) (data.Frames, error) {
	var m models.LoadTestResultsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	var lt store.LoadTest
	if m.LoadTestID != "" {
		if lt, err = st.GetLoadTest(ctx, m.LoadTestID); err != nil {
			return nil, err
		}
	} else {
		lts, err := st.ListLoadTests(ctx, store.LoadTestFilter{Name: m.Name, Status: store.LoadTestCompleted, From: q.From, To: q.To, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(lts) == 0 {
			f := data.NewFrame("load_test_results")
			f.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: "no completed load test in the time range"})
			return data.Frames{f}, nil
		}
		lt = lts[0]
	}
	var c comparison
	if len(lt.BaselineComparison) > 0 {
		if err := json.Unmarshal(lt.BaselineComparison, &c); err != nil {
			return nil, err
		}
	}
	n := len(c.Changes)
	metric := strs(n)
	base, cur, rel := make([]*float64, n), make([]*float64, n), make([]*float64, n)
	reg := make([]bool, n)
	for i, ch := range c.Changes {
		metric[i], base[i], cur[i], rel[i], reg[i] = ch.Metric, ch.Baseline, ch.Current, ch.Relative, ch.Regressed
	}
	cmp := data.NewFrame("baseline_comparison",
		data.NewField("metric", nil, metric),
		data.NewField("baseline", nil, base),
		data.NewField("current", nil, cur),
		data.NewField("change", nil, rel).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("regressed", nil, reg),
	)
	meta := &data.FrameMeta{PreferredVisualization: data.VisTypeTable, Custom: map[string]any{
		"loadTestId": lt.ID, "name": lt.Name, "status": lt.Status, "baselineLoadTestId": c.BaselineLoadTestID, "regressed": c.Regressed}}
	cmp.SetMeta(meta)
	if len(lt.BaselineComparison) == 0 {
		cmp.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: "load test " + lt.ID + " has no baseline to compare with"})
	}
	var r results
	if len(lt.Results) > 0 {
		if err := json.Unmarshal(lt.Results, &r); err != nil {
			return nil, err
		}
	}
	tn := len(r.Thresholds)
	tm, te := strs(tn), strs(tn)
	tok := make([]bool, tn)
	for i, t := range r.Thresholds {
		tm[i], te[i], tok[i] = t.Metric, t.Threshold, t.OK
	}
	th := data.NewFrame("thresholds",
		data.NewField("metric", nil, tm),
		data.NewField("threshold", nil, te),
		data.NewField("ok", nil, tok),
	)
	th.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{cmp, th}, nil
}

// benchmarks is the history of benchmark figures over the range, one
// frame per benchmark name.
func (d *Datasource) benchmarks(ctx context.Context, q query) (data.Frames, error) {
	var m models.BenchmarksQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	from, to := rangeOr(q, m.AllTime)
	limit := m.Limit
	if limit == 0 {
		limit = 1000
	}
	bs, err := st.BenchmarkHistory(ctx, m.Name, from, to, limit)
	if err != nil {
		return nil, err
	}
	byName := map[string][]store.Benchmark{}
	for _, b := range bs {
		byName[b.Name] = append(byName[b.Name], b)
	}
	var frames data.Frames
	for _, name := range sortedKeys(byName) {
		rows := byName[name]
		n := len(rows)
		at := make([]time.Time, n)
		p50, p95, p99, rps, errRate := make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n)
		base := make([]bool, n)
		for i, b := range rows {
			at[i], p50[i], p95[i], p99[i], rps[i], errRate[i], base[i] = b.RecordedAt.UTC(), b.P50, b.P95, b.P99, b.ThroughputRPS, b.ErrorRate, b.IsBaseline
		}
		l := data.Labels{"benchmark": name}
		f := data.NewFrame(name,
			data.NewField("time", nil, at),
			data.NewField("p50_ms", l, p50).SetConfig(&data.FieldConfig{Unit: "ms"}),
			data.NewField("p95_ms", l, p95).SetConfig(&data.FieldConfig{Unit: "ms"}),
			data.NewField("p99_ms", l, p99).SetConfig(&data.FieldConfig{Unit: "ms"}),
			data.NewField("throughput_rps", l, rps).SetConfig(&data.FieldConfig{Unit: "reqps"}),
			data.NewField("error_rate", l, errRate).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
			data.NewField("is_baseline", l, base),
		)
		f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		frames = data.Frames{data.NewFrame("benchmarks", data.NewField("time", nil, []time.Time{}))}
	}
	return frames, nil
}
