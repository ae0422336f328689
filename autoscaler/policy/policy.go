// Package policy is the autoscaler's policy file: for every service, how it
// is scaled (horizontally in replicas or vertically along a tier ladder),
// whether it is tracked continuously or only on alerts, within which bounds
// (and scheduled windows that raise them), towards which metric targets,
// ahead of which forecasts, how fast, and through which actuator.
package policy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/schedule"
	"github.com/wedsync/scaling/core/config"
)

// Mode is how a service scales.
type Mode string

const (
	Horizontal Mode = "horizontal"
	Vertical   Mode = "vertical"
)

// Control is when the scaler may act on a service.
type Control string

const (
	// Level: every sync period the service's target is tracked (HPA
	// semantics); a firing alert only makes the next evaluation immediate.
	Level Control = "level"
	// AlertsOnly: act only in a direction a firing alert asks for (the
	// behaviour before level-triggered control).
	AlertsOnly Control = "alerts_only"
)

// File is a whole policy file.
type File struct {
	// SyncPeriod is how often every service is evaluated (and acted on,
	// under level control).
	SyncPeriod config.Duration `yaml:"sync_period,omitempty"`
	// AlertTTL: a firing alert not re-sent by Alertmanager for this long no
	// longer allows action (a lost "resolved" must not scale forever).
	AlertTTL config.Duration     `yaml:"alert_ttl,omitempty"`
	Services map[string]*Service `yaml:"services"`
}

// Service is one service's policy.
type Service struct {
	Mode     Mode            `yaml:"mode,omitempty"` // default horizontal
	Control  Control         `yaml:"control,omitempty"`
	Actuator actuator.Config `yaml:"actuator"`

	MinReplicas *int `yaml:"min_replicas,omitempty"`
	MaxReplicas *int `yaml:"max_replicas,omitempty"`
	// PricePerReplicaMonthly is the monthly cost of one replica.
	PricePerReplicaMonthly *decimal.Decimal `yaml:"price_per_replica_monthly,omitempty"`

	// Tiers is the ordered ladder of a vertical policy, smallest first.
	Tiers   []Tier `yaml:"tiers,omitempty"`
	MinTier string `yaml:"min_tier,omitempty"`
	MaxTier string `yaml:"max_tier,omitempty"`

	Metrics []Metric `yaml:"metrics"`
	// Tolerance: no change while every metric is within ±tolerance of its
	// target (Kubernetes' HPA uses 0.1).
	Tolerance *float64 `yaml:"tolerance,omitempty"`
	// MaxDataAge: a metric sample older than this is stale, and stale data
	// means hold.
	MaxDataAge config.Duration `yaml:"max_data_age,omitempty"`
	// SettleTimeout bounds how long an action may take to show in the
	// actuator's state before the event is failed.
	SettleTimeout config.Duration `yaml:"settle_timeout,omitempty"`
	// MonthlyCostCeiling caps what the service may cost per month: a
	// scale-up stops below it, unless a latency or error SLO is breached —
	// then the SLO wins, and the event and an alert say so.
	MonthlyCostCeiling *decimal.Decimal `yaml:"monthly_cost_ceiling,omitempty"`
	// Billing names the cost rows the service is paid through (billing.go):
	// budgets, the billed side of the cost ceiling and measured impact read
	// them. None: the service is unmapped and its own cost unknown.
	Billing []BillingLine `yaml:"billing,omitempty"`

	ScaleUp   Behavior `yaml:"scale_up,omitempty"`
	ScaleDown Behavior `yaml:"scale_down,omitempty"`

	// Predictive scales ahead of forecast load (optional).
	Predictive *Predictive `yaml:"predictive,omitempty"`
	// Schedules raise the bounds for windows of time (weekend peaks, the
	// engagement season), compiled by Validate.
	Schedules []schedule.Window `yaml:"schedules,omitempty"`
	// MetricWindow is the widest rate or average window the metric queries
	// read (the rules' rate window): after Prometheus starts, no decision
	// reads a window that is not yet full.
	MetricWindow config.Duration `yaml:"metric_window,omitempty"`

	schedules *schedule.Set

	// Queue describes a worker pool draining a queue, for queue-worker
	// recommendations (optional).
	Queue *Queue `yaml:"queue,omitempty"`
}

