package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// ImpactStore is what measuring impact reads and writes.
type ImpactStore interface {
	ImpactCandidates(ctx context.Context, implementedBefore time.Time) ([]store.Recommendation, error)
	BillingLineCosts(ctx context.Context, lines []store.BillingLine, currency string, from, to time.Time) (store.LineCosts, error)
	RecordImpact(ctx context.Context, id string, m store.Measurement) (bool, error)
	RecordUnmeasured(ctx context.Context, id, note string, basis json.RawMessage) error
}

var _ ImpactStore = (*store.Store)(nil)

const (
	// ImpactWindowDays is the length of the windows compared: whole UTC
	// days before the day of implementation, and as many after it (the
	// day itself, half old and half new, is in neither). A week, so both
	// windows hold the same weekdays.
	ImpactWindowDays = 7
	// MonthDays turns a daily figure monthly, as the estimate is.
	MonthDays = 30
	// impactCurrency: the policy's prices, and so the estimates, are in USD.
	impactCurrency = "USD"
	loadStep       = 5 * time.Minute
)

// measureImpact measures every implemented recommendation whose window
// after implementation has fully passed:
//
//	impact = (mean daily cost after − mean daily cost before × load after / load before) × MonthDays
//
// over the cost rows of the service's billing lines, where load is the
// mean of the policy's load metric (or the service's request rate) over
// each window: the cost per unit of load before, times the load after, is
// what the service would have cost without the change. Negative is a
// saving, comparable with the estimate. What cannot be measured (an
// unmapped service, a window without cost rows, no load) stays unmeasured
// with the reason, never 0.
func (g *Generator) measureImpact(ctx context.Context, now time.Time) (int, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	recs, err := g.cfg.Store.ImpactCandidates(ctx, today.AddDate(0, 0, -ImpactWindowDays))
	if err != nil {
		return 0, fmt.Errorf("measure impact: %w", err)
	}
	n := 0
	for _, r := range recs {
		m, note, basis, err := g.measureOne(ctx, r, now)
		if err != nil {
			// One service's data away must not stop the others.
			g.cfg.Logger.Warn("measure impact", "recommendation", r.ID, "service", r.Service, "err", err)
			continue
		}
		if note != "" {
			if err := g.cfg.Store.RecordUnmeasured(ctx, r.ID, note, basis); err != nil {
				return n, err
			}
			continue
		}
		ok, err := g.cfg.Store.RecordImpact(ctx, r.ID, m)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			g.cfg.Logger.Info("measured impact", "recommendation", r.ID, "service", r.Service,
				"actual_monthly", m.Impact.StringFixed(2), "estimated_monthly", r.EstimatedMonthlyImpact.StringFixed(2), "confidence", m.Confidence.String())
		}
	}
	return n, nil
}

// impactWindow is one side of the comparison, as stored in measure_basis.
type impactWindow struct {
	From         string          `json:"from"`
	To           string          `json:"to"` // inclusive
	Cost         decimal.Decimal `json:"cost"`
	DaysWithRows int             `json:"days_with_rows"`
	MeanDaily    decimal.Decimal `json:"mean_daily_cost"`
	Load         *float64        `json:"mean_load,omitempty"`
	LoadCoverage float64         `json:"load_coverage"`
}

type impactBasis struct {
	ImplementedDay   string          `json:"implemented_day"`
	WindowDays       int             `json:"window_days"`
	BillingLines     int             `json:"billing_lines"`
	LoadQuery        string          `json:"load_query,omitempty"`
	Before           *impactWindow   `json:"before,omitempty"`
	After            *impactWindow   `json:"after,omitempty"`
	Counterfactual   decimal.Decimal `json:"counterfactual_mean_daily_cost,omitempty"`
	BeforeDailyCV    float64         `json:"before_daily_cv"`
	MonthDays        int             `json:"month_days"`
	ImpactUnrounded  decimal.Decimal `json:"impact_monthly_unrounded,omitempty"`
	ConfidenceFactor string          `json:"confidence,omitempty"`
}

