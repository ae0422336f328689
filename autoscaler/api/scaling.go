package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
)

// eventView is an event as the API shows it.
type eventView struct {
	ID                string     `json:"id"`
	Type              string     `json:"event_type"`
	Service           string     `json:"service_name"`
	Status            string     `json:"status"`
	TriggerReason     string     `json:"trigger_reason"`
	TriggerMetrics    any        `json:"trigger_metrics,omitempty"`
	Before            any        `json:"before_config"`
	After             any        `json:"after_config"`
	InitiatedBy       string     `json:"initiated_by"`
	InitiatedUserID   string     `json:"initiated_user_id,omitempty"`
	CostImpactMonthly *string    `json:"cost_impact_monthly"` // decimal as a string: never a float
	ErrorMessage      string     `json:"error_message,omitempty"`
	RollbackOf        string     `json:"rollback_of,omitempty"`
	RolledBackBy      string     `json:"rolled_back_by,omitempty"`
	RetryOf           string     `json:"retry_of,omitempty"`
	StartedAt         *time.Time `json:"started_at,omitempty"`
	CompletedAt       *time.Time `json:"completed_at,omitempty"`
	DurationMS        *int64     `json:"duration_ms,omitempty"`
	DryRun            bool       `json:"dry_run,omitempty"`
}

func viewEvent(e store.Event, full bool) eventView {
	v := eventView{ID: e.ID, Type: string(e.Type), Service: e.Service, Status: string(e.Status), TriggerReason: e.TriggerReason,
		Before: rawJSON(e.Before), After: rawJSON(e.After), InitiatedBy: e.InitiatedBy, InitiatedUserID: e.InitiatedUserID,
		ErrorMessage: e.ErrorMessage, RollbackOf: e.RollbackOf, RolledBackBy: e.RolledBackBy, RetryOf: e.RetryOf, CompletedAt: e.CompletedAt,
		DurationMS: e.DurationMS}
	if !e.StartedAt.IsZero() {
		v.StartedAt = &e.StartedAt
	}
	if e.CostImpactMonthly.Valid {
		c := e.CostImpactMonthly.Decimal.StringFixed(2)
		v.CostImpactMonthly = &c
	}
	if full {
		v.TriggerMetrics = rawJSON(e.TriggerMetrics)
	}
	if e.ID == "" {
		v.DryRun = true
	}
	return v
}

func (s *Server) listEvents(r *request) (int, any, error) {
	q := r.URL.Query()
	from, to, err := r.timeRange(s.cfg.Now(), 30*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	limit, err := r.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	status, err := r.oneOf("status", "in_progress", "completed", "failed", "rolled_back")
	if err != nil {
		return 0, nil, err
	}
	typ, err := r.oneOf("event_type", "scale_up", "scale_down", "migration", "optimization")
	if err != nil {
		return 0, nil, err
	}
	after, err := r.cursor()
	if err != nil {
		return 0, nil, err
	}
	evs, err := s.cfg.Store.ListEvents(r.ctx, store.EventFilter{Service: q.Get("service"), Status: store.EventStatus(status),
		Type: store.EventType(typ), From: from, To: to, Limit: limit, After: after})
	if err != nil {
		return 0, nil, err
	}
	out := page[eventView]{Items: make([]eventView, len(evs))}
	for i, e := range evs {
		out.Items[i] = viewEvent(e, false)
	}
	if len(evs) == limit {
		out.NextCursor = eventCursor(evs[len(evs)-1])
	}
	return http.StatusOK, out, nil
}

func (s *Server) getEvent(r *request) (int, any, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return 0, nil, errNotFound("scaling event %s: not found", id)
	}
	e, err := s.cfg.Store.GetEvent(r.ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewEvent(e, true), nil
}

// undoRequest is the optional body of rollback and retry.
type undoRequest struct {
	DryRun bool `json:"dry_run"`
}

// rollback undoes a completed or failed event as a new event.
func (s *Server) rollback(r *request) (int, any, error) {
	return s.undo(r, s.cfg.Scaler.Rollback)
}

// retry re-applies what a failed event meant to do, as a new event.
func (s *Server) retry(r *request) (int, any, error) {
	return s.undo(r, s.cfg.Scaler.Retry)
}

// undo is rollback and retry: the same body, statuses and errors (a
// ConflictError, an event in the wrong state, is a 409 with its state).
func (s *Server) undo(r *request, act func(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error)) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	var req undoRequest
	if len(r.body) > 0 {
		if err := r.decode(&req); err != nil {
			return 0, nil, err
		}
	}
	if !isUUID(id) {
		return 0, nil, errNotFound("scaling event %s: not found", id)
	}
	ev, err := act(r.ctx, id, r.actor.Name, req.DryRun)
	if err != nil {
		return 0, nil, err
	}
	if req.DryRun {
		return http.StatusOK, viewEvent(ev, true), nil
	}
	return http.StatusAccepted, viewEvent(ev, true), nil
}

