// Package attribution maps cost lines to the team and feature that caused
// them, by rules in the exporter's config. Cost that no rule claims stays
// "unattributed": visible, never dropped.
package attribution

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/exporter/billing"
)

// Rule claims the lines it matches for a team and/or a feature.
type Rule struct {
	// Match maps a field to a glob (path.Match syntax: *, ?, [a-z]); every
	// field must match. Fields: source, service, resource, resource_id,
	// project, charge_category, and tag:<name> for a tag's value.
	Match map[string]string `yaml:"match"`
	// Team and Feature name what the line is attributed to. TeamFromTag and
	// FeatureFromTag take the value of a tag instead (empty tag: no claim).
	Team           string `yaml:"team,omitempty"`
	Feature        string `yaml:"feature,omitempty"`
	TeamFromTag    string `yaml:"team_from_tag,omitempty"`
	FeatureFromTag string `yaml:"feature_from_tag,omitempty"`
}

// Rules are tried in order: the first rule that matches and names a team
// gives the team, the first that names a feature gives the feature.
type Rules []Rule

var fields = []string{"source", "service", "resource", "resource_id", "project", "charge_category"}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// Validate returns every problem, each with its field path.
func (rs Rules) Validate(prefix string) []error {
	var errs []error
	for i, r := range rs {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		if len(r.Match) == 0 {
			errs = append(errs, fmt.Errorf("%s.match: at least one field is required (a rule matching everything hides unattributed cost)", p))
		}
		keys := make([]string, 0, len(r.Match))
		for k := range r.Match {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !contains(fields, k) && !(strings.HasPrefix(k, "tag:") && len(k) > 4) {
				errs = append(errs, fmt.Errorf("%s.match.%s: unknown field (known: %s, tag:<name>)", p, k, strings.Join(fields, ", ")))
			}
			if _, err := path.Match(r.Match[k], ""); err != nil {
				errs = append(errs, fmt.Errorf("%s.match.%s: %v", p, k, err))
			}
		}
		if r.Team == "" && r.Feature == "" && r.TeamFromTag == "" && r.FeatureFromTag == "" {
			errs = append(errs, fmt.Errorf("%s: names no team or feature", p))
		}
		if r.Team != "" && r.TeamFromTag != "" {
			errs = append(errs, fmt.Errorf("%s: set team or team_from_tag, not both", p))
		}
		if r.Feature != "" && r.FeatureFromTag != "" {
			errs = append(errs, fmt.Errorf("%s: set feature or feature_from_tag, not both", p))
		}
		for _, f := range []struct{ name, v string }{{"team", r.Team}, {"feature", r.Feature}} {
			if f.v != "" && !nameRE.MatchString(f.v) {
				errs = append(errs, fmt.Errorf("%s.%s: %q must match %s", p, f.name, f.v, nameRE))
			}
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Attribute returns the team and feature of a line of a source. What the
// line itself says (a manual entry) wins over the rules.
func (rs Rules) Attribute(source string, l billing.Line) (team, feature string) {
	team, feature = l.Team, l.Feature
	for _, r := range rs {
		if team != "" && feature != "" {
			break
		}
		if !r.matches(source, l) {
			continue
		}
		if team == "" {
			team = pick(r.Team, r.TeamFromTag, l.Tags)
		}
		if feature == "" {
			feature = pick(r.Feature, r.FeatureFromTag, l.Tags)
		}
	}
	if team == "" {
		team = store.Unattributed
	}
	if feature == "" {
		feature = store.Unattributed
	}
	return team, feature
}

func pick(fixed, tag string, tags map[string]string) string {
	if fixed != "" {
		return fixed
	}
	if tag != "" {
		return strings.ToLower(strings.TrimSpace(tags[tag]))
	}
	return ""
}

func (r Rule) matches(source string, l billing.Line) bool {
	for k, pattern := range r.Match {
		var v string
		switch k {
		case "source":
			v = source
		case "service":
			v = l.Service
		case "resource":
			v = l.Resource
		case "resource_id":
			v = l.ResourceID
		case "project":
			v = l.Project
		case "charge_category":
			v = l.ChargeCategory
		default:
			v = l.Tags[strings.TrimPrefix(k, "tag:")]
		}
		if ok, _ := path.Match(pattern, v); !ok {
			return false
		}
	}
	return true
}
