package scaler

import (
	"context"
	"errors"
	"fmt"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// OverrideStore holds the bounds an implemented rightsizing set (package
// store's policy_overrides). Without one (Config.Overrides nil) the policy
// file and the phase are the only bounds.
type OverrideStore interface {
	PolicyOverrides(ctx context.Context) ([]store.PolicyOverride, error)
	DropPolicyOverride(ctx context.Context, o store.PolicyOverride, why string) (bool, error)
}

var _ OverrideStore = (*store.Store)(nil)

// loadOverrides reads the overrides in force: every evaluation, trigger,
// retry and rollback starts with it (through loadPhase), so an override
// another replica wrote is in force at the next evaluation here. One the
// policy file no longer admits (bounds edited, a tier removed) is dropped
// — logged, counted, deleted with an audit row — never clamped into
// something nobody approved.
func (s *Scaler) loadOverrides(ctx context.Context) error {
	if s.cfg.Overrides == nil {
		return nil
	}
	all, err := s.cfg.Overrides.PolicyOverrides(ctx)
	if err != nil {
		return fmt.Errorf("read policy overrides: %w", err)
	}
	valid := make(map[string]store.PolicyOverride, len(all))
	for _, o := range all {
		base := s.service(o.Service)
		if base == nil {
			continue // a service another deployment runs, or one a reload removed: not ours to judge
		}
		if err := checkOverride(base, o.Bounds); err != nil {
			// Not applied from here on, whether or not the delete lands
			// (tried again at the next read); counted once, by whoever
			// deleted it.
			dropped, derr := s.cfg.Overrides.DropPolicyOverride(ctx, o, err.Error())
			switch {
			case derr != nil:
				s.cfg.Logger.Warn("policy override no longer fits the policy file; not applied, its delete failed", "service", o.Service,
					"recommendation_id", o.RecommendationID, "err", err, "delete_err", derr)
			case dropped:
				s.cfg.Logger.Warn("policy override no longer fits the policy file; dropped", "service", o.Service,
					"recommendation_id", o.RecommendationID, "err", err)
				s.cfg.Metrics.overridesDropped.WithLabelValues(o.Service).Inc()
			}
			continue
		}
		valid[o.Service] = o
	}
	s.mu.Lock()
	s.overrides = valid
	s.mu.Unlock()
	return nil
}

// errOverride is an override outside the policy file's hard bounds.
var errOverride = errors.New("outside the policy file's bounds")

// checkOverride says whether b fits inside base's (the file's) bounds.
func checkOverride(base *policy.Service, b store.Bounds) error {
	lo, hi := base.Bounds()
	if base.Mode == policy.Vertical {
		if b.MinReplicas != nil || b.MaxReplicas != nil || b.MinTier == "" || b.MaxTier == "" {
			return fmt.Errorf("%w: a vertical service's override names min_tier and max_tier only", errOverride)
		}
		l, h := base.TierIndex(b.MinTier), base.TierIndex(b.MaxTier)
		switch {
		case l < 0 || h < 0:
			return fmt.Errorf("%w: tiers [%s, %s] are not both on the ladder", errOverride, b.MinTier, b.MaxTier)
		case l > h:
			return fmt.Errorf("%w: min_tier %s is above max_tier %s", errOverride, b.MinTier, b.MaxTier)
		case l < lo || h > hi:
			return fmt.Errorf("%w: [%s, %s] is not inside [%s, %s]", errOverride, b.MinTier, b.MaxTier, base.MinTier, base.MaxTier)
		}
		return nil
	}
	if b.MinReplicas == nil || b.MaxReplicas == nil || b.MinTier != "" || b.MaxTier != "" {
		return fmt.Errorf("%w: a horizontal service's override names min_replicas and max_replicas only", errOverride)
	}
	if l, h := *b.MinReplicas, *b.MaxReplicas; l > h || l < lo || h > hi {
		return fmt.Errorf("%w: [%d, %d] is not inside [%d, %d]", errOverride, l, h, lo, hi)
	}
	return nil
}

// withOverride narrows p (the file's bounds, already narrowed by the
// phase) by an override checked against the file: the result never leaves
// p's bounds.
func withOverride(p *policy.Service, b store.Bounds) *policy.Service {
	out := *p
	lo, hi := p.Bounds()
	if p.Mode == policy.Vertical {
		l, h := min(max(p.TierIndex(b.MinTier), lo), hi), min(max(p.TierIndex(b.MaxTier), lo), hi)
		out.MinTier, out.MaxTier = p.Tiers[l].Name, p.Tiers[max(l, h)].Name
		return &out
	}
	l := min(max(*b.MinReplicas, lo), hi)
	h := min(max(*b.MaxReplicas, l), hi)
	out.MinReplicas, out.MaxReplicas = &l, &h
	return &out
}

// rollbackPolicy is the policy a rollback of ev is judged by: without the
// override ev itself left (the rollback removes it, see the store's
// unsettleRecommendation), else the bounds in force.
func (s *Scaler) rollbackPolicy(ev store.Event) *policy.Service {
	s.mu.Lock()
	o, ok := s.overrides[ev.Service]
	s.mu.Unlock()
	if ok && o.ScalingEventID == ev.ID {
		return s.effectiveWith(ev.Service, nil)
	}
	return s.effective(ev.Service)
}
