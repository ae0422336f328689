package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wedsync/scaling/core/store"
)

// BillingLine names cost rows (cost_tracking) that a service is billed
// through: what we scale (a policy service such as `api`) is not what we
// pay for (a billing service such as `vercel`, or a FOCUS ServiceName).
// A row matches when every field given matches; fields left empty match
// anything. A line must narrow something: an empty line would claim the
// whole bill.
type BillingLine struct {
	// Source is the exporter's source name (cost_tracking.source).
	Source string `yaml:"source,omitempty"`
	// Service is the billing service (cost_tracking.service_name): the
	// source's service for provider APIs, FOCUS ServiceName for files.
	Service string `yaml:"service,omitempty"`
	// ResourceType and ResourceID narrow to one product or one resource.
	ResourceType string `yaml:"resource_type,omitempty"`
	ResourceID   string `yaml:"resource_id,omitempty"`
	// Tags are attribution tags: every key/value given must be on the row.
	Tags map[string]string `yaml:"tags,omitempty"`
}

// Mapped reports whether the service names any billing line; an unmapped
// service's own cost is unknown (never $0.00).
func (s *Service) Mapped() bool { return len(s.Billing) > 0 }

// BillingLines converts the service's lines to the store's filter.
func (s *Service) BillingLines() []store.BillingLine {
	out := make([]store.BillingLine, 0, len(s.Billing))
	for _, l := range s.Billing {
		out = append(out, store.BillingLine{Source: l.Source, Service: l.Service, ResourceType: l.ResourceType,
			ResourceID: l.ResourceID, Tags: l.Tags})
	}
	return out
}

// CoveredByBudget reports whether a budget scoped to a billing service
// covers this policy service: one of its lines is of that billing service.
// A line without a service (a source or tags only) does not prove the
// budget's service is the one billed, so it does not cover.
func (s *Service) CoveredByBudget(billingService string) bool {
	for _, l := range s.Billing {
		if l.Service != "" && l.Service == billingService {
			return true
		}
	}
	return false
}

// maxBillingText bounds a line's text fields: cost_tracking's columns are
// unconstrained text, but a line longer than this is a paste mistake.
const maxBillingText = 200

func validateBilling(p string, lines []BillingLine) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]int{}
	for i, l := range lines {
		lp := fmt.Sprintf("%s.billing[%d]", p, i)
		if l.Source == "" && l.Service == "" && l.ResourceType == "" && l.ResourceID == "" && len(l.Tags) == 0 {
			add("%s: names nothing: give at least one of source, service, resource_type, resource_id, tags", lp)
			continue
		}
		for _, f := range []struct{ name, v string }{
			{"source", l.Source}, {"service", l.Service}, {"resource_type", l.ResourceType}, {"resource_id", l.ResourceID},
		} {
			if err := billingText(f.v); err != "" {
				add("%s.%s: %s", lp, f.name, err)
			}
		}
		keys := make([]string, 0, len(l.Tags))
		for k := range l.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "" {
				add("%s.tags: empty key", lp)
				continue
			}
			if err := billingText(k); err != "" {
				add("%s.tags: key %q: %s", lp, k, err)
			}
			if l.Tags[k] == "" {
				add("%s.tags.%s: empty value (a tag matches by key and value)", lp, k)
			} else if err := billingText(l.Tags[k]); err != "" {
				add("%s.tags.%s: %s", lp, k, err)
			}
		}
		key := l.key(keys)
		if j, dup := seen[key]; dup {
			add("%s: the same line as %s.billing[%d]", lp, p, j)
		}
		seen[key] = i
	}
	return errs
}

func billingText(v string) string {
	if v != strings.TrimSpace(v) {
		return "leading or trailing space (cost rows are matched exactly)"
	}
	if len(v) > maxBillingText {
		return fmt.Sprintf("longer than %d bytes", maxBillingText)
	}
	return ""
}

func (l BillingLine) key(sortedTags []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %q", l.Source, l.Service, l.ResourceType, l.ResourceID)
	for _, k := range sortedTags {
		fmt.Fprintf(&b, " %q=%q", k, l.Tags[k])
	}
	return b.String()
}