// Queue is how to read a worker pool's load.
type Queue struct {
	// ArrivalRateQuery: jobs enqueued per second (PromQL, one series).
	ArrivalRateQuery string `yaml:"arrival_rate_query"`
	// BacklogQuery: jobs waiting (PromQL, one series).
	BacklogQuery string `yaml:"backlog_query"`
	// PerWorkerRate: jobs one worker completes per second.
	PerWorkerRate float64 `yaml:"per_worker_rate"`
	// DrainWithin: how fast a backlog must be worked off (default 10m).
	DrainWithin config.Duration `yaml:"drain_within,omitempty"`
}

// Tier is one step of a vertical ladder.
type Tier struct {
	Name string `yaml:"name"`
	// Capacity in any unit, as long as it is proportional to what the
	// metrics measure (e.g. vCPUs for CPU utilization).
	Capacity     float64          `yaml:"capacity"`
	PriceMonthly *decimal.Decimal `yaml:"price_monthly"`
}

// MetricType is what a metric tells the decision.
type MetricType string

const (
	// Utilization is a share of the capacity in use (CPU): desired =
	// ceil(current × value / target), as HPA computes it.
	Utilization MetricType = "utilization"
	// MetricLoad is the work arriving (requests or jobs per second): desired
	// = ceil(value / (capacity per replica × target utilization)). It keeps
	// sizing right when utilization saturates at 100 %.
	MetricLoad MetricType = "load"
	// Guard is a symptom (latency, error ratio): above its target capacity
	// is short, so nothing scales down and a cost ceiling gives way; it
	// never says by how much to scale.
	Guard MetricType = "guard"
)

// Metric is one input of the decision.
type Metric struct {
	Name string     `yaml:"name"`
	Type MetricType `yaml:"type,omitempty"` // default utilization
	// Query is PromQL returning exactly one sample, normally a normalized
	// series such as service:cpu_utilization:ratio{service="api"}.
	Query string `yaml:"query"`
	// Target: the utilization aimed at (utilization, load), or the value
	// above which capacity is short (guard).
	Target float64 `yaml:"target"`
	// CapacityPerReplica (load): what one replica serves at 100 % busy, in
	// the query's unit; the fallback while CapacityFrom has not learned it.
	CapacityPerReplica float64 `yaml:"capacity_per_replica,omitempty"`
	// CapacityFrom (load): learn the capacity per replica from the named
	// utilization metric (load ÷ (replicas × utilization)), or take it from
	// the newest load test of the service ("load_test").
	CapacityFrom string `yaml:"capacity_from,omitempty"`
}

// CapacityFromLoadTest takes a load metric's capacity per replica from the
// newest performance benchmark named after the service.
const CapacityFromLoadTest = "load_test"

// Metric returns the service's metric of that name, nil if none.
func (s *Service) Metric(name string) *Metric {
	for i := range s.Metrics {
		if s.Metrics[i].Name == name {
			return &s.Metrics[i]
		}
	}
	return nil
}

// ScheduleSet is the compiled schedules (nil: none).
func (s *Service) ScheduleSet() *schedule.Set { return s.schedules }

// Defaults, mirroring Kubernetes' HPA where it has one.
const (
	DefaultSyncPeriod    = 15 * time.Second
	DefaultAlertTTL      = 4*time.Hour + 10*time.Minute // Alertmanager's repeat_interval + slack
	DefaultTolerance     = 0.1
	DefaultMaxDataAge    = 2 * time.Minute
	DefaultSettleTimeout = 5 * time.Minute
	DefaultUpWindow      = 0
	DefaultDownWindow    = 5 * time.Minute
	DefaultUpCooldown    = time.Minute
	DefaultDownCooldown  = 5 * time.Minute
	DefaultRatePeriod    = 15 * time.Second // HPA's periodSeconds
	DefaultMetricWindow  = time.Minute      // the production rules' rate window
)

// Default rate policies: HPA's for scale-up (4 pods or 100 % per 15 s,
// whichever is more); for scale-down 1 replica or 50 % per 15 s, gentler
// than HPA's 100 % because a replica released here takes minutes to come
// back. Vertical services move one tier per period either way.
var (
	DefaultUpPolicies       = []RatePolicy{{Type: Pods, Value: 4, Period: config.Duration(DefaultRatePeriod)}, {Type: Percent, Value: 100, Period: config.Duration(DefaultRatePeriod)}}
	DefaultDownPolicies     = []RatePolicy{{Type: Pods, Value: 1, Period: config.Duration(DefaultRatePeriod)}, {Type: Percent, Value: 50, Period: config.Duration(DefaultRatePeriod)}}
	DefaultVerticalPolicies = []RatePolicy{{Type: Pods, Value: 1, Period: config.Duration(DefaultRatePeriod)}}
)

