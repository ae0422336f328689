package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/currency"
	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
)

// Costs is the store's part the cost routes read and write. Money stays
// decimal end to end and leaves as strings.
type Costs interface {
	CostLines(ctx context.Context, day, asOf time.Time, baselineDays int, currency string) ([]store.CostLine, error)
	DailyCosts(ctx context.Context, f store.CostFilter, from, to time.Time) ([]store.DailyCost, error)
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
	ListBudgets(ctx context.Context, activeOnly bool) ([]store.Budget, error)
	CreateBudget(ctx context.Context, b store.Budget, createdBy string) (store.Budget, error)
	UpdateBudget(ctx context.Context, id string, u store.BudgetUpdate) (store.Budget, error)
	GetBudget(ctx context.Context, id string) (store.Budget, error)
	ListCostAlerts(ctx context.Context, f store.CostAlertFilter) ([]store.CostAlert, error)
	GetCostAlert(ctx context.Context, id string) (store.CostAlert, error)
	CostByDimension(ctx context.Context, f store.CostDimensionFilter) ([]store.CostAmount, error)
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

type serviceCost struct {
	Service     string `json:"service"`
	MonthToDate string `json:"month_to_date"`
	Yesterday   string `json:"yesterday"`
	Baseline    string `json:"baseline_daily"`
}

type budgetView struct {
	ID              string  `json:"id"`
	Name            string  `json:"budget_name"`
	Service         string  `json:"service_name,omitempty"`
	Team            string  `json:"team,omitempty"`
	Feature         string  `json:"feature,omitempty"`
	Period          string  `json:"period"`
	Limit           string  `json:"budget_limit"`
	Spend           string  `json:"current_spend"`
	Utilization     string  `json:"utilization_percent"`
	Currency        string  `json:"currency"`
	AlertThresholds []int   `json:"alert_thresholds"`
	Active          bool    `json:"is_active"`
	Projected       *string `json:"projected_spend,omitempty"`
	// Confidence is the projection's back-test score in [0,1], a decimal
	// string like every figure of this API.
	Confidence *string `json:"projection_confidence,omitempty"`
}

func viewBudget(b store.Budget) budgetView {
	util := decimal.Zero
	if b.Limit.IsPositive() {
		util = b.Spend.Div(b.Limit).Mul(decimal.NewFromInt(100))
	}
	// Both exact: every digit stored, at least the currency's minor unit
	// (a budget of a code ISO no longer lists shows two).
	digits, err := currency.Digits(b.Currency)
	if err != nil {
		digits = 2
	}
	return budgetView{ID: b.ID, Name: b.Name, Service: b.Service, Team: b.Team, Feature: b.Feature, Period: b.Period,
		Limit: exactText(b.Limit, digits), Spend: exactText(b.Spend, digits), Utilization: util.StringFixed(2), Currency: b.Currency,
		AlertThresholds: b.AlertThresholds, Active: b.Active}
}

// currentCosts: yesterday and month to date per service, and every active
// budget with its spend and projection for its period.
func (s *Server) currentCosts(r *request) (int, any, error) {
	now := s.cfg.Now()
	yesterday := day(now).AddDate(0, 0, -1)
	currency := r.URL.Query().Get("currency")
	lines, err := s.cfg.Costs.CostLines(r.ctx, yesterday, yesterday, 7, currency)
	if err != nil {
		return 0, nil, err
	}
	type sums struct{ mtd, day, base decimal.Decimal }
	by := map[string]*sums{}
	total := sums{}
	for _, l := range lines {
		x := by[l.Service]
		if x == nil {
			x = &sums{}
			by[l.Service] = x
		}
		x.mtd, x.day, x.base = x.mtd.Add(l.MonthToDate), x.day.Add(l.Day), x.base.Add(l.Baseline)
		total.mtd, total.day = total.mtd.Add(l.MonthToDate), total.day.Add(l.Day)
	}
	services := make([]serviceCost, 0, len(by))
	for svc, x := range by {
		services = append(services, serviceCost{Service: svc, MonthToDate: x.mtd.StringFixed(2), Yesterday: x.day.StringFixed(2), Baseline: x.base.StringFixed(2)})
	}
	sort.Slice(services, func(i, j int) bool { return services[i].Service < services[j].Service })
	budgets, err := s.cfg.Costs.ListBudgets(r.ctx, true)
	if err != nil {
		return 0, nil, err
	}
	views := make([]budgetView, len(budgets))
	last := projection.LastDay(now)
	for i, b := range budgets {
		views[i] = viewBudget(b)
		// The budget's projection is its scope's overall figure, the same
		// the exporter publishes and Grafana shows (core/projection).
		by, err := s.cfg.Costs.DailyCostsByService(r.ctx, store.CostFilter{Service: b.Service, Team: b.Team, Feature: b.Feature, Currency: b.Currency},
			projection.HistoryStart(last), last)
		if err != nil {
			return 0, nil, err
		}
		sum := projection.Summarize(by, last)
		if t, ok := sum.Total(b.Period); ok {
			p := t.StringFixed(2)
			c := backTestScore(sum.Overall.Confidence)
			views[i].Projected, views[i].Confidence = &p, &c
		}
	}
	return http.StatusOK, map[string]any{"as_of": yesterday.Format(time.DateOnly), "month_to_date": total.mtd.StringFixed(2),
		"yesterday": total.day.StringFixed(2), "services": services, "budgets": views}, nil
}

func (s *Server) costFilter(r *request) store.CostFilter {
	q := r.URL.Query()
	return store.CostFilter{Service: q.Get("service"), Team: q.Get("team"), Feature: q.Get("feature"), Currency: q.Get("currency")}
}

// costTrends: daily cost summed per day, week (ISO, from Monday) or month.
func (s *Server) costTrends(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 90*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	gran, err := r.oneOf("granularity", "day", "week", "month")
	if err != nil {
		return 0, nil, err
	}
	if gran == "" {
		gran = "day"
	}
	days, err := s.cfg.Costs.DailyCosts(r.ctx, s.costFilter(r), day(from), day(to))
	if err != nil {
		return 0, nil, err
	}
	type point struct {
		Date   string `json:"date"`
		Amount string `json:"amount"`
	}
	var points []point
	var cur time.Time
	sum := decimal.Zero
	flush := func() {
		if !cur.IsZero() {
			points = append(points, point{cur.Format(time.DateOnly), sum.StringFixed(2)})
		}
	}
	for _, d := range days {
		b := d.Date
		switch gran {
		case "week":
			b = b.AddDate(0, 0, -((int(b.Weekday()) + 6) % 7))
		case "month":
			b = time.Date(b.Year(), b.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		if !b.Equal(cur) {
			flush()
			cur, sum = b, decimal.Zero
		}
		sum = sum.Add(d.Amount)
	}
	flush()
	if points == nil {
		points = []point{}
	}
	return http.StatusOK, map[string]any{"granularity": gran, "points": points}, nil
}

// costBreakdown: the range's cost split by service, team, feature, resource
// or source, as totals with each group's share or per day or month. Sums are
// done in SQL numeric and shares in decimal; amounts are decimal strings.
func (s *Server) costBreakdown(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 30*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	group, err := r.oneOf("group_by", "service", "team", "feature", "resource", "source")
	if err != nil {
		return 0, nil, err
	}
	if group == "" {
		group = "service"
	}
	interval, err := r.oneOf("interval", "total", "day", "month")
	if err != nil {
		return 0, nil, err
	}
	if interval == "" {
		interval = "total"
	}
	rows, err := s.cfg.Costs.CostByDimension(r.ctx, store.CostDimensionFilter{CostFilter: s.costFilter(r),
		From: day(from), To: day(to), GroupBy: group, Bucket: interval})
	if err != nil {
		return 0, nil, err
	}
	total := decimal.Zero
	for _, c := range rows {
		total = total.Add(c.Amount)
	}
	if interval == "total" { // largest first, as an operator reads a breakdown
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Amount.GreaterThan(rows[j].Amount) })
	}
	type item struct {
		Bucket string  `json:"bucket,omitempty"`
		Key    string  `json:"key"`
		Amount string  `json:"amount"`
		Share  *string `json:"share_percent,omitempty"` // of the range's total; totals only
	}
	items := make([]item, 0, len(rows))
	for _, c := range rows {
		it := item{Key: c.Key, Amount: c.Amount.StringFixed(2)}
		if interval == "total" {
			if total.IsPositive() {
				sh := c.Amount.Div(total).Mul(decimal.NewFromInt(100)).StringFixed(2)
				it.Share = &sh
			}
		} else {
			it.Bucket = c.Bucket.Format(time.DateOnly)
		}
		items = append(items, it)
	}
	return http.StatusOK, map[string]any{"from": day(from).Format(time.DateOnly), "to": day(to).Format(time.DateOnly),
		"group_by": group, "interval": interval, "total": total.StringFixed(2), "items": items}, nil
}

// projectionView is what the API shows of a projection (core/projection
// computes every figure): decimal strings, null where a figure is unknown.
type projectionView struct {
	Projected map[string]string `json:"projected"` // by horizon: month, quarter, year
	// Confidence is the projection's back-test score in [0,1].
	Confidence *string `json:"confidence"`
	// GrowthRate is month over month (0.1000 is 10 % a month) over the
	// last complete months, with the fit's R² as GrowthConfidence.
	GrowthRate       *string `json:"growth_rate"`
	GrowthConfidence *string `json:"growth_confidence"`
	// CurrentMonthly is the last complete month's cost.
	CurrentMonthly *string `json:"current_monthly"`
}

func viewProjection(f projection.Figures, projected bool) projectionView {
	v := projectionView{Projected: map[string]string{}}
	if projected {
		for _, h := range projection.Horizons {
			v.Projected[h.Label] = f.Projected[h.Period].StringFixed(2)
		}
		c := backTestScore(f.Confidence)
		v.Confidence = &c
	}
	if f.Growth != nil {
		r, c := decimal.NewFromFloat(f.Growth.Rate).StringFixed(4), backTestScore(f.Growth.Confidence)
		v.GrowthRate, v.GrowthConfidence = &r, &c
	}
	if f.CurrentMonthly.Valid {
		m := f.CurrentMonthly.Decimal.StringFixed(2)
		v.CurrentMonthly = &m
	}
	return v
}

// costProjections: month, quarter and year per service and overall, with
// growth rate, the last complete month and confidence, all from
// core/projection (the exporter and Grafana show the same figures).
func (s *Server) costProjections(r *request) (int, any, error) {
	last := projection.LastDay(s.cfg.Now())
	by, err := s.cfg.Costs.DailyCostsByService(r.ctx, s.costFilter(r), projection.HistoryStart(last), last)
	if err != nil {
		return 0, nil, err
	}
	sum := projection.Summarize(by, last)
	type svcProj struct {
		Service string `json:"service"`
		Method  string `json:"method,omitempty"`
		projectionView
		Error string `json:"error,omitempty"`
	}
	out := make([]svcProj, 0, len(sum.Services))
	for _, svc := range sum.Services {
		p := svcProj{Service: svc.Name, Method: svc.Method, projectionView: viewProjection(svc.Figures, svc.Err == nil)}
		if svc.Err != nil {
			p.Error = "not projected: " + svc.Err.Error() // too little history for this one; the others stand
		}
		out = append(out, p)
	}
	_, projected := sum.Total("monthly")
	excluded := sum.Excluded
	if excluded == nil {
		excluded = []string{}
	}
	overall := struct {
		projectionView
		Excluded []string `json:"excluded"`
	}{viewProjection(sum.Overall, projected), excluded}
	return http.StatusOK, map[string]any{"as_of": last.Format(time.DateOnly), "services": out, "overall": overall}, nil
}

type budgetRequest struct {
	Name            string  `json:"budget_name"`
	Service         string  `json:"service_name"`
	Team            string  `json:"team"`
	Feature         string  `json:"feature"`
	Period          *string `json:"period"`
	Limit           *string `json:"budget_limit"`
	Currency        string  `json:"currency"`
	AlertThresholds []int   `json:"alert_thresholds"`
	Active          *bool   `json:"is_active"`
}

// maxAlertThresholds bounds alert_thresholds.
const maxAlertThresholds = 20

// s400 is a store.ValidationError as the API's 400, naming its field.
func s400(err error) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return errBadRequest(ve.Field, "%s", ve.Error())
	}
	return err
}

