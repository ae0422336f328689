// Package config is wedsync-exporter's configuration file: billing
// sources and how often they are read, attribution rules, the application
// database with its user-count queries, capacity resources and their plan
// limits, and the tuning of the metrics. It is decoded strictly (unknown
// fields are errors), defaulted, then validated with every problem named
// by its field path. Secrets are only ever references to files or
// environment variables.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/projection"
	"github.com/wedsync/scaling/exporter/attribution"
	"github.com/wedsync/scaling/exporter/billing"
)

// Duration is a Prometheus-style duration.
type Duration = config.Duration

// File is a whole exporter configuration.
type File struct {
	// Refresh holds every source's defaults.
	Refresh     Refresh     `yaml:"refresh,omitempty"`
	Sources     []Source    `yaml:"sources"`
	Attribution Attribution `yaml:"attribution,omitempty"`
	// ApplicationDatabase is WedSync's own database (Supabase): user
	// counts, connections and size are read from it.
	ApplicationDatabase *AppDatabase `yaml:"application_database,omitempty"`
	Users               *Users       `yaml:"users,omitempty"`
	Capacity            Capacity     `yaml:"capacity,omitempty"`
	Metrics             Metrics      `yaml:"metrics,omitempty"`
}

// Refresh says how often and how patiently a source is read. Billing APIs
// are slow and metered: the defaults read each once an hour.
type Refresh struct {
	Interval Duration `yaml:"interval,omitempty"` // default 1h
	Timeout  Duration `yaml:"timeout,omitempty"`  // default 2m
	// Lookback: every refresh re-reads this many days back, so that late
	// and revised billing replaces what was read before (default 3d).
	Lookback Duration `yaml:"lookback,omitempty"`
	// Backfill: the first refresh after start reads this far back
	// (default 35d: last month whole).
	Backfill Duration `yaml:"backfill,omitempty"`
	Backoff  Backoff  `yaml:"backoff,omitempty"`
}

// Backoff after a failed refresh: Initial, doubling up to Max; a 429's
// Retry-After is honoured when longer.
type Backoff struct {
	Initial Duration `yaml:"initial,omitempty"` // default 1m
	Max     Duration `yaml:"max,omitempty"`     // default 1h
}

// Source is one billing source. Type selects the block that configures it.
type Source struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // openai, vercel, twilio, supabase, focus, manual
	// Service names the source's lines where the source has no better
	// name (default: the type).
	Service string `yaml:"service,omitempty"`
	// Refresh overrides the defaults field by field.
	Refresh Refresh `yaml:"refresh,omitempty"`

	OpenAI   *billing.OpenAIConfig     `yaml:"openai,omitempty"`
	Vercel   *billing.VercelConfig     `yaml:"vercel,omitempty"`
	Twilio   *billing.TwilioConfig     `yaml:"twilio,omitempty"`
	Supabase *billing.SupabaseConfig   `yaml:"supabase,omitempty"`
	Focus    *billing.FocusFilesConfig `yaml:"focus,omitempty"`
	Manual   *billing.ManualConfig     `yaml:"manual,omitempty"`
}

// Types are the source types.
var Types = []string{"openai", "vercel", "twilio", "supabase", "focus", "manual"}

// Attribution holds the rules that map cost to teams and features.
type Attribution struct {
	Rules attribution.Rules `yaml:"rules,omitempty"`
}

// AppDatabase is how the application database is reached.
type AppDatabase struct {
	URL config.Secret `yaml:"url"`
	// Timeout of one statement (default 10s).
	Timeout Duration `yaml:"timeout,omitempty"`
}

// Users are the SQL queries that count users; each returns one number.
type Users struct {
	TotalQuery  string `yaml:"total_query"`
	ActiveQuery string `yaml:"active_query,omitempty"`
}

// Capacity lists the resources whose use is measured against a limit.
type Capacity struct {
	// Service is the service_name of capacity_metrics rows (default
	// "database").
	Service string `yaml:"service,omitempty"`
	// RecordInterval: how often a sample is written to capacity_metrics
	// for the exhaustion forecast (default 1h).
	RecordInterval Duration `yaml:"record_interval,omitempty"`
	// History: how far back the forecast looks (default 30d).
	History   Duration   `yaml:"history,omitempty"`
	Resources []Resource `yaml:"resources,omitempty"`
}

