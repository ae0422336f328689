package plugin

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

const day = 24 * time.Hour

func storeCostFilter(f models.CostFilter) store.CostFilter {
	return store.CostFilter{Service: f.Service, Team: f.Team, Feature: f.Feature, Currency: f.Currency}
}

func currencyOf(f models.CostFilter) string {
	if f.Currency == "" {
		return "USD"
	}
	return f.Currency
}

func currencyUnit(cur string) string { return "currency" + cur }

// asOfDay is the last day a cost query looks at: the range's end, never
// past today.
func (d *Datasource) asOfDay(q query) time.Time {
	to := q.To
	if now := d.now().UTC(); to.IsZero() || to.After(now) {
		to = now
	}
	return to.Truncate(day)
}

func fromDay(q query, asOf time.Time) time.Time {
	from := q.From.Truncate(day)
	if q.From.IsZero() || from.After(asOf) {
		return asOf
	}
	return from
}

func earliest(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.Before(out) {
			out = t
		}
	}
	return out
}

func sumDaily(ds []store.DailyCost, from, to time.Time) decimal.Decimal {
	s := decimal.Zero
	for _, c := range ds {
		if !c.Date.Before(from) && !c.Date.After(to) {
			s = s.Add(c.Amount)
		}
	}
	return s
}

// money is an amount as a frame carries it: the exact decimal string, every
// digit the store holds. Grafana turns it into a number only to draw it (a
// convertFieldType transformation in the dashboards), after every sum and
// projection was done in decimal here; the frame itself never holds a
// rounded float.
func money(d decimal.Decimal) string { return d.String() }

// optMoney is money that may be unknown: nil, never 0.
func optMoney(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	v := money(d.Decimal)
	return &v
}

// ratio is a/b for display (a share or a utilization), nil when b is not positive.
func ratio(a, b decimal.Decimal) *float64 {
	if !b.IsPositive() {
		return nil
	}
	v := a.Div(b).InexactFloat64()
	return &v
}

// projectionLast is the last day a projection counts as actual for a query
// ending on asOf: core/projection's last complete day, or asOf itself when
// the range ends earlier.
func (d *Datasource) projectionLast(asOf time.Time) time.Time {
	if last := projection.LastDay(d.now()); asOf.Before(last) {
		return asOf
	}
	return projection.LastDay(d.now())
}

// summarize is core/projection's summary of the services in the filter's
// scope through last: the figures the exporter and the admin API show.
func summarize(ctx context.Context, st *store.Store, f store.CostFilter, last time.Time) (projection.Summary, error) {
	by, err := st.DailyCostsByService(ctx, f, projection.HistoryStart(last), last)
	if err != nil {
		return projection.Summary{}, err
	}
	return projection.Summarize(by, last), nil
}

// excludedNotice says which services a total leaves out.
func excludedNotice(s projection.Summary) []data.Notice {
	if len(s.Excluded) == 0 {
		return nil
	}
	return []data.Notice{{Severity: data.NoticeSeverityInfo, Text: "not projected yet (too little history), left out of the projection: " + strings.Join(s.Excluded, ", ")}}
}