// Load reads, defaults and validates a policy file.
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

// Parse decodes, defaults and validates a policy from bytes.
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

func durPtr(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

// ApplyDefaults fills every unset field.
func (f *File) ApplyDefaults() {
	if f.SyncPeriod == 0 {
		f.SyncPeriod = config.Duration(DefaultSyncPeriod)
	}
	if f.AlertTTL == 0 {
		f.AlertTTL = config.Duration(DefaultAlertTTL)
	}
	for _, s := range f.Services {
		if s == nil {
			continue
		}
		if s.Mode == "" {
			s.Mode = Horizontal
		}
		if s.Control == "" {
			s.Control = Level
		}
		if s.MetricWindow == 0 {
			s.MetricWindow = config.Duration(DefaultMetricWindow)
		}
		for i := range s.Metrics {
			if s.Metrics[i].Type == "" {
				s.Metrics[i].Type = Utilization
			}
		}
		if s.Predictive != nil {
			s.Predictive.fill()
		}
		if s.Tolerance == nil {
			t := DefaultTolerance
			s.Tolerance = &t
		}
		if s.MaxDataAge == 0 {
			s.MaxDataAge = config.Duration(DefaultMaxDataAge)
		}
		if s.SettleTimeout == 0 {
			s.SettleTimeout = config.Duration(DefaultSettleTimeout)
		}
		up, down := DefaultUpPolicies, DefaultDownPolicies
		if s.Mode == Vertical {
			up, down = DefaultVerticalPolicies, DefaultVerticalPolicies
		}
		s.ScaleUp.fill(DefaultUpWindow, DefaultUpCooldown, up, f.SyncPeriod.D())
		s.ScaleDown.fill(DefaultDownWindow, DefaultDownCooldown, down, f.SyncPeriod.D())
		if s.Mode == Vertical && len(s.Tiers) > 0 {
			if s.MinTier == "" {
				s.MinTier = s.Tiers[0].Name
			}
			if s.MaxTier == "" {
				s.MaxTier = s.Tiers[len(s.Tiers)-1].Name
			}
		}
	}
}

// Validate returns every problem at once, each naming its field.
func (f *File) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if f.SyncPeriod.D() < time.Second {
		add("sync_period: must be at least 1s, got %s", f.SyncPeriod)
	}
	if f.AlertTTL.D() < time.Minute {
		add("alert_ttl: must be at least 1m, got %s", f.AlertTTL)
	}
	if len(f.Services) == 0 {
		add("services: at least one service is required")
	}
	names := make([]string, 0, len(f.Services))
	for n := range f.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := f.Services[name]
		p := "services." + name
		if !validName(name) {
			add("%s: service name must match [a-z0-9_-]+", p)
		}
		if s == nil {
			add("%s: empty", p)
			continue
		}
		errs = append(errs, s.Actuator.Validate(p+".actuator")...)
		switch s.Mode {
		case Horizontal:
			errs = append(errs, s.validateHorizontal(p)...)
		case Vertical:
			errs = append(errs, s.validateVertical(p)...)
		case Mode(AlertsOnly), Mode(Level):
			add("%s.mode: %q is a control mode: write `control: %s` (mode is horizontal or vertical)", p, s.Mode, s.Mode)
		default:
			add("%s.mode: %q is not horizontal or vertical", p, s.Mode)
		}
		if len(s.Metrics) == 0 {
			add("%s.metrics: at least one metric is required", p)
		}
		seen := map[string]bool{}
		for i, m := range s.Metrics {
			mp := fmt.Sprintf("%s.metrics[%d]", p, i)
			if m.Name == "" {
				add("%s.name: required", mp)
			} else if seen[m.Name] {
				add("%s.name: %q used twice", mp, m.Name)
			}
			seen[m.Name] = true
			if m.Query == "" {
				add("%s.query: required", mp)
			}
			if !(m.Target > 0) || math.IsInf(m.Target, 0) {
				add("%s.target: must be a positive number, got %v", mp, m.Target)
			}
			errs = append(errs, s.validateMetric(mp, m)...)
		}
		if len(s.Metrics) > 0 && !s.sizes() {
			add("%s.metrics: every metric is a guard: at least one utilization or load metric must say how many replicas are needed", p)
		}
		switch s.Control {
		case Level, AlertsOnly:
		default:
			add("%s.control: %q is not level or alerts_only", p, s.Control)
		}
		if s.MetricWindow < 0 {
			add("%s.metric_window: must not be negative", p)
		}
		if s.Predictive != nil {
			errs = append(errs, s.Predictive.validate(p+".predictive", s, f.SyncPeriod.D())...)
		}
		s.schedules = nil // compiled again from Schedules, whatever a copy carried
		if len(s.Schedules) > 0 {
			if s.Mode == Vertical {
				add("%s.schedules: scheduled windows raise min_replicas: vertical policies are not supported", p)
			} else if s.validBounds() {
				lo, hi := s.Bounds()
				set, err := schedule.Compile(s.Schedules, lo, hi, p+".schedules", time.Now())
				if err != nil {
					errs = append(errs, err)
				}
				s.schedules = set
			}
		}
		if t := *s.Tolerance; t < 0 || t >= 1 || math.IsNaN(t) {
			add("%s.tolerance: must be in [0, 1), got %v", p, t)
		}
		if s.MaxDataAge < 0 {
			add("%s.max_data_age: must not be negative", p)
		}
		if s.SettleTimeout < 0 {
			add("%s.settle_timeout: must not be negative", p)
		}
		if c := s.MonthlyCostCeiling; c != nil {
			switch {
			case !c.IsPositive():
				add("%s.monthly_cost_ceiling: must be positive", p)
			case s.validBounds():
				// Bounds panics on unset bounds, which are reported above.
				if lo, _ := s.Bounds(); s.MonthlyCost(lo).GreaterThan(*c) {
					add("%s.monthly_cost_ceiling: %s is below the cost of the minimum (%s)", p, c, s.MonthlyCost(lo))
				}
			}
		}
		errs = append(errs, validateBilling(p, s.Billing)...)
		if q := s.Queue; q != nil {
			if q.ArrivalRateQuery == "" {
				add("%s.queue.arrival_rate_query: required", p)
			}
			if q.BacklogQuery == "" {
				add("%s.queue.backlog_query: required", p)
			}
			if !(q.PerWorkerRate > 0) || math.IsInf(q.PerWorkerRate, 0) {
				add("%s.queue.per_worker_rate: must be a positive number, got %v", p, q.PerWorkerRate)
			}
			if q.DrainWithin < 0 {
				add("%s.queue.drain_within: must not be negative", p)
			}
			if s.Mode == Vertical {
				add("%s.queue: worker pools scale horizontally", p)
			}
		}
		errs = append(errs, s.ScaleUp.validate(p+".scale_up", s.Mode == Vertical)...)
		errs = append(errs, s.ScaleDown.validate(p+".scale_down", s.Mode == Vertical)...)
	}
	return errors.Join(errs...)
}