// Resource is one capacity resource.
type Resource struct {
	// Resource is capacity_metrics' resource_type: database_connections,
	// database_storage, storage, bandwidth, compute, memory, replicas,
	// api_requests or users.
	Resource string `yaml:"resource"`
	Service  string `yaml:"service,omitempty"`
	// Usage says where the use is read: connections (client connections
	// of the application database), database_size (its size in bytes),
	// query (Query's number), cost_usage (the month's usage quantity of a
	// billed resource, e.g. Vercel's data transfer).
	Usage     string     `yaml:"usage"`
	Query     string     `yaml:"query,omitempty"`
	CostUsage *CostUsage `yaml:"cost_usage,omitempty"`
	Unit      string     `yaml:"unit"`
	// Limit is the plan's limit in Unit. For connections it defaults to
	// the server's max_connections less the superuser reserve.
	Limit *float64 `yaml:"limit,omitempty"`
	// Resets monthly (bandwidth quotas): the forecast only looks at the
	// current month.
	ResetsMonthly bool `yaml:"resets_monthly,omitempty"`
}

// CostUsage names a billed resource whose usage quantity is a capacity.
type CostUsage struct {
	Service  string `yaml:"service"`
	Resource string `yaml:"resource"`
}

// Metrics tune what is computed for Prometheus.
type Metrics struct {
	// SnapshotInterval: how often capacity, users, growth phase and custom
	// metrics are re-read (cost metrics are rebuilt after every refresh
	// and at midnight UTC). Default 30s.
	SnapshotInterval Duration `yaml:"snapshot_interval,omitempty"`
	// BaselineDays: the days before yesterday averaged into the baseline
	// (default 7).
	BaselineDays int `yaml:"baseline_days,omitempty"`
	// ForecastHistory and Season are no longer settings: the history and
	// season of every cost projection are core/projection's, so that the
	// exporter, the admin API, the budget guard and Grafana show the same
	// month-end. They are still decoded only to refuse them with that
	// reason rather than as unknown fields.
	ForecastHistory Duration `yaml:"forecast_history,omitempty"`
	Season          int      `yaml:"season,omitempty"`
	// CustomMaxAge: performance_metrics rows older than this are not
	// exported (default 1h); CustomMaxSeries bounds them (default 1000).
	CustomMaxAge    Duration `yaml:"custom_max_age,omitempty"`
	CustomMaxSeries int      `yaml:"custom_max_series,omitempty"`
}

// Resources capacity_metrics accepts.
var ResourceTypes = []string{"database_connections", "database_storage", "storage", "bandwidth", "compute", "memory", "replicas", "api_requests", "users"}

// Usages are the ways a resource's use is read.
var Usages = []string{"connections", "database_size", "query", "cost_usage"}

