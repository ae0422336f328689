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

	"github.com/wedsync/scaling/core/forecast"
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

func sumDaily(ds []store.DailyCost, from, to time.Time) decimal.Decimal {
	s := decimal.Zero
	for _, c := range ds {
		if !c.Date.Before(from) && !c.Date.After(to) {
			s = s.Add(c.Amount)
		}
	}
	return s
}

// money is the display figure of an amount: frames carry float64, so the
// conversion happens here, after every sum and projection was done in decimal.
func money(d decimal.Decimal) float64 { return d.Round(2).InexactFloat64() }

// ratio is a/b for display (a share or a utilization), nil when b is not positive.
func ratio(a, b decimal.Decimal) *float64 {
	if !b.IsPositive() {
		return nil
	}
	v := a.Div(b).InexactFloat64()
	return &v
}

// runRate extends spend over elapsed days to a period of total days.
func runRate(spend decimal.Decimal, elapsed, total int64) decimal.Decimal {
	if elapsed <= 0 {
		return decimal.Zero
	}
	return spend.Div(decimal.NewFromInt(elapsed)).Mul(decimal.NewFromInt(total))
}

// costCurrent is one row: month to date as of the range's end, the same
// days of the previous month, the month's run-rate projection and the
// monthly budget of exactly this scope, if any.
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
	projected := runRate(mtd, int64(asOf.Day()), int64(store.PeriodEnd("monthly", asOf).Day()))
	change := ratio(mtd.Sub(prev), prev)
	var budget, util, projUtil *float64
	budgets, err := st.ListBudgets(ctx, true)
	if err != nil {
		return nil, err
	}
	for _, b := range budgets {
		if b.Period == "monthly" && b.Service == m.Service && b.Team == m.Team && b.Feature == m.Feature && b.Currency == currencyOf(m.CostFilter) {
			l := money(b.Limit)
			budget, util, projUtil = &l, ratio(mtd, b.Limit), ratio(projected, b.Limit)
			break
		}
	}
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	f := data.NewFrame("cost_current",
		data.NewField("as_of", nil, []time.Time{asOf}),
		data.NewField("day", nil, []float64{money(today)}).SetConfig(unit),
		data.NewField("month_to_date", nil, []float64{money(mtd)}).SetConfig(unit),
		data.NewField("previous_month_to_date", nil, []float64{money(prev)}).SetConfig(unit),
		data.NewField("change", nil, []*float64{change}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("month_projection", nil, []float64{money(projected)}).SetConfig(unit),
		data.NewField("budget", nil, []*float64{budget}).SetConfig(unit),
		data.NewField("budget_utilization", nil, []*float64{util}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("projected_budget_utilization", nil, []*float64{projUtil}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
	)
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
		times, vals := make([]time.Time, len(daily)), make([]float64, len(daily))
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
	series := map[string][]float64{}
	totals := map[string]decimal.Decimal{}
	for _, r := range rows {
		v, ok := series[r.Key]
		if !ok {
			v = make([]float64, len(buckets))
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
	keys, amounts, shares := strs(len(rows)), make([]float64, len(rows)), make([]*float64, len(rows))
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

// projectionHistory is how many days of history a projection is fitted on.
const projectionHistory = 180

// costProjection fits the daily cost (core/forecast picks the method by
// back-testing: linear, compound or Holt-Winters with a weekly season) and
// extends it past the range's end; a second frame gives the month-end and
// next-month totals.
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
	histFrom := asOf.AddDate(0, 0, -(projectionHistory - 1))
	if from.Before(histFrom) {
		histFrom = from
	}
	daily, err := st.DailyCosts(ctx, storeCostFilter(m.CostFilter), histFrom, asOf)
	if err != nil {
		return nil, err
	}
	monthEnd := store.PeriodEnd("monthly", asOf)
	nextEnd := store.PeriodEnd("monthly", monthEnd.Add(day))
	horizon := int(nextEnd.Sub(asOf) / day)
	if m.HorizonDays > 0 {
		horizon = max(m.HorizonDays, int(monthEnd.Sub(asOf)/day))
	}
	// Leading days without any cost are before the history began.
	first := 0
	for first < len(daily) && daily[first].Amount.IsZero() {
		first++
	}
	y := make([]float64, 0, len(daily)-first)
	for _, c := range daily[first:] {
		y = append(y, c.Amount.InexactFloat64())
	}
	var times []time.Time
	var actual, projected []*float64
	for _, c := range daily {
		if c.Date.Before(from) {
			continue
		}
		v := money(c.Amount)
		times, actual, projected = append(times, c.Date.UTC()), append(actual, &v), append(projected, nil)
	}
	unit := &data.FieldConfig{Unit: currencyUnit(currencyOf(m.CostFilter))}
	method, confidence := "none", 0.0
	var notice *data.Notice
	mtd := sumDaily(daily, store.PeriodStart("monthly", asOf), asOf)
	// The model works in float64; each projected day becomes cents before it
	// is summed, so the month totals are decimal sums like every other.
	restOfMonth, nextMonth := decimal.Zero, decimal.Zero
	res, ferr := forecast.Choose(y, forecast.Options{Period: 7})
	if ferr != nil {
		notice = &data.Notice{Severity: data.NoticeSeverityWarning, Text: fmt.Sprintf("no projection: %v (%d days of cost history)", ferr, len(y))}
	} else {
		method, confidence = res.Method(), res.Confidence
		if len(projected) > 0 { // join the lines at the last actual day
			projected[len(projected)-1] = actual[len(actual)-1]
		}
		for i, v := range res.Forecast(horizon) {
			c := decimal.NewFromFloat(math.Max(0, v)).Round(2)
			t := asOf.AddDate(0, 0, i+1)
			if !t.After(monthEnd) {
				restOfMonth = restOfMonth.Add(c)
			} else if !t.After(nextEnd) {
				nextMonth = nextMonth.Add(c)
			}
			r := c.InexactFloat64()
			times, actual, projected = append(times, t), append(actual, nil), append(projected, &r)
		}
	}
	series := data.NewFrame("cost_projection",
		data.NewField("time", nil, times),
		data.NewField("actual", nil, actual).SetConfig(unit),
		data.NewField("projected", nil, projected).SetConfig(unit),
	)
	series.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
	if notice != nil {
		series.AppendNotices(*notice)
	}
	summary := data.NewFrame("cost_projection_summary",
		data.NewField("as_of", nil, []time.Time{asOf}),
		data.NewField("month_to_date", nil, []float64{money(mtd)}).SetConfig(unit),
		data.NewField("month_projection", nil, []float64{money(mtd.Add(restOfMonth))}).SetConfig(unit),
		data.NewField("next_month_projection", nil, []float64{money(nextMonth)}).SetConfig(unit),
		data.NewField("method", nil, []string{method}),
		data.NewField("confidence", nil, []float64{math.Round(confidence*1000) / 1000}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
	)
	return data.Frames{series, summary}, nil
}

// budgets lists budgets with their spend, utilization and a run-rate
// projection to the end of their period.
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
	asOf := d.now().UTC().Truncate(day)
	n := len(bs)
	name, scope, period, cur, thresholds, status := strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	limit, spend, util, proj, projUtil := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
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
		start, end := store.PeriodStart(b.Period, asOf), store.PeriodEnd(b.Period, asOf)
		elapsed := asOf.Sub(start)/day + 1
		total := end.Sub(start)/day + 1
		projected := runRate(b.Spend, int64(elapsed), int64(total))
		proj[i] = money(projected)
		if u := ratio(b.Spend, b.Limit); u != nil {
			util[i], projUtil[i] = *u, *ratio(projected, b.Limit)
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
		data.NewField("projected_spend", nil, proj).SetConfig(&data.FieldConfig{Unit: "currencyUSD"}),
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
// first alert threshold), ok.
func budgetStatus(util, projUtil float64, thresholds []int) string {
	switch {
	case util >= 1:
		return "over"
	case projUtil >= 1:
		return "at_risk"
	case len(thresholds) > 0 && util*100 >= float64(thresholds[0]):
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

// nullMoney is money for display, nil when unknown.
func nullMoney(d decimal.NullDecimal) *float64 {
	if !d.Valid {
		return nil
	}
	v := money(d.Decimal)
	return &v
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
	impact, actual, actualConf := make([]*float64, n), make([]*float64, n), make([]*float64, n)
	for i, r := range rs {
		actualConf[i], note[i] = nullFloat(r.ActualImpactConfidence), r.MeasureNote
		created[i], expires[i] = r.CreatedAt.UTC(), utcPtr(r.ExpiresAt)
		id[i], svc[i], typ[i], title[i], desc[i] = r.ID, r.Service, r.Type, r.Title, r.Description
		effort[i], prio[i], status[i], approvedBy[i] = r.Effort, r.Priority, r.Status, r.ApprovedBy
		impact[i], conf[i], actual[i] = nullMoney(r.EstimatedMonthlyImpact), r.Confidence.InexactFloat64(), nullFloat(r.ActualImpact)
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