// exactText is d with every digit it has and at least digits decimals.
func exactText(d decimal.Decimal, digits int32) string {
	return d.StringFixed(max(digits, -d.Exponent()))
}

// validate checks the request; cur is the budget's currency (the
// request's, or the stored one's on an update). The limit's rule is the
// store's (store.CheckBudgetLimit: positive, below 10^12, at most the
// currency's minor-unit digits, never rounded); the message shows the text
// as sent.
func (req budgetRequest) validate(create bool, cur string) (decimal.Decimal, error) {
	var limit decimal.Decimal
	if req.Currency != "" {
		if err := store.CheckBudgetCurrency(req.Currency); err != nil {
			return limit, s400(err)
		}
	}
	if req.Limit != nil {
		d, err := decimal.NewFromString(*req.Limit)
		if err != nil {
			return limit, errBadRequest("budget_limit", "budget_limit: %.40q is not a positive decimal (e.g. \"1500.00\")", *req.Limit)
		}
		var ve *store.ValidationError
		if err := store.CheckBudgetLimit(d, cur); errors.As(err, &ve) && ve.Field == "budget_limit" {
			return limit, errBadRequest("budget_limit", "budget_limit: %.40q %s", *req.Limit, ve.Message)
		}
		limit = d
	} else if create {
		return limit, errBadRequest("budget_limit", "budget_limit: required")
	}
	if req.Period != nil && *req.Period != "monthly" && *req.Period != "quarterly" && *req.Period != "yearly" {
		return limit, errBadRequest("period", "period: %q is not monthly, quarterly or yearly", *req.Period)
	}
	if len(req.AlertThresholds) > maxAlertThresholds {
		return limit, errBadRequest("alert_thresholds", "alert_thresholds: %d of them, at most %d", len(req.AlertThresholds), maxAlertThresholds)
	}
	for _, t := range req.AlertThresholds {
		if t <= 0 || t > 1000 {
			return limit, errBadRequest("alert_thresholds", "alert_thresholds: %d is not a percentage from 1 to 1000", t)
		}
	}
	if create && req.Name == "" {
		return limit, errBadRequest("budget_name", "budget_name: required")
	}
	for _, f := range []struct{ name, v string }{{"budget_name", req.Name}, {"service_name", req.Service}, {"team", req.Team}, {"feature", req.Feature}} {
		if e := checkLen(f.name, f.v, maxNameLen); e != nil {
			return limit, e
		}
	}
	return limit, nil
}