// Load reads, defaults and validates a configuration file.
func Load(path string) (*File, error) {
	var f File
	if err := config.LoadFile(path, &f); err != nil {
		return nil, err
	}
	f.ApplyDefaults()
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Parse decodes, defaults and validates a configuration.
func Parse(data []byte) (*File, error) {
	var f File
	if err := config.DecodeStrict(data, &f); err != nil {
		return nil, err
	}
	f.ApplyDefaults()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func or(d, def Duration) Duration {
	if d == 0 {
		return def
	}
	return d
}

// ApplyDefaults fills every unset field; a source's refresh takes the
// file's for every field it leaves out.
func (f *File) ApplyDefaults() {
	r := &f.Refresh
	r.Interval = or(r.Interval, Duration(time.Hour))
	r.Timeout = or(r.Timeout, Duration(2*time.Minute))
	r.Lookback = or(r.Lookback, Duration(3*24*time.Hour))
	r.Backfill = or(r.Backfill, Duration(35*24*time.Hour))
	r.Backoff.Initial = or(r.Backoff.Initial, Duration(time.Minute))
	r.Backoff.Max = or(r.Backoff.Max, Duration(time.Hour))
	for i := range f.Sources {
		s := &f.Sources[i]
		if s.Service == "" {
			s.Service = s.Type
		}
		sr := &s.Refresh
		sr.Interval = or(sr.Interval, r.Interval)
		sr.Timeout = or(sr.Timeout, r.Timeout)
		sr.Lookback = or(sr.Lookback, r.Lookback)
		sr.Backfill = or(sr.Backfill, r.Backfill)
		sr.Backoff.Initial = or(sr.Backoff.Initial, r.Backoff.Initial)
		sr.Backoff.Max = or(sr.Backoff.Max, r.Backoff.Max)
	}
	if f.ApplicationDatabase != nil {
		f.ApplicationDatabase.Timeout = or(f.ApplicationDatabase.Timeout, Duration(10*time.Second))
	}
	c := &f.Capacity
	if c.Service == "" {
		c.Service = "database"
	}
	c.RecordInterval = or(c.RecordInterval, Duration(time.Hour))
	c.History = or(c.History, Duration(30*24*time.Hour))
	for i := range c.Resources {
		if c.Resources[i].Service == "" {
			c.Resources[i].Service = c.Service
		}
	}
	m := &f.Metrics
	m.SnapshotInterval = or(m.SnapshotInterval, Duration(30*time.Second))
	if m.BaselineDays == 0 {
		m.BaselineDays = 7
	}
	m.CustomMaxAge = or(m.CustomMaxAge, Duration(time.Hour))
	if m.CustomMaxSeries == 0 {
		m.CustomMaxSeries = 1000
	}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Validate returns every problem at once, each naming its field.
func (f *File) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	f.Refresh.validate("refresh", add)
	if len(f.Sources) == 0 {
		add("sources: at least one source is required")
	}
	seen := map[string]bool{}
	for i, s := range f.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if !nameRE.MatchString(s.Name) {
			add("%s.name: %q must match %s", p, s.Name, nameRE)
		} else if seen[s.Name] {
			add("%s.name: %q used twice", p, s.Name)
		}
		seen[s.Name] = true
		if s.Service == "" || strings.TrimSpace(s.Service) != s.Service {
			add("%s.service: must not be empty or padded", p)
		}
		s.Refresh.validate(p+".refresh", add)
		blocks := map[string]bool{"openai": s.OpenAI != nil, "vercel": s.Vercel != nil, "twilio": s.Twilio != nil,
			"supabase": s.Supabase != nil, "focus": s.Focus != nil, "manual": s.Manual != nil}
		if !contains(Types, s.Type) {
			add("%s.type: %q is not one of %s", p, s.Type, strings.Join(Types, ", "))
		} else if !blocks[s.Type] {
			add("%s.%s: required for type %s", p, s.Type, s.Type)
		}
		for _, t := range Types {
			if blocks[t] && t != s.Type {
				add("%s.%s: does not belong to a source of type %q", p, t, s.Type)
			}
		}
		switch {
		case s.Type == "openai" && s.OpenAI != nil:
			errs = append(errs, s.OpenAI.Validate(p+".openai")...)
		case s.Type == "vercel" && s.Vercel != nil:
			errs = append(errs, s.Vercel.Validate(p+".vercel")...)
		case s.Type == "twilio" && s.Twilio != nil:
			errs = append(errs, s.Twilio.Validate(p+".twilio")...)
		case s.Type == "supabase" && s.Supabase != nil:
			errs = append(errs, s.Supabase.Validate(p+".supabase")...)
		case s.Type == "focus" && s.Focus != nil:
			errs = append(errs, s.Focus.Validate(p+".focus")...)
		case s.Type == "manual" && s.Manual != nil:
			errs = append(errs, s.Manual.Validate(p+".manual")...)
		}
	}
	errs = append(errs, f.Attribution.Rules.Validate("attribution.rules")...)
	if db := f.ApplicationDatabase; db != nil {
		if db.URL.IsZero() {
			add("application_database.url: required (file or env; never inline)")
		}
		if err := db.URL.Validate("application_database.url"); err != nil {
			errs = append(errs, err)
		}
		if db.Timeout.D() < 100*time.Millisecond {
			add("application_database.timeout: must be at least 100ms, got %s", db.Timeout)
		}
	}
	needDB := func(path string) {
		if f.ApplicationDatabase == nil {
			add("%s: needs application_database", path)
		}
	}
	if u := f.Users; u != nil {
		needDB("users")
		if strings.TrimSpace(u.TotalQuery) == "" {
			add("users.total_query: required")
		}
	}
	f.Capacity.validate(add, needDB)
	m := f.Metrics
	if m.SnapshotInterval.D() < time.Second {
		add("metrics.snapshot_interval: must be at least 1s, got %s", m.SnapshotInterval)
	}
	if m.BaselineDays < 1 || m.BaselineDays > 90 {
		add("metrics.baseline_days: must be 1…90, got %d", m.BaselineDays)
	}
	if m.ForecastHistory != 0 {
		add("metrics.forecast_history: no longer a setting: every projection is fitted on core/projection's %d days, so all screens agree; remove it", projection.HistoryDays)
	}
	if m.Season != 0 {
		add("metrics.season: no longer a setting: every projection uses core/projection's %d-day season, so all screens agree; remove it", projection.SeasonDays)
	}
	if m.CustomMaxAge <= 0 {
		add("metrics.custom_max_age: must be positive, got %s", m.CustomMaxAge)
	}
	if m.CustomMaxSeries < 1 {
		add("metrics.custom_max_series: must be positive, got %d", m.CustomMaxSeries)
	}
	return errors.Join(errs...)
}

func (r Refresh) validate(p string, add func(string, ...any)) {
	if r.Interval.D() < time.Minute {
		add("%s.interval: must be at least 1m (billing APIs are metered), got %s", p, r.Interval)
	}
	if r.Timeout <= 0 || r.Timeout > r.Interval {
		add("%s.timeout: must be positive and at most the interval (%s), got %s", p, r.Interval, r.Timeout)
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"lookback", r.Lookback}, {"backfill", r.Backfill}} {
		if d.v.D() < 24*time.Hour || d.v.D()%(24*time.Hour) != 0 || d.v.D() > 400*24*time.Hour {
			add("%s.%s: must be whole days, 1d…400d, got %s", p, d.name, d.v)
		}
	}
	if r.Backfill < r.Lookback {
		add("%s.backfill: must not be shorter than lookback (%s), got %s", p, r.Lookback, r.Backfill)
	}
	if r.Backoff.Initial <= 0 || r.Backoff.Max < r.Backoff.Initial {
		add("%s.backoff: initial must be positive and max at least initial, got %s and %s", p, r.Backoff.Initial, r.Backoff.Max)
	}
}