// costCurrent is one row: month to date as of the range's end, the same
// days of the previous month, the month's projection (core/projection, the
// month-end every screen shows) and the monthly budget of exactly this
// scope; the budget fields are absent when there is none.
func (d *Datasource) costCurrent(ctx context.Context, q query) (data.Frames, error) {
	var m models.CostQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	asOf := d.asOfDay(q)
	monthStart := store.PeriodStart("monthly", asOf)
	prevStart := monthStart.AddDate(0, -1, 0)
	prevTo := prevStart.AddDate(0, 0, asOf.Day()-1)
	if prevEnd := monthStart.Add(-day); prevTo.After(prevEnd) {
		prevTo = prevEnd
	}
	daily, err := st.DailyCosts(ctx, storeCostFilter(m.CostFilter), prevStart, asOf)
	if err != nil {
		return nil, err
	}
	mtd := sumDaily(daily, monthStart, asOf)
	prev := sumDaily(daily, prevStart, prevTo)
	today := sumDaily(daily, asOf, asOf)
	sum, err := summarize(ctx, st, storeCostFilter(m.CostFilter), d.projectionLast(asOf))
	if err != nil {
		return nil, err
	}
	projTotal, projOK := sum.Total("monthly")
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	f := data.NewFrame("cost_current",
		data.NewField("as_of", nil, []time.Time{asOf}),
		data.NewField("day", nil, []string{money(today)}).SetConfig(unit),
		data.NewField("month_to_date", nil, []string{money(mtd)}).SetConfig(unit),
		data.NewField("previous_month_to_date", nil, []string{money(prev)}).SetConfig(unit),
		data.NewField("change", nil, []*float64{ratio(mtd.Sub(prev), prev)}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
	)
	// Without a projection the field is absent rather than null: Grafana
	// 12.3's convertFieldType turns a null into 0 (grafana/grafana#120862),
	// and an unknown month-end must never read as $0.
	if projOK {
		f.Fields = append(f.Fields, data.NewField("month_projection", nil, []string{projTotal.StringFixed(projection.Places)}).SetConfig(unit))
	}
	budgets, err := st.ListBudgets(ctx, true)
	if err != nil {
		return nil, err
	}
	for _, b := range budgets {
		if b.Period == "monthly" && b.Service == m.Service && b.Team == m.Team && b.Feature == m.Feature && b.Currency == currencyOf(m.CostFilter) {
			var projUtil *float64
			if projOK {
				projUtil = ratio(projTotal, b.Limit)
			}
			f.Fields = append(f.Fields,
				data.NewField("budget", nil, []string{money(b.Limit)}).SetConfig(unit),
				data.NewField("budget_utilization", nil, []*float64{ratio(mtd, b.Limit)}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
				data.NewField("projected_budget_utilization", nil, []*float64{projUtil}).SetConfig(&data.FieldConfig{Unit: "percentunit"}))
			break
		}
	}
	if n := excludedNotice(sum); n != nil {
		f.AppendNotices(n...)
	}
	return data.Frames{f}, nil
}

// costTrend is the daily cost over the range, summed or one series per
// service, team or feature.
func (d *Datasource) costTrend(ctx context.Context, q query) (data.Frames, error) {
	var m models.CostQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	asOf := d.asOfDay(q)
	from := fromDay(q, asOf)
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	if m.GroupBy == "" {
		daily, err := st.DailyCosts(ctx, storeCostFilter(m.CostFilter), from, asOf)
		if err != nil {
			return nil, err
		}
		times, vals := make([]time.Time, len(daily)), make([]string, len(daily))
		for i, c := range daily {
			times[i], vals[i] = c.Date.UTC(), money(c.Amount)
		}
		f := data.NewFrame("cost_trend", data.NewField("time", nil, times), data.NewField("cost", nil, vals).SetConfig(unit))
		f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
		return data.Frames{f}, nil
	}
	rows, err := st.CostByDimension(ctx, store.CostDimensionFilter{CostFilter: storeCostFilter(m.CostFilter), From: from, To: asOf, GroupBy: m.GroupBy, Bucket: "day"})
	if err != nil {
		return nil, err
	}
	return data.Frames{wideCost("cost_trend", m.GroupBy, dayBuckets(from, asOf), rows, unit)}, nil
}

func dayBuckets(from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; !t.After(to); t = t.Add(day) {
		out = append(out, t)
	}
	return out
}

func monthBuckets(from, to time.Time) []time.Time {
	var out []time.Time
	for t := store.PeriodStart("monthly", from); !t.After(to); t = t.AddDate(0, 1, 0) {
		out = append(out, t)
	}
	return out
}

// wideCost lays cost rows out as one time field and one field per group,
// zero where a group had no cost in a bucket, groups by total descending.
func wideCost(name, label string, buckets []time.Time, rows []store.CostAmount, unit *data.FieldConfig) *data.Frame {
	index := make(map[int64]int, len(buckets))
	for i, b := range buckets {
		index[b.Unix()] = i
	}
	series := map[string][]string{}
	totals := map[string]decimal.Decimal{}
	for _, r := range rows {
		v, ok := series[r.Key]
		if !ok {
			v = make([]string, len(buckets))
			for i := range v {
				v[i] = "0"
			}
			series[r.Key] = v
		}
		if i, ok := index[r.Bucket.UTC().Unix()]; ok {
			v[i] = money(r.Amount)
		}
		totals[r.Key] = totals[r.Key].Add(r.Amount)
	}
	keys := sortedKeys(series)
	sort.SliceStable(keys, func(i, j int) bool { return totals[keys[i]].GreaterThan(totals[keys[j]]) })
	times := make([]time.Time, len(buckets))
	for i, b := range buckets {
		times[i] = b.UTC()
	}
	f := data.NewFrame(name, data.NewField("time", nil, times))
	for _, k := range keys {
		cfg := *unit
		cfg.DisplayNameFromDS = k
		f.Fields = append(f.Fields, data.NewField("cost", data.Labels{label: k}, series[k]).SetConfig(&cfg))
	}
	f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
	return f
}

// costBreakdown splits the range's cost by a dimension: a table of totals
// with each group's share, or a time series per day or month.
func (d *Datasource) costBreakdown(ctx context.Context, q query) (data.Frames, error) {
	var m models.CostBreakdownQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	group, interval := m.GroupBy, m.Interval
	if group == "" {
		group = "service"
	}
	if interval == "" {
		interval = "total"
	}
	asOf := d.asOfDay(q)
	from := fromDay(q, asOf)
	rows, err := st.CostByDimension(ctx, store.CostDimensionFilter{CostFilter: storeCostFilter(m.CostFilter), From: from, To: asOf, GroupBy: group, Bucket: interval})
	if err != nil {
		return nil, err
	}
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	switch interval {
	case "day":
		return data.Frames{wideCost("cost_breakdown", group, dayBuckets(from, asOf), rows, unit)}, nil
	case "month":
		return data.Frames{wideCost("cost_breakdown", group, monthBuckets(from, asOf), rows, unit)}, nil
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Amount.GreaterThan(rows[j].Amount) })
	total := decimal.Zero
	for _, r := range rows {
		total = total.Add(r.Amount)
	}
	keys, amounts, shares := strs(len(rows)), strs(len(rows)), make([]*float64, len(rows))
	for i, r := range rows {
		keys[i], amounts[i], shares[i] = r.Key, money(r.Amount), ratio(r.Amount, total)
	}
	f := data.NewFrame("cost_breakdown",
		data.NewField(group, nil, keys),
		data.NewField("cost", nil, amounts).SetConfig(unit),
		data.NewField("share", nil, shares).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

// costProjection draws the daily cost and its forecast past the range's
// end, and gives the month-end and next-month totals: core/projection's
// figures for the services in scope (the month-end every screen shows), the
// chart's line the sum of the services' daily forecasts. Actual and forecast
// are two frames, so neither carries nulls that a conversion to numbers
// would turn into zeros.
func (d *Datasource) costProjection(ctx context.Context, q query) (data.Frames, error) {
	var m models.CostProjectionQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	asOf := d.asOfDay(q)
	from := fromDay(q, asOf)
	last := d.projectionLast(asOf)
	filter := storeCostFilter(m.CostFilter)
	monthStart := store.PeriodStart("monthly", asOf)
	daily, err := st.DailyCosts(ctx, filter, earliest(from, monthStart, last), asOf)
	if err != nil {
		return nil, err
	}
	sum, err := summarize(ctx, st, filter, last)
	if err != nil {
		return nil, err
	}
	monthEnd := store.PeriodEnd("monthly", last.AddDate(0, 0, 1))
	nextStart := monthEnd.Add(day)
	nextEnd := store.PeriodEnd("monthly", nextStart)
	horizon := int(nextEnd.Sub(last) / day)
	if m.HorizonDays > 0 {
		horizon = max(m.HorizonDays, int(monthEnd.Sub(last)/day))
	}
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	var times []time.Time
	var actual []string
	for _, c := range daily {
		if !c.Date.Before(from) {
			times, actual = append(times, c.Date.UTC()), append(actual, money(c.Amount))
		}
	}
	actualFrame := data.NewFrame("cost_projection",
		data.NewField("time", nil, times),
		data.NewField("actual", nil, actual).SetConfig(unit))
	actualFrame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})

	// The forecast line starts on the last actual day, so the two join.
	fTimes := []time.Time{last}
	fVals := []decimal.Decimal{sumDaily(daily, last, last)}
	for i := range horizon {
		fTimes, fVals = append(fTimes, last.AddDate(0, 0, i+1)), append(fVals, decimal.Zero)
	}
	nextMonth := decimal.Zero
	projected := false
	for _, svc := range sum.Services {
		if svc.Err != nil {
			continue
		}
		projected = true
		for i, v := range svc.Projection.Extend(horizon) {
			fVals[i+1] = fVals[i+1].Add(decimal.NewFromFloat(math.Max(0, v)).Round(projection.Places))
		}
		nextMonth = nextMonth.Add(svc.Projection.Forecasted(nextStart, nextEnd))
	}
	fStrs := strs(len(fVals))
	for i, v := range fVals {
		fStrs[i] = money(v)
	}
	forecastFrame := data.NewFrame("cost_projection_forecast",
		data.NewField("time", nil, fTimes),
		data.NewField("projected", nil, fStrs).SetConfig(unit))
	forecastFrame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})

	summary := data.NewFrame("cost_projection_summary",
		data.NewField("as_of", nil, []time.Time{last}),
		data.NewField("month_to_date", nil, []string{money(sumDaily(daily, monthStart, asOf))}).SetConfig(unit))
	method, confidence := "none", 0.0
	if projected {
		confidence = sum.Overall.Confidence
		method = "per service (core/projection)"
		if len(sum.Services) == 1 {
			method = sum.Services[0].Method
		}
		// Absent, not null, without a projection (see costCurrent).
		mp, _ := sum.Total("monthly")
		summary.Fields = append(summary.Fields,
			data.NewField("month_projection", nil, []string{mp.StringFixed(projection.Places)}).SetConfig(unit),
			data.NewField("next_month_projection", nil, []string{nextMonth.StringFixed(projection.Places)}).SetConfig(unit))
	} else {
		actualFrame.AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("no projection: too little cost history through %s", last.Format(time.DateOnly))})
	}
	summary.Fields = append(summary.Fields,
		data.NewField("method", nil, []string{method}),
		data.NewField("confidence", nil, []float64{math.Round(confidence*1000) / 1000}).SetConfig(&data.FieldConfig{Unit: "percentunit"}))
	if n := excludedNotice(sum); n != nil {
		summary.AppendNotices(n...)
	}
	if !projected {
		return data.Frames{actualFrame, summary}, nil
	}
	return data.Frames{actualFrame, forecastFrame, summary}, nil
}

