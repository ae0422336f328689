package collector

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/core/store"
)

// ProjectionStore is what projections read.
type ProjectionStore interface {
	DailyCostsByService(ctx context.Context, f store.CostFilter, from, to time.Time) (map[string][]store.DailyCost, error)
}

var (
	projectionDesc = desc("cost_projection_usd",
		"Projected cost of the current UTC month, quarter or year: actual cost through yesterday plus the forecast of the days left.",
		"service", "horizon")
	projectionConfidenceDesc = desc("cost_projection_confidence_ratio",
		"Confidence of the projection: 1 − the back-test error of the chosen method on the series' own recent past (0…1).",
		"service", "horizon")
	projectionMethodDesc = desc("cost_projection_method_info",
		"The forecasting method chosen for the service by back-testing (linear, compound, holt_winters, holt_winters_log).",
		"service", "method")
)

// Projections forecasts every service's cost to the end of the month,
// quarter and year.
type Projections struct {
	Store ProjectionStore
	// History is how many days the methods are fitted on.
	History int
	// Season in days (Holt-Winters).
	Season int
}

func (p Projections) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	last := yesterday(now)
	from := projection.HistoryStart(last, p.History)
	by, err := p.Store.DailyCostsByService(ctx, store.CostFilter{}, from, last)
	if err != nil {
		return fmt.Errorf("daily costs: %w", err)
	}
	services := make([]string, 0, len(by))
	for s := range by {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, svc := range services {
		pr, err := projection.Project(by[svc], last, p.History, p.Season)
		if err != nil {
			return fmt.Errorf("project %s: %w", svc, err)
		}
		for _, h := range projection.Horizons {
			ch <- gauge(projectionDesc, pr.Total(h.Period), svc, h.Label)
			ch <- gaugeF(projectionConfidenceDesc, pr.Confidence, svc, h.Label)
		}
		ch <- gaugeF(projectionMethodDesc, 1, svc, pr.Method)
	}
	return nil
}