func (s *Server) createBudget(r *request) (int, any, error) {
	var req budgetRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Currency == "" {
		req.Currency = "USD"
	}
	limit, err := req.validate(true, req.Currency)
	if err != nil {
		return 0, nil, err
	}
	b := store.Budget{Name: req.Name, Service: req.Service, Team: req.Team, Feature: req.Feature, Limit: limit,
		Currency: req.Currency, AlertThresholds: req.AlertThresholds}
	if req.Period != nil {
		b.Period = *req.Period
	}
	out, err := s.cfg.Costs.CreateBudget(r.ctx, b, r.actor.Name)
	if err != nil {
		return 0, nil, err
	}
	r.resourceID = out.ID
	return http.StatusCreated, viewBudget(out), nil
}

func (s *Server) updateBudget(r *request) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	if !isUUID(id) {
		return 0, nil, errNotFound("budget %s: not found", id)
	}
	var req budgetRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name != "" || req.Service != "" || req.Team != "" || req.Feature != "" || req.Currency != "" {
		return 0, nil, errBadRequest("", "budget_name, service_name, team, feature and currency define a budget; create another instead")
	}
	// The limit's decimals are the stored currency's.
	cur, err := s.cfg.Costs.GetBudget(r.ctx, id)
	if err != nil {
		return 0, nil, err
	}
	limit, err := req.validate(false, cur.Currency)
	if err != nil {
		return 0, nil, err
	}
	u := store.BudgetUpdate{Period: req.Period, AlertThresholds: req.AlertThresholds, Active: req.Active}
	if req.Limit != nil {
		u.Limit = &limit
	}
	out, err := s.cfg.Costs.UpdateBudget(r.ctx, id, u)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewBudget(out), nil
}

func (s *Server) costAlerts(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 30*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	limit, err := r.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	status, err := r.oneOf("status", "firing", "resolved")
	if err != nil {
		return 0, nil, err
	}
	typ, err := r.oneOf("alert_type", append(slices.Clone(store.CostAlertTypes), store.CostAlertUnknown)...)
	if err != nil {
		return 0, nil, err
	}
	flagged, err := r.oneOf("flagged", "true", "false")
	if err != nil {
		return 0, nil, err
	}
	f := store.CostAlertFilter{Type: typ, Status: status, Service: r.URL.Query().Get("service"), From: from, To: to, Limit: limit}
	if flagged != "" {
		v := flagged == "true"
		f.Flagged = &v
	}
	alerts, err := s.cfg.Costs.ListCostAlerts(r.ctx, f)
	if err != nil {
		return 0, nil, err
	}
	if alerts == nil {
		alerts = []store.CostAlert{}
	}
	return http.StatusOK, page[store.CostAlert]{Items: alerts}, nil
}

// getCostAlert: one cost alert, with what it received and its flags.
func (s *Server) getCostAlert(r *request) (int, any, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return 0, nil, errNotFound("cost alert %s: not found", id)
	}
	a, err := s.cfg.Costs.GetCostAlert(r.ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
