package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	t.Parallel()
	f, err := Load("../config.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sources) != 6 || f.Sources[1].Refresh.Interval.D() != 6*time.Hour || f.Sources[1].Refresh.Timeout.D() != 2*time.Minute ||
		f.Sources[0].Service != "openai" || f.Capacity.Resources[3].Service != "vercel" || f.Capacity.Resources[0].Service != "supabase" {
		t.Errorf("example: %+v", f)
	}
}

const minimal = `
sources:
  - {name: manual, type: manual, manual: {entries: [{date: "2026-11-01", service: x, amount: 1}]}}
`

func TestDefaults(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Sources[0].Refresh
	if r.Interval.String() != "1h" || r.Timeout.String() != "2m" || r.Lookback.String() != "3d" || r.Backfill.String() != "5w" ||
		r.Backoff.Initial.String() != "1m" || r.Backoff.Max.String() != "1h" || f.Metrics.BaselineDays != 7 ||
		f.Metrics.SnapshotInterval.String() != "30s" || f.Capacity.Service != "database" {
		t.Errorf("defaults: %+v %+v", r, f.Metrics)
	}
}

// Every problem at once, each with its field path, in a stable order.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty", "{}", []string{"sources: at least one source is required"}},
		{"unknown field", "sources: []\nsourcse: []\n", []string{"parse: yaml: unmarshal errors:\n  line 2: field sourcse not found in type config.File"}},
		{"inline secret", `sources: [{name: o, type: openai, openai: {admin_key: sk-123}}]`,
			[]string{"parse: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `sk-123` into config.Secret"}},
		{"sources", `
refresh: {interval: 30s, lookback: 36h, backfill: 1d}
sources:
  - {name: OpenAI, type: openai, openai: {admin_key: {env: K, file: /k}, page_limit: 500, base_url: "ftp://x"}}
  - {name: v, type: vercel, vercel: {}}
  - {name: v, type: twilio, twilio: {account_sid: SK1, auth_token: {env: T}}, focus: {paths: [a]}}
  - {name: f, type: focus, focus: {paths: ["[x"], cost_column: Cost}}
  - {name: s, type: supabase, supabase: {access_token: {env: S}, project_ref: p, plan: team, pricing: {compute: {ci_micro: -1}}}}
  - {name: g, type: gcp}
  - {name: m, type: manual}
`, []string{
			"refresh.interval: must be at least 1m (billing APIs are metered), got 30s",
			"refresh.timeout: must be positive and at most the interval (30s), got 2m",
			"refresh.lookback: must be whole days, 1d…400d, got 1d12h",
			"refresh.backfill: must not be shorter than lookback (1d12h), got 1d",
			`sources[0].name: "OpenAI" must match ^[a-z][a-z0-9_-]*$`,
			"sources[0].refresh.interval: must be at least 1m (billing APIs are metered), got 30s",
			"sources[0].refresh.timeout: must be positive and at most the interval (30s), got 2m",
			"sources[0].refresh.lookback: must be whole days, 1d…400d, got 1d12h",
			"sources[0].refresh.backfill: must not be shorter than lookback (1d12h), got 1d",
			`sources[0].openai.base_url: must be an absolute http or https URL, got "ftp://x"`,
			"sources[0].openai.admin_key: set file or env, not both",
			"sources[0].openai.page_limit: must be 1…180, got 500",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if tt.name == "sources" {
				got = got[:min(len(got), len(tt.want))]
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidationErrorsRest(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`
sources:
  - {name: v, type: vercel, vercel: {}}
  - {name: v, type: twilio, twilio: {account_sid: SK1, auth_token: {env: T}}, focus: {paths: [a]}}
  - {name: f, type: focus, focus: {paths: ["[x"], cost_column: Cost}}
  - {name: s, type: supabase, supabase: {access_token: {env: S}, project_ref: p, plan: team, pricing: {compute: {ci_micro: -1}}}}
  - {name: g, type: gcp}
  - {name: m, type: manual}
attribution:
  rules: [{match: {}, team: x}]
users: {total_query: " "}
capacity:
  resources:
    - {resource: disk, usage: magic, unit: ""}
    - {resource: bandwidth, usage: cost_usage, unit: GB, limit: 0}
    - {resource: database_connections, usage: connections, unit: c, query: SELECT 1}
metrics: {baseline_days: 100, forecast_history: 1d, season: 40}
`))
	want := []string{
		"sources[0].vercel.token: required (file or env)",
		"sources[0].vercel.team_id: required",
		`sources[1].name: "v" used twice`,
		`sources[1].focus: does not belong to a source of type "twilio"`,
		`sources[1].twilio.account_sid: must start with AC, got "SK1"`,
		"sources[2].focus.paths[0]: syntax error in pattern",
		"sources[2].focus.cost_column: \"Cost\" is not one of BilledCost, EffectiveCost, ListCost, ContractedCost",
		`sources[3].supabase.plan: "team" has no entry in pricing.plans ()`,
		"sources[3].supabase.pricing.compute.ci_micro: must not be negative, got -1",
		`sources[4].type: "gcp" is not one of openai, vercel, twilio, supabase, focus, manual`,
		"sources[5].manual: required for type manual",
		"attribution.rules[0].match: at least one field is required (a rule matching everything hides unattributed cost)",
		"users: needs application_database",
		"users.total_query: required",
		`capacity.resources[0].resource: "disk" is not one of database_connections, database_storage, storage, bandwidth, compute, memory, replicas, api_requests, users`,
		"capacity.resources[0].unit: required (e.g. bytes, connections, GB)",
		`capacity.resources[0].usage: "magic" is not one of connections, database_size, query, cost_usage`,
		"capacity.resources[0].limit: required (the plan's limit in )",
		"capacity.resources[1].cost_usage: service and resource are required for usage cost_usage",
		"capacity.resources[1].limit: must be positive, got 0",
		"capacity.resources[2].usage: needs application_database",
		"capacity.resources[2].query: only for usage query",
		"metrics.baseline_days: must be 1…90, got 100",
		"metrics.forecast_history: no longer a setting: every projection is fitted on core/projection's 180 days, so all screens agree; remove it",
		"metrics.season: no longer a setting: every projection uses core/projection's 7-day season, so all screens agree; remove it",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	if _, err := Load("no-such-file.yml"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	path := t.TempDir() + "/c.yml"
	os.WriteFile(path, []byte("sources: []\n"), 0o600)
	if _, err := Load(path); err == nil || err.Error() != path+": sources: at least one source is required" {
		t.Errorf("invalid file: %v", err)
	}
}

// FuzzParse: whatever the input, parsing never panics, and whatever parses
// is valid with every default applied. The seeds run in every `go test`.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../config.example.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("sources: [{name: a, type: focus, focus: {paths: ['*']}, refresh: {interval: 1y}}]"))
	f.Add([]byte("sources: [{name: a, type: manual, manual: {file: x}}]\ncapacity: {resources: [{resource: users, usage: cost_usage, cost_usage: {service: a, resource: b}, unit: u, limit: 1e308}]}"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("sources: &a [*a]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
		for _, s := range c.Sources {
			if s.Refresh.Interval <= 0 || s.Refresh.Timeout <= 0 || s.Service == "" {
				t.Fatalf("source without defaults: %+v", s)
			}
		}
	})
}