func (c Capacity) validate(add func(string, ...any), needDB func(string)) {
	if c.RecordInterval.D() < time.Minute {
		add("capacity.record_interval: must be at least 1m, got %s", c.RecordInterval)
	}
	if c.History.D() < time.Hour {
		add("capacity.history: must be at least 1h, got %s", c.History)
	}
	seen := map[string]bool{}
	for i, r := range c.Resources {
		p := fmt.Sprintf("capacity.resources[%d]", i)
		if !contains(ResourceTypes, r.Resource) {
			add("%s.resource: %q is not one of %s", p, r.Resource, strings.Join(ResourceTypes, ", "))
		}
		key := r.Resource + "/" + r.Service
		if seen[key] {
			add("%s: %s of service %s listed twice", p, r.Resource, r.Service)
		}
		seen[key] = true
		if r.Unit == "" {
			add("%s.unit: required (e.g. bytes, connections, GB)", p)
		}
		switch r.Usage {
		case "connections", "database_size":
			needDB(p + ".usage")
		case "query":
			needDB(p + ".usage")
			if strings.TrimSpace(r.Query) == "" {
				add("%s.query: required for usage query", p)
			}
		case "cost_usage":
			if r.CostUsage == nil || r.CostUsage.Service == "" || r.CostUsage.Resource == "" {
				add("%s.cost_usage: service and resource are required for usage cost_usage", p)
			}
		default:
			add("%s.usage: %q is not one of %s", p, r.Usage, strings.Join(Usages, ", "))
		}
		if r.Query != "" && r.Usage != "query" {
			add("%s.query: only for usage query", p)
		}
		if r.CostUsage != nil && r.Usage != "cost_usage" {
			add("%s.cost_usage: only for usage cost_usage", p)
		}
		if r.Limit == nil && r.Usage != "connections" {
			add("%s.limit: required (the plan's limit in %s)", p, r.Unit)
		}
		if r.Limit != nil && !(*r.Limit > 0) {
			add("%s.limit: must be positive, got %v", p, *r.Limit)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