type triggerRequest struct {
	// Replicas or Tier: the state wanted; or Action: what the metrics call
	// for in that direction.
	Replicas *int   `json:"replicas"`
	Tier     string `json:"tier"`
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	DryRun   bool   `json:"dry_run"`
}

// validate checks what does not need the policy; the scaler checks the
// target against the bounds in force (an out-of-bounds target is refused,
// never clamped).
func (req triggerRequest) validate() error {
	if e := checkLen("reason", req.Reason, maxReasonLen); e != nil {
		return e
	}
	if e := checkLen("tier", req.Tier, maxNameLen); e != nil {
		return e
	}
	return nil
}

func (s *Server) trigger(r *request) (int, any, error) {
	svc := r.PathValue("service")
	r.resourceID = svc
	if !s.cfg.Scaler.Known(svc) {
		return 0, nil, errNotFound("service %q is not in the policy file", svc)
	}
	var req triggerRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := req.validate(); err != nil {
		return 0, nil, err
	}
	t := scaler.Trigger{Reason: req.Reason, User: r.actor.Name, DryRun: req.DryRun}
	set := 0
	if req.Replicas != nil {
		set++
		if *req.Replicas < 0 {
			return 0, nil, errBadRequest("replicas", "replicas: must not be negative, got %d", *req.Replicas)
		}
		t.Target = &actuator.State{Replicas: *req.Replicas}
	}
	if req.Tier != "" {
		set++
		t.Target = &actuator.State{Tier: req.Tier}
	}
	if req.Action != "" {
		set++
		if req.Action != "scale_up" && req.Action != "scale_down" {
			return 0, nil, errBadRequest("action", "action: %q is not scale_up or scale_down", req.Action)
		}
		t.Action = store.EventType(req.Action)
	}
	if set != 1 {
		return 0, nil, errBadRequest("", "give exactly one of replicas, tier or action")
	}
	ev, err := s.cfg.Scaler.Trigger(r.ctx, svc, t)
	if errors.Is(err, scaler.ErrBadTarget) {
		field := "replicas"
		if req.Tier != "" {
			field = "tier"
		}
		return 0, nil, errBadRequest(field, "%s: %v", field, err)
	}
	if err != nil {
		return 0, nil, err
	}
	if req.DryRun {
		return http.StatusOK, viewEvent(ev, true), nil
	}
	return http.StatusAccepted, viewEvent(ev, true), nil
}

type phaseView struct {
	ID                    string     `json:"id"`
	Name                  string     `json:"phase_name"`
	Order                 int        `json:"phase_order"`
	MinUsers              int        `json:"min_users"`
	MaxUsers              *int       `json:"max_users"`
	Active                bool       `json:"is_active"`
	AutoTransitionEnabled bool       `json:"auto_transition_enabled"`
	ScalingConfig         any        `json:"scaling_config"`
	PerformanceTargets    any        `json:"performance_targets"`
	Description           string     `json:"description"`
	ActivatedAt           *time.Time `json:"activated_at,omitempty"`
}

func viewPhase(p store.Phase) phaseView {
	return phaseView{ID: p.ID, Name: p.Name, Order: p.Order, MinUsers: p.MinUsers, MaxUsers: p.MaxUsers, Active: p.Active,
		AutoTransitionEnabled: p.AutoTransitionEnabled, ScalingConfig: rawJSON(p.ScalingConfig),
		PerformanceTargets: rawJSON(p.PerformanceTargets), Description: p.Description, ActivatedAt: p.ActivatedAt}
}