// budgets lists budgets with their spend, utilization and projection to
// the end of their period: the overall projection of the services in the
// budget's scope (core/projection), the figure the exporter and the admin
// API show; null when the scope cannot be projected yet.
func (d *Datasource) budgets(ctx context.Context, q query) (data.Frames, error) {
	var m models.BudgetsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	bs, err := st.ListBudgets(ctx, !m.IncludeInactive)
	if err != nil {
		return nil, err
	}
	last := projection.LastDay(d.now())
	n := len(bs)
	name, scope, period, cur, thresholds, status := strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	limit, spend := strs(n), strs(n)
	proj := make([]*string, n)
	util, projUtil := make([]*float64, n), make([]*float64, n)
	active := make([]bool, n)
	for i, b := range bs {
		name[i], period[i], cur[i], active[i] = b.Name, b.Period, b.Currency, b.Active
		var parts []string
		for _, kv := range [][2]string{{"service", b.Service}, {"team", b.Team}, {"feature", b.Feature}} {
			if kv[1] != "" {
				parts = append(parts, kv[0]+"="+kv[1])
			}
		}
		scope[i] = strings.Join(parts, ",")
		if scope[i] == "" {
			scope[i] = "all"
		}
		ts := make([]string, len(b.AlertThresholds))
		for j, t := range b.AlertThresholds {
			ts[j] = fmt.Sprint(t)
		}
		thresholds[i] = strings.Join(ts, ",")
		limit[i], spend[i] = money(b.Limit), money(b.Spend)
		sum, err := summarize(ctx, st, store.CostFilter{Service: b.Service, Team: b.Team, Feature: b.Feature, Currency: b.Currency}, last)
		if err != nil {
			return nil, err
		}
		util[i] = ratio(b.Spend, b.Limit)
		if t, ok := sum.Total(b.Period); ok {
			v := t.StringFixed(projection.Places)
			proj[i], projUtil[i] = &v, ratio(t, b.Limit)
		}
		status[i] = budgetStatus(util[i], projUtil[i], b.AlertThresholds)
	}
	f := data.NewFrame("budgets",
		data.NewField("budget", nil, name),
		data.NewField("scope", nil, scope),
		data.NewField("period", nil, period),
		data.NewField("limit", nil, limit).SetConfig(&data.FieldConfig{Unit: "currencyUSD"}),
		data.NewField("spend", nil, spend).SetConfig(&data.FieldConfig{Unit: "currencyUSD"}),
		data.NewField("utilization", nil, util).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("projected_spend", nil, proj).SetConfig(&data.FieldConfig{Unit: "currencyUSD", NoValue: "unknown"}),
		data.NewField("projected_utilization", nil, projUtil).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("status", nil, status),
		data.NewField("alert_thresholds", nil, thresholds),
		data.NewField("currency", nil, cur),
		data.NewField("active", nil, active),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

// budgetStatus: over (spent), at_risk (projected over), warning (past the
// first alert threshold), ok; unknown without a limit to compare with.
func budgetStatus(util, projUtil *float64, thresholds []int) string {
	switch {
	case util == nil:
		return "unknown"
	case *util >= 1:
		return "over"
	case projUtil != nil && *projUtil >= 1:
		return "at_risk"
	case len(thresholds) > 0 && *util*100 >= float64(thresholds[0]):
		return "warning"
	}
	return "ok"
}

// costAlerts lists cost alerts (anomalies, budget thresholds, projected
// overruns) that started in the range.
func (d *Datasource) costAlerts(ctx context.Context, q query) (data.Frames, error) {
	var m models.CostAlertsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	from, to := rangeOr(q, m.AllTime)
	as, err := st.ListCostAlerts(ctx, store.CostAlertFilter{Type: m.AlertType, Status: m.Status, Service: m.Service, From: from, To: to, Limit: m.RowLimit()})
	if err != nil {
		return nil, err
	}
	n := len(as)
	at := make([]time.Time, n)
	resolved := make([]*time.Time, n)
	typ, sev, svc, budget, msg, status, id := strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	th, val := make([]*float64, n), make([]*float64, n)
	for i, a := range as {
		at[i], resolved[i], id[i] = a.StartsAt.UTC(), utcPtr(a.ResolvedAt), a.ID
		typ[i], sev[i], svc[i], budget[i], msg[i], status[i] = a.Type, a.Severity, a.Service, a.Budget, a.Message, a.Status
		th[i], val[i] = nullFloat(a.ThresholdPercent), nullFloat(a.CurrentValue)
	}
	f := data.NewFrame("cost_alerts",
		data.NewField("time", nil, at),
		data.NewField("alert_type", nil, typ),
		data.NewField("severity", nil, sev),
		data.NewField("status", nil, status),
		data.NewField("service", nil, svc),
		data.NewField("budget", nil, budget),
		data.NewField("threshold_percent", nil, th).SetConfig(&data.FieldConfig{Unit: "percent"}),
		data.NewField("current_value", nil, val),
		data.NewField("message", nil, msg),
		data.NewField("resolved_at", nil, resolved),
		data.NewField("id", nil, id),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

func nullFloat(d decimal.NullDecimal) *float64 {
	if !d.Valid {
		return nil
	}
	v := d.Decimal.InexactFloat64()
	return &v
}

// recommendations lists optimization recommendations; id is what the
// approve and implement actions need.
func (d *Datasource) recommendations(ctx context.Context, q query) (data.Frames, error) {
	var m models.RecommendationsQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	from, to := rangeOr(q, m.AllTime)
	rs, err := st.ListRecommendations(ctx, store.RecommendationFilter{Status: m.Status, Service: m.Service, Type: m.RecommendationType, From: from, To: to, Limit: m.RowLimit()})
	if err != nil {
		return nil, err
	}
	n := len(rs)
	created := make([]time.Time, n)
	expires := make([]*time.Time, n)
	id, svc, typ, title, desc, effort, prio, status, approvedBy := strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	lastErr, rejectReason, note := strs(n), strs(n), strs(n)
	conf := make([]float64, n)
	impact, actual, actualConf := make([]*string, n), make([]*string, n), make([]*float64, n)
	for i, r := range rs {
		actualConf[i], note[i] = nullFloat(r.ActualImpactConfidence), r.MeasureNote
		created[i], expires[i] = r.CreatedAt.UTC(), utcPtr(r.ExpiresAt)
		id[i], svc[i], typ[i], title[i], desc[i] = r.ID, r.Service, r.Type, r.Title, r.Description
		effort[i], prio[i], status[i], approvedBy[i] = r.Effort, r.Priority, r.Status, r.ApprovedBy
		impact[i], conf[i], actual[i] = optMoney(r.EstimatedMonthlyImpact), r.Confidence.InexactFloat64(), optMoney(r.ActualImpact)
		lastErr[i], rejectReason[i] = r.LastError, r.RejectReason
	}
	f := data.NewFrame("recommendations",
		data.NewField("time", nil, created),
		data.NewField("service", nil, svc),
		data.NewField("recommendation_type", nil, typ),
		data.NewField("title", nil, title),
		// Null for an unpriced service: shown as unknown, never $0.00.
		data.NewField("estimated_monthly_impact", nil, impact).SetConfig(&data.FieldConfig{Unit: "currencyUSD", NoValue: "unknown"}),
		data.NewField("confidence", nil, conf).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("effort", nil, effort),
		data.NewField("priority", nil, prio),
		data.NewField("status", nil, status),
		// Null until measured, and for a service without billing lines or
		// cost rows (measure_note says why): unknown, never $0.00.
		data.NewField("actual_impact", nil, actual).SetConfig(&data.FieldConfig{Unit: "currencyUSD", NoValue: "unknown"}),
		data.NewField("actual_impact_confidence", nil, actualConf).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("measure_note", nil, note),
		data.NewField("approved_by", nil, approvedBy),
		data.NewField("expires_at", nil, expires),
		data.NewField("description", nil, desc),
		// Why the last attempt did not implement it, and why it was rejected.
		data.NewField("last_error", nil, lastErr),
		data.NewField("reject_reason", nil, rejectReason),
		data.NewField("id", nil, id),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}
