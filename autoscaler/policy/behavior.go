package policy

import (
	"fmt"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// Behavior bounds one direction of change, with the semantics of
// Kubernetes' HPA `behavior` (autoscaling/v2): a stabilization window and
// per-period rate policies combined by a select policy. Cooldown is ours:
// HPA has none, but an action here is a real provisioning step whose
// effect must show in the metrics before the next one is judged.
type Behavior struct {
	// StabilizationWindow: scale up to the lowest, or down to the highest,
	// recommendation seen over this window.
	StabilizationWindow *config.Duration `yaml:"stabilization_window,omitempty"`
	// Cooldown after any finished action on the service before another in
	// this direction.
	Cooldown *config.Duration `yaml:"cooldown,omitempty"`
	// Policies limit how much may change within a sliding period; Select
	// picks among them (Max: the one allowing the most change).
	Policies []RatePolicy `yaml:"policies,omitempty"`
	Select   SelectPolicy `yaml:"select,omitempty"`

	// MaxStep and MaxPercent are the policy format before rate policies:
	// one action moved at most max(max_step, max_percent % of current).
	// They are still read, as the equivalent Pods and Percent policies over
	// one sync period, and may not be mixed with `policies`.
	MaxStep    *int `yaml:"max_step,omitempty"`
	MaxPercent *int `yaml:"max_percent,omitempty"`

	// mixed: both formats were written; neverActs: the old fields were
	// both 0 (found by fill, reported by validate).
	mixed, neverActs bool
}

// RatePolicy allows at most Value replicas (Pods) or Value percent of the
// replicas at the period's start (Percent) of change within Period.
type RatePolicy struct {
	Type   RateType        `yaml:"type"`
	Value  int             `yaml:"value"`
	Period config.Duration `yaml:"period"`
}

// RateType is the unit of a rate policy, spelled as in HPA.
type RateType string

const (
	Pods    RateType = "Pods"
	Percent RateType = "Percent"
)

// SelectPolicy chooses among rate policies, as HPA's selectPolicy.
type SelectPolicy string

const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// LongestPeriod is the longest rate-policy period of both directions: how
// far back the actions that count against them reach.
func (s *Service) LongestPeriod() time.Duration {
	var d time.Duration
	for _, b := range []Behavior{s.ScaleUp, s.ScaleDown} {
		for _, p := range b.Policies {
			d = max(d, p.Period.D())
		}
	}
	return d
}

// fill applies defaults. legacyPeriod is the period the old max_step and
// max_percent fields are read over (the sync period: one action per pass).
func (b *Behavior) fill(window, cooldown time.Duration, defaults []RatePolicy, legacyPeriod time.Duration) {
	if b.StabilizationWindow == nil {
		b.StabilizationWindow = durPtr(window)
	}
	if b.Cooldown == nil {
		b.Cooldown = durPtr(cooldown)
	}
	if b.Select == "" {
		b.Select = SelectMax
	}
	legacy := b.MaxStep != nil || b.MaxPercent != nil
	switch {
	case legacy && len(b.Policies) > 0:
		b.mixed = true
		return
	case legacy:
		// Read once into policies, so that a policy defaulted twice (the
		// replay derives its strategies from a loaded one) stays valid.
		b.Policies = b.legacyPolicies(legacyPeriod)
		b.neverActs = len(b.Policies) == 0 && (b.MaxStep == nil || *b.MaxStep >= 0) && (b.MaxPercent == nil || *b.MaxPercent >= 0)
		if (b.MaxStep == nil || *b.MaxStep >= 0) && (b.MaxPercent == nil || *b.MaxPercent >= 0) {
			b.MaxStep, b.MaxPercent = nil, nil
		}
		return
	case len(b.Policies) > 0:
		return
	}
	b.Policies = append([]RatePolicy(nil), defaults...)
}

func (b *Behavior) legacyPolicies(period time.Duration) []RatePolicy {
	var out []RatePolicy
	if b.MaxStep != nil && *b.MaxStep > 0 {
		out = append(out, RatePolicy{Type: Pods, Value: *b.MaxStep, Period: config.Duration(period)})
	}
	if b.MaxPercent != nil && *b.MaxPercent > 0 {
		out = append(out, RatePolicy{Type: Percent, Value: *b.MaxPercent, Period: config.Duration(period)})
	}
	return out
}

func (b *Behavior) validate(p string, vertical bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if b.StabilizationWindow.D() < 0 {
		add("%s.stabilization_window: must not be negative", p)
	}
	if b.StabilizationWindow.D() > time.Hour {
		add("%s.stabilization_window: at most 1h (HPA's limit), got %s", p, b.StabilizationWindow)
	}
	if b.Cooldown.D() < 0 {
		add("%s.cooldown: must not be negative", p)
	}
	legacy := b.MaxStep != nil || b.MaxPercent != nil
	if b.MaxStep != nil && *b.MaxStep < 0 {
		add("%s.max_step: must not be negative, got %d", p, *b.MaxStep)
	}
	if b.MaxPercent != nil && *b.MaxPercent < 0 {
		add("%s.max_percent: must not be negative, got %d", p, *b.MaxPercent)
	}
	if b.mixed {
		add("%s: max_step/max_percent and policies are two formats of the same limit: keep only policies "+
			"(max_step: N is {type: Pods, value: N, period: <sync_period>}, max_percent: P is {type: Percent, value: P, period: <sync_period>})", p)
	}
	if b.neverActs {
		add("%s: max_step and max_percent are both 0, so this direction could never act", p)
	}
	switch b.Select {
	case SelectMax, SelectMin, SelectDisabled:
	default:
		add("%s.select: %q is not Max, Min or Disabled", p, b.Select)
	}
	if len(b.Policies) == 0 && b.Select != SelectDisabled && !legacy && !b.neverActs {
		add("%s.policies: at least one rate policy is required (or select: Disabled to never scale in this direction)", p)
	}
	for i, rp := range b.Policies {
		rpp := fmt.Sprintf("%s.policies[%d]", p, i)
		switch rp.Type {
		case Pods:
		case Percent:
			if vertical {
				add("%s.type: a vertical policy moves along its tiers: use Pods (tiers per period)", rpp)
			}
		default:
			add("%s.type: %q is not Pods or Percent", rpp, rp.Type)
		}
		if rp.Value <= 0 {
			add("%s.value: must be positive, got %d", rpp, rp.Value)
		}
		if rp.Period.D() <= 0 || rp.Period.D() > 30*time.Minute {
			add("%s.period: must be in (0, 30m] (HPA's limit), got %s", rpp, rp.Period)
		}
	}
	return errs
}