func (s *Service) validateHorizontal(p string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.MinReplicas == nil {
		add("%s.min_replicas: required", p)
	} else if *s.MinReplicas < 1 {
		add("%s.min_replicas: must be at least 1, got %d", p, *s.MinReplicas)
	}
	if s.MaxReplicas == nil {
		add("%s.max_replicas: required", p)
	}
	if s.MinReplicas != nil && s.MaxReplicas != nil && *s.MinReplicas > *s.MaxReplicas {
		add("%s: min_replicas (%d) is greater than max_replicas (%d)", p, *s.MinReplicas, *s.MaxReplicas)
	}
	if s.PricePerReplicaMonthly != nil && s.PricePerReplicaMonthly.IsNegative() {
		add("%s.price_per_replica_monthly: must not be negative", p)
	}
	if len(s.Tiers) > 0 || s.MinTier != "" || s.MaxTier != "" {
		add("%s: tiers, min_tier and max_tier belong to vertical policies (mode: vertical)", p)
	}
	return errs
}

func (s *Service) validateVertical(p string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.MinReplicas != nil || s.MaxReplicas != nil || s.PricePerReplicaMonthly != nil {
		add("%s: min_replicas, max_replicas and price_per_replica_monthly belong to horizontal policies", p)
	}
	if len(s.Tiers) < 2 {
		add("%s.tiers: a vertical policy needs at least two tiers", p)
	}
	idx := map[string]int{}
	for i, t := range s.Tiers {
		tp := fmt.Sprintf("%s.tiers[%d]", p, i)
		if t.Name == "" {
			add("%s.name: required", tp)
		} else if _, dup := idx[t.Name]; dup {
			add("%s.name: %q used twice", tp, t.Name)
		}
		idx[t.Name] = i
		if !(t.Capacity > 0) || math.IsInf(t.Capacity, 0) {
			add("%s.capacity: must be a positive number", tp)
		} else if i > 0 && t.Capacity <= s.Tiers[i-1].Capacity {
			add("%s.capacity: tiers must be ordered by strictly increasing capacity", tp)
		}
		if t.PriceMonthly == nil {
			add("%s.price_monthly: required", tp)
		} else if t.PriceMonthly.IsNegative() {
			add("%s.price_monthly: must not be negative", tp)
		}
	}
	lo, okLo := idx[s.MinTier]
	hi, okHi := idx[s.MaxTier]
	if s.MinTier != "" && !okLo {
		add("%s.min_tier: %q is not one of the tiers", p, s.MinTier)
	}
	if s.MaxTier != "" && !okHi {
		add("%s.max_tier: %q is not one of the tiers", p, s.MaxTier)
	}
	if okLo && okHi && lo > hi {
		add("%s: min_tier %q is above max_tier %q", p, s.MinTier, s.MaxTier)
	}
	return errs
}