func (s *Server) listPhases(r *request) (int, any, error) {
	ps, err := s.cfg.Store.ListPhases(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	out := page[phaseView]{Items: make([]phaseView, len(ps))}
	for i, p := range ps {
		out.Items[i] = viewPhase(p)
	}
	return http.StatusOK, out, nil
}

// health reports whether the loop can work: its dependencies, unfinished
// actions, and what is asking for action now.
func (s *Server) health(r *request) (int, any, error) {
	checks := map[string]string{"database": "ok", "prometheus": "ok"}
	status := "ok"
	if err := s.cfg.Store.Ping(r.ctx); err != nil {
		// The driver's text (addresses, SQLSTATEs) goes to the log only.
		s.cfg.Logger.Warn("health: database ping", "err", err)
		checks["database"], status = "unreachable", "down"
	}
	if p, err := s.prometheus(); err != nil {
		checks["prometheus"], status = err.Error(), "degraded"
	} else if _, _, _, err := p.Query(r.ctx, "vector(1)", s.cfg.Now()); err != nil {
		checks["prometheus"], status = err.Error(), "degraded"
	}
	out := map[string]any{"status": status, "checks": checks, "time": s.cfg.Now().UTC()}
	if checks["database"] == "ok" {
		unfinished, err := s.cfg.Store.UnfinishedEvents(r.ctx)
		if err != nil {
			return 0, nil, err
		}
		alerts, err := s.cfg.Store.FiringAlerts(r.ctx, "", s.cfg.Now().Add(-24*time.Hour))
		if err != nil {
			return 0, nil, err
		}
		firing := map[string][]string{}
		for _, a := range alerts {
			firing[a.Service] = append(firing[a.Service], a.Alertname)
		}
		out["unfinished_events"] = len(unfinished)
		out["firing_alerts"] = firing
	}
	return http.StatusOK, out, nil
}

// The PerformanceMetrics of the spec, per service, from the normalized
// series of rules/.
type serviceMetrics struct {
	P95Ms             *float64 `json:"api_p95_ms,omitempty"`
	P99Ms             *float64 `json:"api_p99_ms,omitempty"`
	ErrorRate         *float64 `json:"error_rate,omitempty"`
	RequestsPerMinute *float64 `json:"requests_per_minute,omitempty"`
	CPUUtilization    *float64 `json:"cpu_utilization,omitempty"`
	MemoryUtilization *float64 `json:"memory_utilization,omitempty"`
	DBCPUUtilization  *float64 `json:"db_cpu_utilization,omitempty"`
	DBConnections     *float64 `json:"db_connections_ratio,omitempty"`
	Replicas          *float64 `json:"replicas,omitempty"`
	HealthScore       float64  `json:"health_score"`
}

// metricQueries maps the fields onto PromQL over the normalized series.
var metricQueries = []metricQuery{
	{"api_p95_ms", "max", "service:http_request_duration_seconds:p95", 1000, func(m *serviceMetrics, v float64) { m.P95Ms = &v }},
	{"api_p99_ms", "max", "service:http_request_duration_seconds:p99", 1000, func(m *serviceMetrics, v float64) { m.P99Ms = &v }},
	{"error_rate", "max", "service:http_errors:ratio_rate", 1, func(m *serviceMetrics, v float64) { m.ErrorRate = &v }},
	{"requests_per_minute", "sum", "service:http_requests:rate", 60, func(m *serviceMetrics, v float64) { m.RequestsPerMinute = &v }},
	{"cpu_utilization", "max", "service:cpu_utilization:ratio", 1, func(m *serviceMetrics, v float64) { m.CPUUtilization = &v }},
	{"memory_utilization", "max", "service:memory_utilization:ratio", 1, func(m *serviceMetrics, v float64) { m.MemoryUtilization = &v }},
	{"db_cpu_utilization", "max", "db:cpu_utilization:ratio", 1, func(m *serviceMetrics, v float64) { m.DBCPUUtilization = &v }},
	{"db_connections_ratio", "max", "db:connections:ratio", 1, func(m *serviceMetrics, v float64) { m.DBConnections = &v }},
	{"replicas", "max", "service:replicas:count", 1, func(m *serviceMetrics, v float64) { m.Replicas = &v }},
}

type metricQuery struct {
	name   string
	agg    string // over the sources of a service
	series string
	scale  float64
	set    func(m *serviceMetrics, v float64)
}

// promql is the query, for one service or (service "") all of them.
func (mq metricQuery) promql(service string) string {
	sel := ""
	if service != "" {
		sel = fmt.Sprintf("{service=%q}", service)
	}
	q := fmt.Sprintf("%s by (service) (%s%s)", mq.agg, mq.series, sel)
	if mq.scale != 1 {
		q += fmt.Sprintf(" * %g", mq.scale)
	}
	return q
}

// targets are the thresholds the health score measures against: the
// active growth phase's performance targets where it has them.
type targets struct {
	P95Ms     float64 `json:"api_p95_ms"`
	P99Ms     float64 `json:"api_p99_ms"`
	ErrorRate float64 `json:"error_rate"`
}

func (s *Server) scalingMetrics(r *request) (int, any, error) {
	p, err := s.prometheus()
	if err != nil {
		return 0, nil, err
	}
	now := s.cfg.Now()
	services := map[string]*serviceMetrics{}
	for _, mq := range metricQueries {
		vals, err := byService(r.ctx, p, mq.promql(""), now)
		if err != nil {
			return 0, nil, err
		}
		for svc, v := range vals {
			if services[svc] == nil {
				services[svc] = &serviceMetrics{}
			}
			mq.set(services[svc], v)
		}
	}
	tg := targets{P95Ms: 2000, P99Ms: 5000, ErrorRate: 0.01}
	if phases, err := s.cfg.Store.ListPhases(r.ctx); err == nil {
		for _, ph := range phases {
			if ph.Active {
				_ = jsonUnmarshal(ph.PerformanceTargets, &tg)
			}
		}
	}
	overall := 100.0
	for _, m := range services {
		m.HealthScore = score(m, tg)
		overall = math.Min(overall, m.HealthScore)
	}
	return http.StatusOK, map[string]any{"timestamp": now.UTC(), "services": services, "targets": tg,
		"health_score": overall}, nil
}

// score is 100 while every measured signal is at most half its threshold,
// falling linearly to 0 at the threshold; a service is as healthy as its
// worst signal, and the system as its worst service.
func score(m *serviceMetrics, tg targets) float64 {
	worst := 100.0
	part := func(v *float64, threshold float64) {
		if v == nil || threshold <= 0 {
			return
		}
		f := 100 * (1 - math.Max(0, *v/threshold-0.5)/0.5)
		worst = math.Min(worst, math.Max(0, f))
	}
	part(m.P95Ms, tg.P95Ms)
	part(m.P99Ms, tg.P99Ms)
	part(m.ErrorRate, tg.ErrorRate)
	part(m.CPUUtilization, 0.8)
	part(m.MemoryUtilization, 0.9)
	part(m.DBCPUUtilization, 0.7)
	part(m.DBConnections, 0.8)
	return math.Round(worst*10) / 10
}

type seriesView struct {
	Service string       `json:"service"`
	Points  [][2]float64 `json:"points"` // [unix seconds, value]
}

func (s *Server) metricsHistory(r *request) (int, any, error) {
	name := r.URL.Query().Get("metric")
	svc := r.URL.Query().Get("service")
	var query string
	var names []string
	for _, mq := range metricQueries {
		names = append(names, mq.name)
		if mq.name == name {
			query = mq.promql(svc)
		}
	}
	if query == "" {
		return 0, nil, errBadRequest("metric", "metric: %q is not one of %s", name, strings.Join(names, ", "))
	}
	if svc != "" && !serviceNameRE.MatchString(svc) {
		return 0, nil, errBadRequest("service", "service: %q is not a service name", svc)
	}
	from, to, err := r.timeRange(s.cfg.Now(), time.Hour)
	if err != nil {
		return 0, nil, err
	}
	step := to.Sub(from) / 240
	if v := r.URL.Query().Get("step"); v != "" {
		d, err := config.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, nil, errBadRequest("step", "step: %q is not a positive duration (e.g. 30s, 5m)", v)
		}
		step = d.D()
	}
	step = max(step, time.Second)
	if to.Sub(from)/step > 11000 {
		return 0, nil, errBadRequest("step", "step: %s gives more than 11,000 points over the range", step)
	}
	p, err := s.prometheus()
	if err != nil {
		return 0, nil, err
	}
	v, _, _, err := p.QueryRange(r.ctx, query, promv1.Range{Start: from, End: to, Step: step})
	if err != nil {
		return 0, nil, &apiError{Status: 503, Code: "unavailable", Message: fmt.Sprintf("Prometheus: %v", err)}
	}
	out := page[seriesView]{Items: []seriesView{}}
	if m, ok := v.(model.Matrix); ok {
		for _, ss := range m {
			sv := seriesView{Service: string(ss.Metric["service"])}
			for _, pt := range ss.Values {
				if f := float64(pt.Value); !math.IsNaN(f) {
					sv.Points = append(sv.Points, [2]float64{float64(pt.Timestamp.Unix()), f})
				}
			}
			out.Items = append(out.Items, sv)
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Service < out.Items[j].Service })
	return http.StatusOK, map[string]any{"metric": name, "from": from.UTC(), "to": to.UTC(), "step_seconds": step.Seconds(), "series": out.Items}, nil
}
