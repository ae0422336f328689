// Package policy is the autoscaler's policy file: for every service, how it
// is scaled (horizontally in replicas or vertically along a tier ladder),
// within which bounds, towards which metric targets, how fast, and through
// which actuator.
package policy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/core/config"
)

// Mode is how a service scales.
type Mode string

const (
	Horizontal Mode = "horizontal"
	Vertical   Mode = "vertical"
)

// File is a whole policy file.
type File struct {
	// SyncPeriod is how often every service's metrics are read, to keep the
	// stabilization history and the desired-replicas gauges current.
	SyncPeriod config.Duration `yaml:"sync_period,omitempty"`
	// AlertTTL: a firing alert not re-sent by Alertmanager for this long no
	// longer allows action (a lost "resolved" must not scale forever).
	AlertTTL config.Duration     `yaml:"alert_ttl,omitempty"`
	Services map[string]*Service `yaml:"services"`
}

// Service is one service's policy.
type Service struct {
	Mode     Mode            `yaml:"mode,omitempty"` // default horizontal
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

	ScaleUp   Behavior `yaml:"scale_up,omitempty"`
	ScaleDown Behavior `yaml:"scale_down,omitempty"`

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

// Metric is one input of the decision.
type Metric struct {
	Name string `yaml:"name"`
	// Query is PromQL returning exactly one sample, normally a normalized
	// series such as service:cpu_utilization:ratio{service="api"}.
	Query  string  `yaml:"query"`
	Target float64 `yaml:"target"`
}

// Behavior bounds one direction of change.
type Behavior struct {
	// StabilizationWindow: scale up to the lowest, or down to the highest,
	// recommendation seen over this window (HPA semantics).
	StabilizationWindow *config.Duration `yaml:"stabilization_window,omitempty"`
	// Cooldown after any finished action on the service before another in
	// this direction.
	Cooldown *config.Duration `yaml:"cooldown,omitempty"`
	// MaxStep and MaxPercent bound one action: the larger of the two wins
	// (HPA: up max(4 pods, 100 %)).
	MaxStep    *int `yaml:"max_step,omitempty"`
	MaxPercent *int `yaml:"max_percent,omitempty"`
}

// Defaults, mirroring Kubernetes' HPA where it has one.
const (
	DefaultSyncPeriod      = 15 * time.Second
	DefaultAlertTTL        = 4*time.Hour + 10*time.Minute // Alertmanager's repeat_interval + slack
	DefaultTolerance       = 0.1
	DefaultMaxDataAge      = 2 * time.Minute
	DefaultSettleTimeout   = 5 * time.Minute
	DefaultUpWindow        = 0
	DefaultDownWindow      = 5 * time.Minute
	DefaultUpCooldown      = time.Minute
	DefaultDownCooldown    = 5 * time.Minute
	DefaultUpMaxStep       = 4
	DefaultUpMaxPercent    = 100
	DefaultDownMaxStep     = 1
	DefaultDownMaxPercent  = 50
	DefaultVerticalMaxStep = 1
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
func intPtr(i int) *int                       { return &i }

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
		upStep, upPct, downStep, downPct := DefaultUpMaxStep, DefaultUpMaxPercent, DefaultDownMaxStep, DefaultDownMaxPercent
		if s.Mode == Vertical {
			upStep, upPct, downStep, downPct = DefaultVerticalMaxStep, 0, DefaultVerticalMaxStep, 0
		}
		s.ScaleUp.fill(DefaultUpWindow, DefaultUpCooldown, upStep, upPct)
		s.ScaleDown.fill(DefaultDownWindow, DefaultDownCooldown, downStep, downPct)
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

func (b *Behavior) fill(window, cooldown time.Duration, step, pct int) {
	if b.StabilizationWindow == nil {
		b.StabilizationWindow = durPtr(window)
	}
	if b.Cooldown == nil {
		b.Cooldown = durPtr(cooldown)
	}
	if b.MaxStep == nil {
		b.MaxStep = intPtr(step)
	}
	if b.MaxPercent == nil {
		b.MaxPercent = intPtr(pct)
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
			lo, _ := s.Bounds()
			switch {
			case !c.IsPositive():
				add("%s.monthly_cost_ceiling: must be positive", p)
			case s.validBounds() && s.MonthlyCost(lo).GreaterThan(*c):
				add("%s.monthly_cost_ceiling: %s is below the cost of the minimum (%s)", p, c, s.MonthlyCost(lo))
			}
		}
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
		errs = append(errs, s.ScaleUp.validate(p+".scale_up")...)
		errs = append(errs, s.ScaleDown.validate(p+".scale_down")...)
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

func (b *Behavior) validate(p string) []error {
	var errs []error
	if b.StabilizationWindow.D() < 0 {
		errs = append(errs, fmt.Errorf("%s.stabilization_window: must not be negative", p))
	}
	if b.Cooldown.D() < 0 {
		errs = append(errs, fmt.Errorf("%s.cooldown: must not be negative", p))
	}
	if *b.MaxStep < 0 {
		errs = append(errs, fmt.Errorf("%s.max_step: must not be negative, got %d", p, *b.MaxStep))
	}
	if *b.MaxPercent < 0 {
		errs = append(errs, fmt.Errorf("%s.max_percent: must not be negative, got %d", p, *b.MaxPercent))
	}
	if *b.MaxStep == 0 && *b.MaxPercent == 0 {
		errs = append(errs, fmt.Errorf("%s: max_step and max_percent are both 0, so this direction could never act", p))
	}
	return errs
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

// MonthlyCost is the monthly price of a level (replicas × price, or the
// tier's price). Zero when no price is configured.
func (s *Service) MonthlyCost(level int) decimal.Decimal {
	if s.Mode == Vertical {
		if level < 0 || level >= len(s.Tiers) || s.Tiers[level].PriceMonthly == nil {
			return decimal.Zero
		}
		return *s.Tiers[level].PriceMonthly
	}
	if s.PricePerReplicaMonthly == nil {
		return decimal.Zero
	}
	return s.PricePerReplicaMonthly.Mul(decimal.NewFromInt(int64(level)))
}
