package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Query types: the queryType field of a query.
const (
	QueryScalingEvents       = "scaling_events"        // table of events
	QueryScalingAnnotations  = "scaling_annotations"   // events as annotations
	QueryScalingEventSummary = "scaling_event_summary" // counts per interval
	QueryGrowthPhases        = "growth_phases"         // the phases, the active one marked
	QueryGrowthProgress      = "growth_progress"       // users and progress through the active phase
	QueryCostCurrent         = "cost_current"          // month to date, last month, projection, budget
	QueryCostTrend           = "cost_trend"            // daily cost over the range
	QueryCostBreakdown       = "cost_breakdown"        // by service, team, feature, resource or source
	QueryCostProjection      = "cost_projection"       // forecast of daily cost, month-end figure
	QueryBudgets             = "budgets"               // budgets with spend and projection
	QueryCostAlerts          = "cost_alerts"           // cost alerts (anomalies, budget thresholds)
	QueryRecommendations     = "recommendations"       // optimization recommendations
	QueryLoadTests           = "load_tests"            // runs with their headline figures
	QueryLoadTestResults     = "load_test_results"     // one run against its baseline
	QueryBenchmarks          = "benchmarks"            // benchmark history
	QueryCapacityForecast    = "capacity_forecast"     // utilization history and 3-month forecast
	QueryCapacityExhaustion  = "capacity_exhaustion"   // when each resource runs out
	QueryHealth              = "health"                // live health summary (Grafana Live)
)

// QueryTypes lists every query type, in the order the query editor shows them.
var QueryTypes = []string{QueryScalingEvents, QueryScalingAnnotations, QueryScalingEventSummary, QueryGrowthPhases,
	QueryGrowthProgress, QueryCostCurrent, QueryCostTrend, QueryCostBreakdown, QueryCostProjection, QueryBudgets,
	QueryCostAlerts, QueryRecommendations, QueryLoadTests, QueryLoadTestResults, QueryBenchmarks,
	QueryCapacityForecast, QueryCapacityExhaustion, QueryHealth}

// Validator is a query model that can check itself.
type Validator interface{ Validate() error }

// Decode reads a query's JSON into its model and validates it. Fields of
// the query that Grafana adds (refId, datasource, intervalMs, …) are
// ignored; a field of the model with the wrong type is an error.
func Decode(raw json.RawMessage, into Validator) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, into); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field := typeErr.Field[strings.LastIndex(typeErr.Field, ".")+1:] // embedded structs prefix their name
			return fmt.Errorf("query JSON: field %s: %s is not a %s", field, typeErr.Value, typeErr.Type)
		}
		return fmt.Errorf("query JSON: %w", err)
	}
	return into.Validate()
}

// Listing is what every list query has: how many rows, and whether the
// dashboard's time range applies.
type Listing struct {
	// Limit is the most rows returned (default 100, at most 1000).
	Limit int `json:"limit,omitempty"`
	// AllTime ignores the dashboard's time range (e.g. every pending
	// recommendation, whenever it was made).
	AllTime bool `json:"allTime,omitempty"`
}

func (l Listing) validate() error {
	if l.Limit < 0 || l.Limit > 1000 {
		return fmt.Errorf("limit %d is not within 0…1000", l.Limit)
	}
	return nil
}

// RowLimit is the limit with its default.
func (l Listing) RowLimit() int {
	if l.Limit == 0 {
		return 100
	}
	return l.Limit
}

