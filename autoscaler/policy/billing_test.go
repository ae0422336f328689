package policy

import (
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

func TestBillingLines(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(base + `    billing:
      - {source: vercel}
      - {service: Amazon Elastic Compute Cloud, tags: {app: api, env: prod}}
      - {service: supabase, resource_type: compute, resource_id: proj-1}
`))
	if err != nil {
		t.Fatal(err)
	}
	api := f.Services["api"]
	if !api.Mapped() {
		t.Fatal("a service with billing lines is unmapped")
	}
	lines := api.BillingLines()
	want := store.BillingLine{Service: "Amazon Elastic Compute Cloud", Tags: map[string]string{"app": "api", "env": "prod"}}
	if len(lines) != 3 || lines[0].Source != "vercel" || lines[1].Service != want.Service || lines[1].Tags["app"] != "api" ||
		lines[2].ResourceID != "proj-1" {
		t.Fatalf("lines = %+v", lines)
	}
	// A budget of a billing service covers the policy service only through
	// a line naming that service: a source alone does not say which.
	for _, c := range []struct {
		budget string
		want   bool
	}{{"supabase", true}, {"Amazon Elastic Compute Cloud", true}, {"vercel", false}, {"api", false}} {
		if got := api.CoveredByBudget(c.budget); got != c.want {
			t.Errorf("budget of %q covers api: %v, want %v", c.budget, got, c.want)
		}
	}
	g, _ := Parse([]byte(base))
	if g.Services["api"].Mapped() || len(g.Services["api"].BillingLines()) != 0 || g.Services["api"].CoveredByBudget("") {
		t.Fatal("a service without billing lines is mapped")
	}
}

func TestBillingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty line", "      - {}\n", []string{"services.api.billing[0]: names nothing"}},
		{"unknown field", "      - {provider: vercel}\n", []string{"field provider not found"}},
		{"padded", "      - {service: ' vercel'}\n", []string{"services.api.billing[0].service: leading or trailing space"}},
		{"empty tag value and key", "      - {tags: {app: '', '': x}}\n", []string{"services.api.billing[0].tags.app: empty value", "services.api.billing[0].tags: empty key"}},
		{"long resource id", "      - {resource_id: " + strings.Repeat("x", 201) + "}\n", []string{"services.api.billing[0].resource_id: longer than 200 bytes"}},
		{"duplicate", "      - {service: vercel, tags: {a: b}}\n      - {source: x}\n      - {tags: {a: b}, service: vercel}\n",
			[]string{"services.api.billing[2]: the same line as services.api.billing[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + "    billing:\n" + tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
