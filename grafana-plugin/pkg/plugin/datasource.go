// Package plugin is the wedsync-scaling-datasource backend: it serves the
// control plane's facts held in PostgreSQL (scaling events, growth phases,
// costs, budgets, alerts, recommendations, load tests, benchmarks, capacity)
// as data frames, scaling events as annotations, a live health summary over
// Grafana Live, and forwards actions to the control-plane API.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// PluginID is plugin.json's id.
const PluginID = "wedsync-scaling-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured instance. It starts whatever its settings
// are: a missing or broken part is reported by each query that needs it and
// by CheckHealth, never by refusing to start.
type Datasource struct {
	uid         string
	settings    models.Settings
	settingsErr error

	store  *store.Store // nil when the database is not configured
	dbErr  error
	api    *controlPlane // nil when the API is not configured
	apiErr error

	mux       *datasource.QueryTypeMux
	resources backend.CallResourceHandler
	now       func() time.Time
	logger    log.Logger
}

// Option changes a datasource at construction (tests).
type Option func(*Datasource)

// WithClock fixes the datasource's idea of now.
func WithClock(now func() time.Time) Option { return func(d *Datasource) { d.now = now } }

// NewDatasource is the instance factory given to datasource.Manage.
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	return New(ctx, s), nil
}

// New builds an instance from its settings.
func New(ctx context.Context, s backend.DataSourceInstanceSettings, opts ...Option) *Datasource {
	d := &Datasource{uid: s.UID, now: time.Now, logger: log.DefaultLogger}
	for _, o := range opts {
		o(d)
	}
	d.settings, d.settingsErr = models.LoadSettings(s)
	if d.settingsErr == nil {
		if dsn, err := d.settings.DSN(); err != nil {
			d.dbErr = err
		} else if st, err := store.Open(ctx, dsn); err != nil {
			d.dbErr = fmt.Errorf("database: %w", err)
		} else {
			d.store = st
		}
		if p := d.settings.APIProblems(); len(p) > 0 {
			d.apiErr = fmt.Errorf("%w: %s", models.ErrNotConfigured, strings.Join(p, "; "))
		} else {
			d.api = newControlPlane(d.settings.APIURL, d.settings.Secrets.APIToken, 15*time.Second)
		}
	}
	d.mux = datasource.NewQueryTypeMux()
	for qt, h := range d.handlers() {
		d.mux.HandleFunc(qt, d.run(h))
	}
	d.mux.HandleFunc("", d.unknownQueryType)
	d.resources = d.resourceHandler()
	return d
}

// Dispose closes the database pool when Grafana replaces the instance.
func (d *Datasource) Dispose() {
	if d.store != nil {
		d.store.Close()
	}
}

// QueryData answers every query by its type; each query's failure is its
// own (per RefID), the others still answer.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return d.mux.QueryData(ctx, req)
}

// query is what a handler receives: the query, its validated time range
// and the instance's clock.
type query struct {
	backend.DataQuery
	From, To time.Time
	pctx     backend.PluginContext
}

type handler func(ctx context.Context, q query) (data.Frames, error)

// badQuery is an error in the query itself: 400, the user's to fix.
type badQuery struct{ msg string }

func (e *badQuery) Error() string { return e.msg }

func badQueryf(format string, args ...any) error { return &badQuery{fmt.Sprintf(format, args...)} }

// decode reads the query's model or fails the query as bad.
func decode(q query, into models.Validator) error {
	if err := models.Decode(q.JSON, into); err != nil {
		return &badQuery{err.Error()}
	}
	return nil
}

// run wraps a handler: one query at a time, each with the configured
// timeout, a panic turned into that query's error.
func (d *Datasource) run(h handler) func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		resp := backend.NewQueryDataResponse()
		for _, q := range req.Queries {
			resp.Responses[q.RefID] = d.runOne(ctx, h, req.PluginContext, q)
		}
		return resp, nil
	}
}