func (g *Generator) measureOne(ctx context.Context, r store.Recommendation, now time.Time) (store.Measurement, string, json.RawMessage, error) {
	day := r.ImplementedAt.UTC().Truncate(24 * time.Hour)
	b := impactBasis{ImplementedDay: day.Format(time.DateOnly), WindowDays: ImpactWindowDays, MonthDays: MonthDays}
	unmeasured := func(format string, a ...any) (store.Measurement, string, json.RawMessage, error) {
		return store.Measurement{}, fmt.Sprintf(format, a...), mustJSON(b), nil
	}
	p := g.cfg.Policy.Services[r.Service]
	if p == nil {
		return unmeasured("%s is no longer in the policy: its billing lines are unknown", r.Service)
	}
	if !p.Mapped() {
		return unmeasured("%s is unmapped (no billing lines in the policy): its cost is unknown", r.Service)
	}
	b.BillingLines = len(p.Billing)
	beforeFrom, beforeTo := day.AddDate(0, 0, -ImpactWindowDays), day.AddDate(0, 0, -1)
	afterFrom, afterTo := day.AddDate(0, 0, 1), day.AddDate(0, 0, ImpactWindowDays)
	lc, err := g.cfg.Store.BillingLineCosts(ctx, p.BillingLines(), impactCurrency, beforeFrom, afterTo)
	if err != nil {
		return store.Measurement{}, "", nil, err
	}
	before := window(lc.Days[:ImpactWindowDays], beforeFrom, beforeTo)
	after := window(lc.Days[ImpactWindowDays+1:], afterFrom, afterTo)
	b.Before, b.After = &before.impactWindow, &after.impactWindow
	b.BeforeDailyCV = before.cv
	if before.DaysWithRows == 0 || after.DaysWithRows == 0 {
		return unmeasured("the billing lines of %s have no cost rows from %s to %s (before) or from %s to %s (after): no row is unknown, not 0",
			r.Service, before.From, before.To, after.From, after.To)
	}
	q := loadQuery(p, r.Service)
	b.LoadQuery = q
	// Each window's mean load, over whole days ending the second before
	// the next day starts (a subquery's range includes its end).
	for _, w := range []struct {
		win  *impactWindow
		ends time.Time
	}{{&before.impactWindow, day}, {&after.impactWindow, afterTo.AddDate(0, 0, 1)}} {
		mean, cov, err := g.meanLoad(ctx, q, w.ends.Add(-time.Second))
		if err != nil {
			return store.Measurement{}, "", nil, err
		}
		w.win.LoadCoverage = cov
		if cov > 0 {
			// Prometheus sums floats: 112.5 comes back 112.49999999999986.
			// Six decimals of requests per second are far below what load
			// can tell apart, and keep the ratio the load's own.
			mean, _ = decimal.NewFromFloat(mean).Round(6).Float64()
			w.win.Load = &mean
		}
	}
	if before.Load == nil || after.Load == nil {
		return unmeasured("no load of %s (%s) over one of the windows: the cost cannot be normalised by load", r.Service, q)
	}
	if !(*before.Load > 0) {
		return unmeasured("the load of %s before implementation was %g: no cost per unit of load", r.Service, *before.Load)
	}
	ratio := decimal.NewFromFloat(*after.Load).DivRound(decimal.NewFromFloat(*before.Load), 16)
	counterfactual := before.MeanDaily.Mul(ratio)
	b.Counterfactual = counterfactual.Round(6)
	impact := after.MeanDaily.Sub(counterfactual).Mul(decimal.NewFromInt(MonthDays))
	b.ImpactUnrounded = impact.Round(6)
	// Confidence: the share of days the bill covers, the share of load
	// samples present, and the day-to-day noise of the before window (a
	// change is only as clear as the baseline is steady).
	coverage := float64(before.DaysWithRows+after.DaysWithRows) / float64(2*ImpactWindowDays)
	conf := coverage * before.LoadCoverage * after.LoadCoverage / (1 + before.cv)
	b.ConfidenceFactor = fmt.Sprintf("days %.3f × load %.3f × %.3f / (1 + cv %.3f)", coverage, before.LoadCoverage, after.LoadCoverage, before.cv)
	return store.Measurement{Impact: impact.Round(2), Confidence: decimal.NewFromFloat(math.Max(0, math.Min(1, conf))).Round(3),
		Basis: mustJSON(b), At: now}, "", nil, nil
}

type costWindow struct {
	impactWindow
	cv float64 // coefficient of variation of the days with rows
}

func window(days []store.LineDay, from, to time.Time) costWindow {
	w := costWindow{impactWindow: impactWindow{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Cost: decimal.Zero, MeanDaily: decimal.Zero}}
	var xs []float64
	for _, d := range days {
		if d.Rows == 0 {
			continue // a day the bill says nothing of is not a day of 0
		}
		w.Cost = w.Cost.Add(d.Amount)
		w.DaysWithRows++
		xs = append(xs, d.Amount.InexactFloat64())
	}
	if w.DaysWithRows == 0 {
		return w
	}
	w.MeanDaily = w.Cost.DivRound(decimal.NewFromInt(int64(w.DaysWithRows)), 16)
	var mean, ss float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	if mean != 0 {
		w.cv = math.Abs(math.Sqrt(ss/float64(len(xs))) / mean)
	}
	return w
}

// loadQuery is the service's load: its policy's load metric, else its
// request rate (the normalized series the rules record).
func loadQuery(p *policy.Service, name string) string {
	for _, m := range p.Metrics {
		if m.Type == policy.MetricLoad {
			return m.Query
		}
	}
	return fmt.Sprintf(`sum(service:http_requests:rate{service=%q})`, name)
}

// meanLoad is the mean of q over the ImpactWindowDays ending at end, and the
// share of the window's steps that had a sample.
func (g *Generator) meanLoad(ctx context.Context, q string, end time.Time) (mean, coverage float64, err error) {
	rng := model.Duration(time.Duration(ImpactWindowDays) * 24 * time.Hour).String()
	step := model.Duration(loadStep).String()
	mean, ok, err := g.scalar(ctx, fmt.Sprintf("avg_over_time((%s)[%s:%s])", q, rng, step), end)
	if err != nil || !ok {
		return 0, 0, err
	}
	n, ok, err := g.scalar(ctx, fmt.Sprintf("count_over_time((%s)[%s:%s])", q, rng, step), end)
	if err != nil || !ok {
		return 0, 0, err
	}
	steps := float64(time.Duration(ImpactWindowDays) * 24 * time.Hour / loadStep)
	return mean, math.Min(1, n/steps), nil
}
