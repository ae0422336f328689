package attribution

import (
	"strings"
	"testing"

	"github.com/wedsync/scaling/exporter/billing"
)

func TestAttribute(t *testing.T) {
	t.Parallel()
	rules := Rules{
		{Match: map[string]string{"service": "openai", "project": "proj_menu"}, Team: "ai", Feature: "menu-suggestions"},
		{Match: map[string]string{"project": "proj_*"}, Team: "ai"},
		{Match: map[string]string{"tag:team": "?*"}, TeamFromTag: "team", FeatureFromTag: "feature"},
		{Match: map[string]string{"source": "twilio", "resource": "sms-*"}, Feature: "guest-reminders"},
	}
	if errs := rules.Validate("attribution.rules"); len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name          string
		source        string
		line          billing.Line
		team, feature string
	}{
		{"first rule", "openai", billing.Line{Service: "openai", Project: "proj_menu"}, "ai", "menu-suggestions"},
		{"team from one rule, no feature", "openai", billing.Line{Service: "openai", Project: "proj_search"}, "ai", "unattributed"},
		{"tags", "aws", billing.Line{Service: "EC2", Tags: map[string]string{"team": " Platform ", "feature": "Vendor-Portal"}}, "platform", "vendor-portal"},
		{"feature from a later rule", "twilio", billing.Line{Resource: "sms-outbound"}, "unattributed", "guest-reminders"},
		{"the line's own team wins", "manual", billing.Line{Service: "openai", Project: "proj_menu", Team: "finance"}, "finance", "menu-suggestions"},
		{"nothing matches: unattributed, not dropped", "vercel", billing.Line{Service: "Fast Data Transfer"}, "unattributed", "unattributed"},
	}
	for _, tt := range tests {
		team, feature := rules.Attribute(tt.source, tt.line)
		if team != tt.team || feature != tt.feature {
			t.Errorf("%s: %s/%s, want %s/%s", tt.name, team, feature, tt.team, tt.feature)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	rules := Rules{
		{Team: "x"},
		{Match: map[string]string{"colour": "red", "service": "[a"}, Team: "Bad Team"},
		{Match: map[string]string{"service": "x"}},
		{Match: map[string]string{"service": "x"}, Team: "a", TeamFromTag: "t"},
	}
	want := []string{
		"rules[0].match: at least one field is required (a rule matching everything hides unattributed cost)",
		"rules[1].match.colour: unknown field (known: source, service, resource, resource_id, project, charge_category, tag:<name>)",
		"rules[1].match.service: syntax error in pattern",
		`rules[1].team: "Bad Team" must match ^[a-z0-9][a-z0-9_.-]*$`,
		"rules[2]: names no team or feature",
		"rules[3]: set team or team_from_tag, not both",
	}
	var got []string
	for _, e := range rules.Validate("rules") {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s", strings.Join(got, "\n"))
	}
}
