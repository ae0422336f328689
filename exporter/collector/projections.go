package collector

import (
	"context"
	"fmt"
	"log/slog"
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
// quarter and year with core/projection, which owns the history, the season
// and the last day counted: the admin API and Grafana show the same figures.
type Projections struct {
	Store  ProjectionStore
	Logger *slog.Logger // optional: services too short to project
}

func (p Projections) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	last := projection.LastDay(now)
	by, err := p.Store.DailyCostsByService(ctx, store.CostFilter{}, projection.HistoryStart(last), last)
	if err != nil {
		return fmt.Errorf("daily costs: %w", err)
	}
	sum := projection.Summarize(by, last)
	for _, svc := range sum.Services {
		if svc.Err != nil {
			// One new service must not take the others' projections
			// down: it has no series until it has history.
			if p.Logger != nil {
				p.Logger.Info("cost projection skipped", "service", svc.Name, "err", svc.Err)
			}
			continue
		}
		for _, h := range projection.Horizons {
			ch <- gauge(projectionDesc, svc.Projected[h.Period], svc.Name, h.Label)
			ch <- gaugeF(projectionConfidenceDesc, svc.Confidence, svc.Name, h.Label)
		}
		ch <- gaugeF(projectionMethodDesc, 1, svc.Name, svc.Method)
	}
	return nil
}
