package plugin

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

func (d *Datasource) listEvents(ctx context.Context, q query) ([]store.Event, error) {
	var m models.EventsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	from, to := rangeOr(q, m.AllTime)
	return st.ListEvents(ctx, store.EventFilter{Service: m.Service, Status: store.EventStatus(m.Status),
		Type: store.EventType(m.EventType), From: from, To: to, Limit: m.RowLimit()})
}

// scalingEvents is the event table, newest first; id is what the retry and
// rollback actions need, retry_of says which failure a retry retried.
func (d *Datasource) scalingEvents(ctx context.Context, q query) (data.Frames, error) {
	evs, err := d.listEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	n := len(evs)
	var (
		id, service, typ, status, reason, before, after, by, errMsg, rollbackOf, retryOf = strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
		started                                                                          = make([]time.Time, n)
		completed                                                                        = make([]*time.Time, n)
		cost                                                                             = make([]*string, n)
		duration                                                                         = make([]*int64, n)
	)
	for i, e := range evs {
		id[i], service[i], typ[i], status[i], reason[i] = e.ID, e.Service, string(e.Type), string(e.Status), e.TriggerReason
		before[i], after[i], by[i], errMsg[i], rollbackOf[i], retryOf[i] = string(e.Before), string(e.After), e.InitiatedBy, e.ErrorMessage, e.RollbackOf, e.RetryOf
		started[i], completed[i], duration[i] = e.StartedAt.UTC(), utcPtr(e.CompletedAt), e.DurationMS
		cost[i] = optMoney(e.CostImpactMonthly) // unpriced: null, never 0
	}
	f := data.NewFrame("scaling_events",
		data.NewField("time", nil, started),
		data.NewField("completed_at", nil, completed),
		data.NewField("service", nil, service),
		data.NewField("event_type", nil, typ),
		data.NewField("status", nil, status),
		data.NewField("trigger_reason", nil, reason),
		data.NewField("before", nil, before),
		data.NewField("after", nil, after),
		data.NewField("initiated_by", nil, by),
		// Null is an unpriced change: shown as unknown, never as $0.00.
		data.NewField("cost_impact_monthly", nil, cost).SetConfig(&data.FieldConfig{Unit: "currencyUSD", NoValue: "unknown"}),
		data.NewField("duration_ms", nil, duration).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("error_message", nil, errMsg),
		data.NewField("rollback_of", nil, rollbackOf),
		data.NewField("retry_of", nil, retryOf),
		data.NewField("id", nil, id),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

// scalingAnnotations shapes events the way Grafana reads annotations: time,
// timeEnd, title, text, tags.
func (d *Datasource) scalingAnnotations(ctx context.Context, q query) (data.Frames, error) {
	evs, err := d.listEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	n := len(evs)
	at, end := make([]time.Time, n), make([]*time.Time, n)
	title, text, tags, id := strs(n), strs(n), strs(n), strs(n)
	var b strings.Builder
	for i, e := range evs {
		at[i], end[i], id[i] = e.StartedAt.UTC(), utcPtr(e.CompletedAt), e.ID
		typ := typeWords[e.Type]
		if typ == "" {
			typ = string(e.Type)
		}
		title[i] = e.Service + " " + typ + ": " + string(e.Status)
		// jsonb comes back compact already; this runs for up to 1000 rows
		// per refresh, so no fmt.
		b.Reset()
		b.Write(jsonOrEmpty(e.Before))
		b.WriteString(" → ")
		b.Write(jsonOrEmpty(e.After))
		b.WriteString(" (")
		b.WriteString(e.TriggerReason)
		b.WriteString(", by ")
		b.WriteString(e.InitiatedBy)
		b.WriteString(")")
		if e.ErrorMessage != "" {
			b.WriteString(": ")
			b.WriteString(e.ErrorMessage)
		}
		text[i] = b.String()
		tags[i] = e.Service + "," + string(e.Type) + "," + string(e.Status)
	}
	f := data.NewFrame("scaling_annotations",
		data.NewField("time", nil, at),
		data.NewField("timeEnd", nil, end),
		data.NewField("title", nil, title),
		data.NewField("text", nil, text),
		data.NewField("tags", nil, tags),
		data.NewField("id", nil, id),
	)
	return data.Frames{f}, nil
}

// scalingEventSummary counts events per interval: one series per group.
func (d *Datasource) scalingEventSummary(ctx context.Context, q query) (data.Frames, error) {
	var m models.EventSummaryQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	if !q.From.Before(q.To) {
		return nil, badQueryf("time range is empty: counting events needs from before to")
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	bucket := bucketWidth(q)
	counts, err := st.ScalingEventCounts(ctx, store.EventCountFilter{From: q.From, To: q.To, Bucket: bucket, GroupBy: m.GroupBy, Service: m.Service})
	if err != nil {
		return nil, err
	}
	n := int(q.To.Sub(q.From)/bucket) + 1
	times := make([]time.Time, 0, n)
	for t := q.From; t.Before(q.To); t = t.Add(bucket) {
		times = append(times, t)
	}
	series := map[string][]float64{}
	for _, c := range counts {
		v, ok := series[c.Key]
		if !ok {
			v = make([]float64, len(times))
			series[c.Key] = v
		}
		if i := int(c.Bucket.Sub(q.From) / bucket); i >= 0 && i < len(v) {
			v[i] = float64(c.Count)
		}
	}
	label := m.GroupBy
	if label == "" {
		label = "event_type"
	}
	f := data.NewFrame("scaling_event_summary", data.NewField("time", nil, times))
	for _, k := range sortedKeys(series) {
		f.Fields = append(f.Fields, data.NewField("events", data.Labels{label: k}, series[k]).
			SetConfig(&data.FieldConfig{DisplayNameFromDS: k, Interval: float64(bucket.Milliseconds())}))
	}
	f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
	return data.Frames{f}, nil
}

// bucketWidth is Grafana's interval for the query, widened so that the
// range holds at most maxDataPoints buckets (default 1000), at least 1 s,
// rounded to a whole second.
func bucketWidth(q query) time.Duration {
	span := q.To.Sub(q.From)
	maxPoints := q.MaxDataPoints
	if maxPoints <= 0 || maxPoints > 10000 {
		maxPoints = 1000
	}
	w := max(q.Interval, span/time.Duration(maxPoints), time.Second)
	if r := w % time.Second; r != 0 {
		w += time.Second - r
	}
	return w
}

func strs(n int) []string { return make([]string, n) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var typeWords = map[store.EventType]string{store.EventScaleUp: "scale up", store.EventScaleDown: "scale down",
	store.EventMigration: "migration", store.EventOptimization: "optimization"}

func jsonOrEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

func compactJSON(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "{}"
	}
	return s
}