var (
	serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$`)
	uuidRE    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// IsUUID says whether s is a UUID in its text form.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %s", field, v, strings.Join(allowed, ", "))
}

func name(field, v string) error {
	if v != "" && !serviceRE.MatchString(v) {
		return fmt.Errorf("%s %q is not a name (letters, digits, _ . : -)", field, v)
	}
	return nil
}

func all(errs ...error) error { return errors.Join(errs...) }

// EventsQuery selects scaling events (scaling_events, scaling_annotations).
type EventsQuery struct {
	Listing
	Service   string `json:"service,omitempty"`
	Status    string `json:"status,omitempty"`    // in_progress, completed, failed, rolled_back
	EventType string `json:"eventType,omitempty"` // scale_up, scale_down, migration, optimization
}

func (q *EventsQuery) Validate() error {
	return all(q.validate(), name("service", q.Service),
		oneOf("status", q.Status, "in_progress", "completed", "failed", "rolled_back"),
		oneOf("eventType", q.EventType, "scale_up", "scale_down", "migration", "optimization"))
}

// EventSummaryQuery counts events per interval (scaling_event_summary).
type EventSummaryQuery struct {
	Service string `json:"service,omitempty"`
	GroupBy string `json:"groupBy,omitempty"` // event_type (default), status, service
}

func (q *EventSummaryQuery) Validate() error {
	return all(name("service", q.Service), oneOf("groupBy", q.GroupBy, "event_type", "status", "service"))
}

// GrowthQuery has no options (growth_phases, growth_progress).
type GrowthQuery struct{}

func (q *GrowthQuery) Validate() error { return nil }

// CostFilter narrows every cost query; empty matches everything.
type CostFilter struct {
	Service  string `json:"service,omitempty"`
	Team     string `json:"team,omitempty"`
	Feature  string `json:"feature,omitempty"`
	Currency string `json:"currency,omitempty"` // ISO 4217, default USD
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (f CostFilter) validate() error {
	var cur error
	if f.Currency != "" && !currencyRE.MatchString(f.Currency) {
		cur = fmt.Errorf("currency %q is not an ISO 4217 code (e.g. USD)", f.Currency)
	}
	return all(name("service", f.Service), name("team", f.Team), name("feature", f.Feature), cur)
}

// CostQuery is cost_current and cost_trend.
type CostQuery struct {
	CostFilter
	// GroupBy splits cost_trend into one series per service, team or
	// feature; empty sums everything.
	GroupBy string `json:"groupBy,omitempty"`
}

func (q *CostQuery) Validate() error {
	return all(q.validate(), oneOf("groupBy", q.GroupBy, "service", "team", "feature"))
}

// CostBreakdownQuery is cost_breakdown.
type CostBreakdownQuery struct {
	CostFilter
	GroupBy  string `json:"groupBy,omitempty"`  // service (default), team, feature, resource, source
	Interval string `json:"interval,omitempty"` // total (default: a table), day or month (time series)
}

func (q *CostBreakdownQuery) Validate() error {
	return all(q.validate(), oneOf("groupBy", q.GroupBy, "service", "team", "feature", "resource", "source"),
		oneOf("interval", q.Interval, "total", "day", "month"))
}

// CostProjectionQuery is cost_projection.
type CostProjectionQuery struct {
	CostFilter
	// HorizonDays is how far past the range's end the forecast runs
	// (default: to the end of the next month, at most 366).
	HorizonDays int `json:"horizonDays,omitempty"`
}

func (q *CostProjectionQuery) Validate() error {
	var h error
	if q.HorizonDays < 0 || q.HorizonDays > 366 {
		h = fmt.Errorf("horizonDays %d is not within 0…366", q.HorizonDays)
	}
	return all(q.validate(), h)
}

// BudgetsQuery is budgets.
type BudgetsQuery struct {
	IncludeInactive bool `json:"includeInactive,omitempty"`
}

func (q *BudgetsQuery) Validate() error { return nil }

// CostAlertsQuery is cost_alerts.
type CostAlertsQuery struct {
	Listing
	Status    string `json:"status,omitempty"` // firing, resolved
	AlertType string `json:"alertType,omitempty"`
	Service   string `json:"service,omitempty"`
}

func (q *CostAlertsQuery) Validate() error {
	return all(q.validate(), name("service", q.Service), oneOf("status", q.Status, "firing", "resolved"),
		oneOf("alertType", q.AlertType, "budget_threshold", "cost_spike", "usage_spike", "projected_overrun",
			"capacity_exhaustion", "users_beyond_phase", "slo_over_budget"))
}

// RecommendationsQuery is recommendations.
type RecommendationsQuery struct {
	Listing
	Status             string `json:"status,omitempty"`
	Service            string `json:"service,omitempty"`
	RecommendationType string `json:"recommendationType,omitempty"`
}

func (q *RecommendationsQuery) Validate() error {
	return all(q.validate(), name("service", q.Service),
		oneOf("status", q.Status, "pending", "approved", "implemented", "rejected", "expired"),
		oneOf("recommendationType", q.RecommendationType, "rightsizing", "idle_resource", "caching", "queue_workers", "database_tier", "reserved_capacity"))
}

// LoadTestsQuery is load_tests.
type LoadTestsQuery struct {
	Listing
	Status   string `json:"status,omitempty"`
	TestType string `json:"testType,omitempty"`
	Name     string `json:"name,omitempty"`
}

func (q *LoadTestsQuery) Validate() error {
	return all(q.validate(), name("name", q.Name),
		oneOf("status", q.Status, "pending", "running", "completed", "failed", "cancelled"),
		oneOf("testType", q.TestType, "baseline", "stress", "spike", "volume", "endurance", "custom"))
}

// LoadTestResultsQuery is load_test_results: one run (by id), or the newest
// completed run of a name (or of all) in the range.
type LoadTestResultsQuery struct {
	LoadTestID string `json:"loadTestId,omitempty"`
	Name       string `json:"name,omitempty"`
}

func (q *LoadTestResultsQuery) Validate() error {
	var id error
	if q.LoadTestID != "" && !IsUUID(q.LoadTestID) {
		id = fmt.Errorf("loadTestId %q is not a UUID", q.LoadTestID)
	}
	return all(id, name("name", q.Name))
}

// BenchmarksQuery is benchmarks.
type BenchmarksQuery struct {
	Listing
	Name string `json:"name,omitempty"`
}

func (q *BenchmarksQuery) Validate() error { return all(q.validate(), name("name", q.Name)) }

// CapacityQuery is capacity_forecast and capacity_exhaustion.
type CapacityQuery struct {
	Resource string `json:"resource,omitempty"`
	Service  string `json:"service,omitempty"`
	// HorizonDays is how far the forecast runs past the range's end
	// (default 90: the spec's 3 months; at most 366).
	HorizonDays int `json:"horizonDays,omitempty"`
}

func (q *CapacityQuery) Validate() error {
	var h error
	if q.HorizonDays < 0 || q.HorizonDays > 366 {
		h = fmt.Errorf("horizonDays %d is not within 0…366", q.HorizonDays)
	}
	return all(h, name("service", q.Service), oneOf("resource", q.Resource, "database_connections", "database_storage",
		"storage", "bandwidth", "compute", "memory", "replicas", "api_requests", "users"))
}

// Horizon is HorizonDays with its default.
func (q *CapacityQuery) Horizon() int {
	if q.HorizonDays == 0 {
		return 90
	}
	return q.HorizonDays
}

// HealthQuery is health: the live summary.
type HealthQuery struct{}

func (q *HealthQuery) Validate() error { return nil }