func (s *Service) validateMetric(mp string, m Metric) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch m.Type {
	case Utilization, Guard:
		if m.CapacityPerReplica != 0 || m.CapacityFrom != "" {
			add("%s: capacity_per_replica and capacity_from belong to metrics of type load", mp)
		}
	case MetricLoad:
		if s.Mode == Vertical {
			add("%s.type: a load metric sizes replicas; for a vertical policy use utilization", mp)
		}
		if m.Target > 1 {
			add("%s.target: a load metric's target is the utilization of capacity aimed at, in (0, 1], got %v", mp, m.Target)
		}
		if m.CapacityPerReplica < 0 || math.IsNaN(m.CapacityPerReplica) || math.IsInf(m.CapacityPerReplica, 0) {
			add("%s.capacity_per_replica: must be a positive number, got %v", mp, m.CapacityPerReplica)
		}
		switch from := m.CapacityFrom; {
		case from == "" && m.CapacityPerReplica == 0:
			add("%s: a load metric needs capacity_per_replica, capacity_from, or both", mp)
		case from == "" || from == CapacityFromLoadTest:
		default:
			if u := s.Metric(from); u == nil || u.Type != Utilization && u.Type != "" {
				add("%s.capacity_from: %q is neither load_test nor a utilization metric of the service", mp, from)
			}
		}
	default:
		add("%s.type: %q is not utilization, load or guard", mp, m.Type)
	}
	return errs
}

// sizes reports whether a metric can say how many replicas are needed.
func (s *Service) sizes() bool {
	for _, m := range s.Metrics {
		if m.Type != Guard {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validBounds reports whether Bounds can be called (the fields it reads
// are set and known).
func (s *Service) validBounds() bool {
	if s.Mode == Vertical {
		return s.TierIndex(s.MinTier) >= 0 && s.TierIndex(s.MaxTier) >= 0
	}
	return s.MinReplicas != nil && s.MaxReplicas != nil
}

// Bounds returns the service's [min, max] level: replicas for horizontal
// policies, tier indexes for vertical ones.
func (s *Service) Bounds() (lo, hi int) {
	if s.Mode == Vertical {
		return s.TierIndex(s.MinTier), s.TierIndex(s.MaxTier)
	}
	return *s.MinReplicas, *s.MaxReplicas
}

// TierIndex is the position of a tier in the ladder, -1 if unknown.
func (s *Service) TierIndex(name string) int {
	for i, t := range s.Tiers {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// Price is the monthly price of a level (replicas × price, or the tier's
// price); ok is false when the policy prices nothing for it, which callers
// show as unknown, never as $0.00.
func (s *Service) Price(level int) (price decimal.Decimal, ok bool) {
	if s.Mode == Vertical {
		if level < 0 || level >= len(s.Tiers) || s.Tiers[level].PriceMonthly == nil {
			return decimal.Zero, false
		}
		return *s.Tiers[level].PriceMonthly, true
	}
	if s.PricePerReplicaMonthly == nil {
		return decimal.Zero, false
	}
	return s.PricePerReplicaMonthly.Mul(decimal.NewFromInt(int64(level))), true
}

// PriceDelta is the monthly price of moving from one level to another,
// invalid (unknown) when either level is unpriced.
func (s *Service) PriceDelta(from, to int) decimal.NullDecimal {
	a, okA := s.Price(from)
	b, okB := s.Price(to)
	if !okA || !okB {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(b.Sub(a))
}

// MonthlyCost is Price without the ok: zero when no price is configured.
func (s *Service) MonthlyCost(level int) decimal.Decimal {
	p, _ := s.Price(level)
	return p
}