func (d *Datasource) runOne(ctx context.Context, h handler, pctx backend.PluginContext, dq backend.DataQuery) (res backend.DataResponse) {
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("query panicked", "queryType", dq.QueryType, "refId", dq.RefID, "panic", p, "stack", string(debug.Stack()))
			res = backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("%s: internal error (%v); the plugin log has the details", dq.QueryType, p))
		}
	}()
	if d.settingsErr != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, d.settingsErr.Error())
	}
	if dq.TimeRange.To.Before(dq.TimeRange.From) {
		return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("time range: to (%s) is before from (%s)",
			dq.TimeRange.To.UTC().Format(time.RFC3339), dq.TimeRange.From.UTC().Format(time.RFC3339)))
	}
	ctx, cancel := context.WithTimeout(ctx, d.settings.QueryTimeout())
	defer cancel()
	frames, err := h(ctx, query{DataQuery: dq, From: dq.TimeRange.From.UTC(), To: dq.TimeRange.To.UTC(), pctx: pctx})
	if err != nil {
		return d.errorResponse(ctx, dq, err)
	}
	for _, f := range frames {
		f.RefID = dq.RefID
	}
	return backend.DataResponse{Frames: frames}
}

// errorResponse maps an error onto a status and who is to blame: the query
// (400), the configuration (400), the database or API (502/504, downstream),
// or the plugin (500).
func (d *Datasource) errorResponse(ctx context.Context, dq backend.DataQuery, err error) backend.DataResponse {
	msg := fmt.Sprintf("%s: %v", dq.QueryType, err)
	var bq *badQuery
	switch {
	case errors.As(err, &bq), errors.Is(err, store.ErrInvalid):
		return backend.ErrDataResponse(backend.StatusBadRequest, msg)
	case errors.Is(err, models.ErrNotConfigured):
		return backend.ErrDataResponse(backend.StatusBadRequest, msg)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream,
			fmt.Sprintf("%s: timed out after %s", dq.QueryType, d.settings.QueryTimeout()))
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, errAPIUnreachable):
		return backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, msg)
	case errors.Is(err, store.ErrNotFound):
		return backend.ErrDataResponse(backend.StatusNotFound, msg)
	}
	d.logger.Error("query failed", "queryType", dq.QueryType, "refId", dq.RefID, "error", err)
	return backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourceDownstream, msg)
}

func (d *Datasource) unknownQueryType(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		msg := fmt.Sprintf("unknown query type %q: want one of %s", q.QueryType, strings.Join(models.QueryTypes, ", "))
		if q.QueryType == "" {
			msg = "query type is not set: choose one of " + strings.Join(models.QueryTypes, ", ")
		}
		resp.Responses[q.RefID] = backend.ErrDataResponse(backend.StatusBadRequest, msg)
	}
	return resp, nil
}

// db is the store, or why there is none.
func (d *Datasource) db() (*store.Store, error) {
	if d.store == nil {
		return nil, d.dbErr
	}
	return d.store, nil
}

// controlPlane is the API client, or why there is none.
func (d *Datasource) controlPlane() (*controlPlane, error) {
	if d.api == nil {
		return nil, d.apiErr
	}
	return d.api, nil
}

func (d *Datasource) handlers() map[string]handler {
	return map[string]handler{
		models.QueryScalingEvents:       d.scalingEvents,
		models.QueryScalingAnnotations:  d.scalingAnnotations,
		models.QueryScalingEventSummary: d.scalingEventSummary,
		models.QueryGrowthPhases:        d.growthPhases,
		models.QueryGrowthProgress:      d.growthProgress,
		models.QueryCostCurrent:         d.costCurrent,
		models.QueryCostTrend:           d.costTrend,
		models.QueryCostBreakdown:       d.costBreakdown,
		models.QueryCostProjection:      d.costProjection,
		models.QueryBudgets:             d.budgets,
		models.QueryCostAlerts:          d.costAlerts,
		models.QueryRecommendations:     d.recommendations,
		models.QueryLoadTests:           d.loadTests,
		models.QueryLoadTestResults:     d.loadTestResults,
		models.QueryBenchmarks:          d.benchmarks,
		models.QueryCapacityForecast:    d.capacityForecast,
		models.QueryCapacityExhaustion:  d.capacityExhaustion,
		models.QueryHealth:              d.healthQuery,
	}
}

// rangeOr gives the listing bounds: the query's range unless allTime.
func rangeOr(q query, allTime bool) (time.Time, time.Time) {
	if allTime {
		return time.Time{}, time.Time{}
	}
	return q.From, q.To
}
