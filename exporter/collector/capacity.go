package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/exporter/config"
)

// AppReader reads the application database.
type AppReader interface {
	Connections(ctx context.Context) (used, limit int64, err error)
	DatabaseSize(ctx context.Context) (int64, error)
	Number(ctx context.Context, query string) (decimal.Decimal, error)
}

var _ AppReader = (*store.AppDB)(nil)

// CapacityStore keeps the samples the exhaustion forecast is fitted on.
type CapacityStore interface {
	RecordCapacity(ctx context.Context, c store.CapacitySample) error
	CapacityHistory(ctx context.Context, resource, service string, since time.Time) ([]store.CapacitySample, error)
	UsageTotal(ctx context.Context, service, resource string, from, to time.Time) (decimal.Decimal, string, error)
}

var (
	capUsedDesc  = desc("capacity_used", "Use of a capacity resource, in the unit of the unit label.", "resource", "service", "unit")
	capLimitDesc = desc("capacity_limit", "Limit of a capacity resource (the plan's, or the server's for connections), in the unit of the unit label.", "resource", "service", "unit")
	capUtilDesc  = desc("capacity_utilization_ratio", "Use over limit of a capacity resource (0…1, above 1 when over the plan).", "resource", "service")
	capETADesc   = desc("capacity_exhaustion_eta_seconds",
		"Time until the resource's use reaches its limit, extrapolated by the better of a linear and a compound fit of its history; +Inf when it does not grow towards it.",
		"resource", "service")
)

// Capacity measures each configured resource against its limit, records a
// sample to capacity_metrics every RecordInterval, and forecasts when the
// limit will be reached.
type Capacity struct {
	Resources      []config.Resource
	App            AppReader // nil when no application database is configured
	Store          CapacityStore
	RecordInterval time.Duration
	History        time.Duration

	mu   sync.Mutex
	last map[string]capacityState
}

type capacityState struct {
	recorded time.Time
	eta      time.Duration
}

func (c *Capacity) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]capacityState{}
	}
	var errs []error
	for _, r := range c.Resources {
		used, limit, err := c.read(ctx, r, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", r.Service, r.Resource, err))
			continue
		}
		ch <- gaugeF(capUsedDesc, used, r.Resource, r.Service, r.Unit)
		ch <- gaugeF(capLimitDesc, limit, r.Resource, r.Service, r.Unit)
		ch <- gaugeF(capUtilDesc, used/limit, r.Resource, r.Service)
		key := r.Resource + "/" + r.Service
		st, known := c.last[key]
		if !known || now.Sub(st.recorded) >= c.RecordInterval {
			eta, err := c.record(ctx, r, used, limit, now, !known)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", r.Service, r.Resource, err))
				continue
			}
			st = eta
			c.last[key] = st
		}
		seconds := math.Inf(1)
		if st.eta != forecast.Never {
			seconds = st.eta.Seconds()
		}
		ch <- gaugeF(capETADesc, seconds, r.Resource, r.Service)
	}
	return errors.Join(errs...)
}

// read returns the resource's use and limit now.
func (c *Capacity) read(ctx context.Context, r config.Resource, now time.Time) (used, limit float64, err error) {
	if r.Limit != nil {
		limit = *r.Limit
	}
	if c.App == nil && r.Usage != "cost_usage" {
		return 0, 0, errors.New("no application database")
	}
	switch r.Usage {
	case "connections":
		u, l, err := c.App.Connections(ctx)
		if err != nil {
			return 0, 0, err
		}
		used = float64(u)
		if r.Limit == nil {
			limit = float64(l)
		}
	case "database_size":
		n, err := c.App.DatabaseSize(ctx)
		if err != nil {
			return 0, 0, err
		}
		used = float64(n)
	case "query":
		d, err := c.App.Number(ctx, r.Query)
		if err != nil {
			return 0, 0, err
		}
		used = d.InexactFloat64()
	case "cost_usage":
		month := store.PeriodStart("monthly", now)
		d, _, err := c.Store.UsageTotal(ctx, r.CostUsage.Service, r.CostUsage.Resource, month, now)
		if err != nil {
			return 0, 0, err
		}
		used = d.InexactFloat64()
	default:
		return 0, 0, fmt.Errorf("unknown usage %q", r.Usage)
	}
	if !(limit > 0) {
		return 0, 0, fmt.Errorf("limit %v is not positive", limit)
	}
	return used, limit, nil
}

// record forecasts exhaustion from the history plus this sample and writes
// the sample with its projection. At start (first) the last stored sample
// may be recent: then only the forecast is made, so that restarts do not
// write extra samples.
func (c *Capacity) record(ctx context.Context, r config.Resource, used, limit float64, now time.Time, first bool) (capacityState, error) {
	since := now.Add(-c.History)
	if r.ResetsMonthly {
		if m := store.PeriodStart("monthly", now); m.After(since) {
			since = m
		}
	}
	hist, err := c.Store.CapacityHistory(ctx, r.Resource, r.Service, since)
	if err != nil {
		return capacityState{}, err
	}
	samples := make([]forecast.Sample, 0, len(hist)+1)
	for _, h := range hist {
		samples = append(samples, forecast.Sample{At: h.RecordedAt, Value: h.Used})
	}
	samples = append(samples, forecast.Sample{At: now, Value: used})
	st := capacityState{recorded: now, eta: forecast.Never}
	if e, err := forecast.ExhaustionETA(samples, limit); err == nil {
		st.eta = e.ETA
	}
	if first && len(hist) > 0 && now.Sub(hist[len(hist)-1].RecordedAt) < c.RecordInterval {
		st.recorded = hist[len(hist)-1].RecordedAt
		return st, nil
	}
	var at *time.Time
	if st.eta != forecast.Never {
		t := now.Add(st.eta)
		at = &t
	}
	err = c.Store.RecordCapacity(ctx, store.CapacitySample{Resource: r.Resource, Service: r.Service, Used: used, Max: limit,
		Unit: r.Unit, ProjectedExhaustion: at, RecordedAt: now})
	return st, err
}
