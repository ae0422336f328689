package rules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite dist/ from thresholds.yml and the templates")

// TestRenderGolden keeps the committed dist/ files equal to what Render
// produces with DefaultParams; `go test -run TestRenderGolden -update`
// regenerates them (as does `go run ./cmd/rulegen`).
func TestRenderGolden(t *testing.T) {
	// Not parallel: with -update it writes the files other tests read.
	for _, profile := range Profiles() {
		files, err := Render(profile, DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("dist", profile)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range Files {
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, files[name], 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run `go test -run TestRenderGolden -update` to create it)", err)
				continue
			}
			if !bytes.Equal(files[name], want) {
				t.Errorf("%s is stale: run `go test -run TestRenderGolden -update` (or `go run ./cmd/rulegen`) and commit the result\n%s",
					path, firstDiff(want, files[name]))
			}
		}
	}
	// Nothing else in dist/: a file left from a removed profile would still
	// be picked up by a glob in a Prometheus config.
	var found []string
	err := filepath.WalkDir("dist", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found = append(found, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, profile := range Profiles() {
		for _, name := range Files {
			want = append(want, "dist/"+profile+"/"+name)
		}
	}
	slices.Sort(found)
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Errorf("dist/ holds %q, want exactly %q", found, want)
	}
}

// firstDiff shows the first differing line, enough to see what moved.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  committed: " + wl + "\n  rendered:  " + gl
		}
	}
	return ""
}

func TestRenderRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		profile string
		params  Params
		want    string
	}{
		{"unknown profile", "staging", DefaultParams(),
			"render staging: unknown profile (known: demo, production)"},
		{"empty params", "demo", Params{},
			"render demo: params: WebhookURL: must not be empty\nWebhookCredentialsFile: must not be empty"},
		{"relative URL", "demo", Params{WebhookURL: "/webhook/alertmanager", WebhookCredentialsFile: "/tmp/token"},
			`render demo: params: WebhookURL: must be an absolute http or https URL, got "/webhook/alertmanager"`},
		{"unparsable URL", "production", Params{WebhookURL: "http://[::1", WebhookCredentialsFile: "/tmp/token"},
			`render production: params: WebhookURL: parse "http://[::1": missing ']' in host`},
		{"email without a recipient", "demo", withEmail(EmailParams{From: "am@example.com", Smarthost: "smtp:25"}),
			"render demo: params: Email.To: required when any other email setting is given"},
		{"email recipient only", "demo", withEmail(EmailParams{To: "oncall@example.com"}),
			"render demo: params: Email.From: required with Email.To\nEmail.Smarthost: required with Email.To"},
		{"bad addresses and relay", "demo", withEmail(EmailParams{To: "oncall@", From: "me", Smarthost: "smtp.example.com"}),
			`render demo: params: Email.To: "oncall@": mail: missing '@' or angle-addr` + "\n" +
				`Email.From: "me": mail: missing '@' or angle-addr` + "\n" +
				`Email.Smarthost: must be host:port, got "smtp.example.com"`},
		{"password file without user", "demo", withEmail(EmailParams{To: "a@example.com", From: "b@example.com", Smarthost: "smtp:587", AuthPasswordFile: "/run/pw"}),
			"render demo: params: Email.AuthUsername, Email.AuthPasswordFile: set both or neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Render(tt.profile, tt.params)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Render error:\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

// TestRenderParams checks that the deployment parameters land in
// alertmanager.yml as data, whatever characters they hold.
func TestRenderParams(t *testing.T) {
	t.Parallel()
	p := Params{
		WebhookURL:             "http://127.0.0.1:41234/webhook/alertmanager?x=1#frag",
		WebhookCredentialsFile: "/tmp/dir with: colon/#token\"",
	}
	files, err := Render("demo", p)
	if err != nil {
		t.Fatal(err)
	}
	var cfg alertmanagerConfig
	if err := yaml.Unmarshal(files[AlertmanagerFile], &cfg); err != nil {
		t.Fatal(err)
	}
	wc := cfg.autoscalerWebhook(t)
	if wc.URL != p.WebhookURL {
		t.Errorf("url = %q, want %q", wc.URL, p.WebhookURL)
	}
	if wc.HTTPConfig.Authorization.CredentialsFile != p.WebhookCredentialsFile {
		t.Errorf("credentials_file = %q, want %q", wc.HTTPConfig.Authorization.CredentialsFile, p.WebhookCredentialsFile)
	}
	// The cost webhook defaults to the scaling one's path + /costs, the
	// query and fragment kept where they were; the same token goes with it.
	cc := cfg.webhook(t, "wedsync-autoscaler-costs")
	if want := "http://127.0.0.1:41234/webhook/alertmanager/costs?x=1#frag"; cc.URL != want {
		t.Errorf("cost url = %q, want %q", cc.URL, want)
	}
	if cc.HTTPConfig.Authorization.CredentialsFile != p.WebhookCredentialsFile || !cc.SendResolved {
		t.Errorf("cost webhook = %+v", cc)
	}
	p.CostWebhookURL = "https://costs.example:8443/hook"
	files, err = Render("demo", p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(files[AlertmanagerFile], &cfg); err != nil {
		t.Fatal(err)
	}
	if cc := cfg.webhook(t, "wedsync-autoscaler-costs"); cc.URL != p.CostWebhookURL {
		t.Errorf("explicit cost url = %q", cc.URL)
	}
	p.CostWebhookURL = "costs"
	if _, err := Render("demo", p); err == nil || err.Error() != `render demo: params: CostWebhookURL: must be an absolute http or https URL, got "costs"` {
		t.Errorf("relative cost URL: %v", err)
	}

	// Slack's URL file and the email settings, whatever they hold; no
	// email integration without a recipient; the default URL file when
	// none is named.
	p = Params{WebhookURL: "http://127.0.0.1:41234/webhook/alertmanager", WebhookCredentialsFile: "/tmp/token",
		SlackWebhookURLFile: "/run/secrets/slack: #1\"",
		Email: EmailParams{To: `"On call" <oncall@example.com>, b@example.com`, From: "am@example.com", Smarthost: "127.0.0.1:2525",
			AuthUsername: "am: #x", AuthPasswordFile: "/run/secrets/smtp: #pw", NoTLS: true}}
	for _, tc := range []struct {
		name   string
		p      Params
		slack  string
		emails int
	}{
		{"all set", p, p.SlackWebhookURLFile, 1},
		{"no email", Params{WebhookURL: p.WebhookURL, WebhookCredentialsFile: p.WebhookCredentialsFile}, DefaultSlackWebhookURLFile, 0},
	} {
		files, err := Render("production", tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var cfg alertmanagerConfig
		if err := yaml.Unmarshal(files[AlertmanagerFile], &cfg); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		slack := 0
		for _, rc := range cfg.Receivers {
			for _, sc := range rc.SlackConfigs {
				slack++
				if sc.APIURLFile != tc.slack {
					t.Errorf("%s: %s api_url_file = %q, want %q", tc.name, rc.Name, sc.APIURLFile, tc.slack)
				}
			}
			if rc.Name != "autoscaler-oncall" {
				continue
			}
			if len(rc.EmailConfigs) != tc.emails {
				t.Fatalf("%s: %d email configs, want %d", tc.name, len(rc.EmailConfigs), tc.emails)
			}
			if tc.emails == 0 {
				continue
			}
			e, want := rc.EmailConfigs[0], tc.p.Email
			if e.To != want.To || e.From != want.From || e.Smarthost != want.Smarthost || e.AuthUsername != want.AuthUsername ||
				e.AuthPasswordFile != want.AuthPasswordFile || e.RequireTLS == nil || *e.RequireTLS {
				t.Errorf("%s: email = %+v", tc.name, e)
			}
		}
		if slack != 3 {
			t.Errorf("%s: %d slack configs, want 3 (autoscaler, platform, costs)", tc.name, slack)
		}
	}
}

func withEmail(e EmailParams) Params {
	p := DefaultParams()
	p.Email = e
	return p
}

type alertmanagerConfig struct {
	Route struct {
		Receiver       string   `yaml:"receiver"`
		GroupBy        []string `yaml:"group_by"`
		GroupWait      string   `yaml:"group_wait"`
		GroupInterval  string   `yaml:"group_interval"`
		RepeatInterval string   `yaml:"repeat_interval"`
		Routes         []struct {
			Receiver       string   `yaml:"receiver"`
			Matchers       []string `yaml:"matchers"`
			Continue       bool     `yaml:"continue"`
			GroupBy        []string `yaml:"group_by"`
			GroupWait      string   `yaml:"group_wait"`
			GroupInterval  string   `yaml:"group_interval"`
			RepeatInterval string   `yaml:"repeat_interval"`
			Routes         []struct {
				Receiver string `yaml:"receiver"`
				Continue bool   `yaml:"continue"`
			} `yaml:"routes"`
		} `yaml:"routes"`
	} `yaml:"route"`
	Receivers []struct {
		Name           string          `yaml:"name"`
		WebhookConfigs []webhookConfig `yaml:"webhook_configs"`
		SlackConfigs   []struct {
			APIURLFile   string `yaml:"api_url_file"`
			SendResolved bool   `yaml:"send_resolved"`
		} `yaml:"slack_configs"`
		EmailConfigs []struct {
			To               string `yaml:"to"`
			From             string `yaml:"from"`
			Smarthost        string `yaml:"smarthost"`
			AuthUsername     string `yaml:"auth_username"`
			AuthPasswordFile string `yaml:"auth_password_file"`
			RequireTLS       *bool  `yaml:"require_tls"`
			SendResolved     bool   `yaml:"send_resolved"`
		} `yaml:"email_configs"`
	} `yaml:"receivers"`
}

type webhookConfig struct {
	URL          string `yaml:"url"`
	SendResolved bool   `yaml:"send_resolved"`
	HTTPConfig   struct {
		Authorization struct {
			Type            string `yaml:"type"`
			CredentialsFile string `yaml:"credentials_file"`
		} `yaml:"authorization"`
	} `yaml:"http_config"`
}

func (c *alertmanagerConfig) autoscalerWebhook(t *testing.T) webhookConfig {
	t.Helper()
	return c.webhook(t, "wedsync-autoscaler")
}

func (c *alertmanagerConfig) webhook(t *testing.T, receiver string) webhookConfig {
	t.Helper()
	for _, r := range c.Receivers {
		if r.Name == receiver {
			if len(r.WebhookConfigs) != 1 {
				t.Fatalf("%s has %d webhook_configs, want 1", receiver, len(r.WebhookConfigs))
			}
			return r.WebhookConfigs[0]
		}
	}
	t.Fatalf("no %s receiver", receiver)
	return webhookConfig{}
}

// TestAlertmanagerContract checks the route tree against docs/contracts.md.
func TestAlertmanagerContract(t *testing.T) {
	t.Parallel()
	th, err := EmbeddedThresholds()
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range Profiles() {
		files, err := Render(profile, DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		var cfg alertmanagerConfig
		if err := yaml.Unmarshal(files[AlertmanagerFile], &cfg); err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		r := cfg.Route
		am := th.Profiles[profile].Alertmanager
		if r.Receiver != "operations" || !slices.Equal(r.GroupBy, []string{"alertname", "scaling_service"}) ||
			r.GroupWait != am.GroupWait.String() || r.GroupInterval != am.GroupInterval.String() || r.RepeatInterval != am.RepeatInterval.String() {
			t.Errorf("%s: root route = %+v", profile, r)
		}
		// The autoscaler's route continues, so that alerts also meant for
		// people (notify="platform") reach the platform routes after it.
		// So does the route of its own alerts, so that the over-ceiling
		// alert (a cost alert too) reaches the cost route.
		if len(r.Routes) != 5 || r.Routes[0].Receiver != "wedsync-autoscaler" ||
			!slices.Equal(r.Routes[0].Matchers, []string{`scaling_action!=""`}) || !r.Routes[0].Continue ||
			!slices.Equal(r.Routes[0].GroupBy, []string{"alertname", "scaling_service"}) || len(r.Routes[0].Routes) != 0 ||
			r.Routes[1].Receiver != "autoscaler-oncall" || !r.Routes[1].Continue || len(r.Routes[1].Routes) != 0 ||
			r.Routes[2].Receiver != "platform-pager" || !slices.Equal(r.Routes[2].Matchers, []string{`notify="platform"`, `severity="page"`}) ||
			r.Routes[3].Receiver != "platform-slack" || !slices.Equal(r.Routes[3].Matchers, []string{`notify="platform"`}) {
			t.Errorf("%s: child routes = %+v", profile, r.Routes)
		}
		if len(r.Routes) == 5 {
			ar, at := r.Routes[1], th.Profiles[profile].AutoscalerAlerts.Alertmanager
			if !slices.Equal(ar.Matchers, []string{`alertname=~"` + strings.Join(AutoscalerAlerts, "|") + `"`}) ||
				!slices.Equal(ar.GroupBy, []string{"alertname", "service", "benchmark"}) || ar.GroupWait != at.GroupWait.String() ||
				ar.GroupInterval != at.GroupInterval.String() || ar.RepeatInterval != at.RepeatInterval.String() {
				t.Errorf("%s: route of the autoscaler's own alerts = %+v", profile, ar)
			}
		}
		// Cost alerts: to the autoscaler's cost webhook and to people, each
		// child continuing to the next, with the profile's cost timings.
		if len(r.Routes) == 5 {
			cr, ct := r.Routes[4], th.Profiles[profile].Cost.Alertmanager
			if !slices.Equal(cr.Matchers, []string{`cost_alert_type!=""`}) || cr.GroupWait != ct.GroupWait.String() ||
				cr.GroupInterval != ct.GroupInterval.String() || cr.RepeatInterval != ct.RepeatInterval.String() ||
				len(cr.Routes) != 3 || cr.Routes[0].Receiver != "wedsync-autoscaler-costs" || !cr.Routes[0].Continue ||
				cr.Routes[1].Receiver != "operations-slack" || !cr.Routes[1].Continue || cr.Routes[2].Receiver != "operations-email" {
				t.Errorf("%s: cost route = %+v", profile, cr)
			}
		}
		var names []string
		for _, rc := range cfg.Receivers {
			names = append(names, rc.Name)
			if rc.Name == "operations" && len(rc.WebhookConfigs) != 0 {
				t.Errorf("%s: operations must stay a placeholder without integrations", profile)
			}
		}
		if !slices.Equal(names, []string{"operations", "wedsync-autoscaler", "wedsync-autoscaler-costs", "autoscaler-oncall", "platform-pager", "platform-slack", "operations-slack", "operations-email"}) {
			t.Errorf("%s: receivers = %q", profile, names)
		}
		// People hear of the autoscaler's own alerts on Slack and by email,
		// from the deployment's parameters, resolutions included.
		dp := DefaultParams()
		for _, rc := range cfg.Receivers {
			for _, sc := range rc.SlackConfigs {
				if sc.APIURLFile != dp.SlackWebhookURLFile || !sc.SendResolved {
					t.Errorf("%s: %s slack config = %+v", profile, rc.Name, sc)
				}
			}
			if rc.Name != "autoscaler-oncall" {
				continue
			}
			if len(rc.SlackConfigs) != 1 || len(rc.EmailConfigs) != 1 {
				t.Errorf("%s: autoscaler-oncall has %d slack and %d email configs, want 1 and 1", profile, len(rc.SlackConfigs), len(rc.EmailConfigs))
				continue
			}
			if e := rc.EmailConfigs[0]; e.To != dp.Email.To || e.From != dp.Email.From || e.Smarthost != dp.Email.Smarthost ||
				e.AuthUsername != dp.Email.AuthUsername || e.AuthPasswordFile != dp.Email.AuthPasswordFile || e.RequireTLS != nil || !e.SendResolved {
				t.Errorf("%s: autoscaler-oncall email = %+v", profile, e)
			}
		}
		if cc := cfg.webhook(t, "wedsync-autoscaler-costs"); cc.URL != DefaultParams().CostWebhookURL || !cc.SendResolved ||
			cc.HTTPConfig.Authorization.Type != "Bearer" || cc.HTTPConfig.Authorization.CredentialsFile != DefaultParams().WebhookCredentialsFile {
			t.Errorf("%s: cost webhook = %+v", profile, cc)
		}
		wc := cfg.autoscalerWebhook(t)
		if wc.URL != DefaultParams().WebhookURL || !wc.SendResolved ||
			wc.HTTPConfig.Authorization.Type != "Bearer" ||
			wc.HTTPConfig.Authorization.CredentialsFile != DefaultParams().WebhookCredentialsFile {
			t.Errorf("%s: webhook = %+v", profile, wc)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func renderedRules(t *testing.T, profile, name string) ruleFile {
	t.Helper()
	files, err := Render(profile, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(files[name]))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s/%s: %v", profile, name, err)
	}
	return rf
}

// The names of docs/contracts.md. Changing them here means changing the
// contract first.
var (
	contractSeries = []string{
		"service:cpu_utilization:ratio",
		"service:cpu_utilization:ratio_avg1h",
		"service:memory_utilization:ratio",
		"service:memory_utilization:ratio_avg1h",
		"service:http_request_duration_seconds:p95",
		"service:http_request_duration_seconds:p99",
		"service:http_requests:rate",
		"service:http_errors:ratio_rate",
		"service:replicas:count",
		"db:cpu_utilization:ratio",
		"db:connections:ratio",
		"service:http_request_duration_seconds:p50",
		"db:query_latency_seconds:mean",
		"db:query_latency_seconds:p95",
		"db:cache_hit:ratio",
		"db:replication_lag:seconds",
		"db:lock_waits:count",
	}
	// baselineSeries are the learned bands' series (baseline.rules.yml) an
	// alert may read besides the normalized ones.
	baselineSeries = []string{"baseline:level", "baseline:level:avg", "baseline:upper_band", "baseline:lower_band", "baseline:expected"}
	contractAlerts = map[string][2]string{ // alert -> scaling_action, reason
		"ServiceCPUHigh":                         {"scale_up", "high_cpu_usage"},
		"ServiceCPUSustainedHigh":                {"scale_up", "high_cpu_usage"},
		"DatabaseCPUHigh":                        {"scale_up", "database_capacity"},
		"DatabaseConnectionsHigh":                {"scale_up", "database_capacity"},
		"APILatencyP95High":                      {"scale_up", "response_time_degradation"},
		"APILatencyP99High":                      {"scale_up", "response_time_degradation"},
		"ServiceUnderutilized":                   {"scale_down", "resource_underutilization"},
		"ServiceCPUSaturationPredicted":          {"scale_up", "predicted_saturation"},
		"DatabaseConnectionsSaturationPredicted": {"scale_up", "predicted_saturation"},
		"APILatencyAnomalyRisingLoad":            {"scale_up", "latency_anomaly"},
	}
	sources = []string{"node", "postgres", "app", "kubernetes", "demo"}
)

// TestRecordingRulesContract: only contract names are recorded, every
// normalized series is produced, and no two adapters write the same series.
func TestRecordingRulesContract(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		rf := renderedRules(t, profile, RecordingRulesFile)
		seen := map[string]bool{}
		written := map[string]string{} // record + source -> group
		usedSources := map[string]bool{}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record == "" {
					t.Errorf("%s: group %s holds a non-recording rule", profile, g.Name)
					continue
				}
				if !slices.Contains(contractSeries, r.Record) {
					t.Errorf("%s: %s is not a normalized series of docs/contracts.md", profile, r.Record)
				}
				seen[r.Record] = true
				if strings.HasSuffix(r.Record, "_avg1h") {
					continue // keeps the source of the series it averages
				}
				src := r.Labels["source"]
				if !slices.Contains(sources, src) {
					t.Errorf("%s: %s in %s has source %q, want one of %q", profile, r.Record, g.Name, src, sources)
				}
				usedSources[src] = true
				key := r.Record + "{source=" + src + "}"
				if other, ok := written[key]; ok {
					t.Errorf("%s: %s written by both %s and %s", profile, key, other, g.Name)
				}
				written[key] = g.Name
			}
		}
		for _, s := range contractSeries {
			if !seen[s] {
				t.Errorf("%s: no rule records %s", profile, s)
			}
		}
		for _, s := range sources {
			if !usedSources[s] {
				t.Errorf("%s: no adapter for source %s", profile, s)
			}
		}
	}
}

// TestAlertingRulesContract: exactly the alerts of docs/contracts.md, with
// their labels and annotations, reading only normalized series.
func TestAlertingRulesContract(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		rf := renderedRules(t, profile, AlertingRulesFile)
		got := map[string]bool{}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				want, ok := contractAlerts[r.Alert]
				if !ok {
					t.Errorf("%s: alert %q is not in docs/contracts.md", profile, r.Alert)
					continue
				}
				got[r.Alert] = true
				if r.Labels["scaling_service"] != "{{ $labels.service }}" ||
					r.Labels["scaling_action"] != want[0] || r.Labels["reason"] != want[1] || r.Labels["severity"] == "" {
					t.Errorf("%s: %s labels = %v", profile, r.Alert, r.Labels)
				}
				for _, a := range []string{"summary", "description", "value", "threshold", "runbook_url"} {
					if r.Annotations[a] == "" {
						t.Errorf("%s: %s has no %s annotation", profile, r.Alert, a)
					}
				}
				if len(r.Annotations) != 5 {
					t.Errorf("%s: %s annotations = %v, want summary, description, value, threshold, runbook_url", profile, r.Alert, r.Annotations)
				}
				if r.Annotations["value"] != "{{ $value }}" {
					t.Errorf("%s: %s value annotation = %q", profile, r.Alert, r.Annotations["value"])
				}
				if !strings.Contains(r.Expr, "max by (service)") {
					t.Errorf("%s: %s does not aggregate sources away: %s", profile, r.Alert, r.Expr)
				}
				for _, word := range strings.FieldsFunc(r.Expr, func(c rune) bool {
					return !(c == ':' || c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
				}) {
					if strings.Contains(word, ":") && !slices.Contains(contractSeries, word) && !slices.Contains(baselineSeries, word) {
						t.Errorf("%s: %s reads %s, not a normalized series", profile, r.Alert, word)
					}
				}
			}
		}
		for a := range contractAlerts {
			if !got[a] {
				t.Errorf("%s: alert %s missing", profile, a)
			}
		}
	}
}

// The cost alerts of docs/contracts.md ("Cost alerts"), by cost_alert_type.
var (
	costAlerts = map[string]string{
		"CostBudgetThresholdCrossed": "budget_threshold",
		"CostSpike":                  "cost_spike",
		"UsageSpike":                 "usage_spike",
		"CostProjectedOverBudget":    "projected_overrun",
		"CapacityExhaustionSoon":     "capacity_exhaustion",
		"UsersBeyondGrowthPhase":     "users_beyond_phase",
		"BillingSourceDown":          "billing_source_down",
	}
	// exporterMetrics are the wedsync-exporter metrics the cost alerts may read.
	exporterMetrics = []string{
		"wedsync_budget_utilization_ratio", "wedsync_budget_alert_threshold_ratio", "wedsync_budget_projected_spend_usd",
		"wedsync_budget_limit_usd", "wedsync_budget_projection_confidence_ratio", "wedsync_cost_daily_usd",
		"wedsync_cost_daily_baseline_usd", "wedsync_usage_daily", "wedsync_usage_daily_baseline",
		"wedsync_capacity_exhaustion_eta_seconds", "wedsync_users", "wedsync_growth_phase_max_users",
		"wedsync_exporter_source_up",
	}
)

// TestCostRulesContract: exactly the cost alerts of docs/contracts.md, each
// with its cost_alert_type, a severity, the four annotations and no
// scaling_action, reading only wedsync-exporter's metrics.
func TestCostRulesContract(t *testing.T) {
	t.Parallel()
	for _, profile := range Profiles() {
		rf := renderedRules(t, profile, CostRulesFile)
		got := map[string]bool{}
		severities := map[string]bool{}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				typ, ok := costAlerts[r.Alert]
				if !ok {
					t.Errorf("%s: alert %q is not a cost alert of docs/contracts.md", profile, r.Alert)
					continue
				}
				got[r.Alert] = true
				if r.Labels["cost_alert_type"] != typ || !slices.Contains([]string{"info", "warning", "critical"}, r.Labels["severity"]) {
					t.Errorf("%s: %s labels = %v", profile, r.Alert, r.Labels)
				}
				if r.Alert == "CostBudgetThresholdCrossed" {
					severities[r.Labels["severity"]] = true
				}
				if _, ok := r.Labels["scaling_action"]; ok {
					t.Errorf("%s: %s carries scaling_action: it would scale", profile, r.Alert)
				}
				if len(r.Annotations) != 5 || r.Annotations["value"] != "{{ $value }}" || r.Annotations["summary"] == "" || r.Annotations["runbook_url"] == "" ||
					r.Annotations["description"] == "" || r.Annotations["threshold"] == "" {
					t.Errorf("%s: %s annotations = %v", profile, r.Alert, r.Annotations)
				}
				for _, word := range strings.FieldsFunc(r.Expr, func(c rune) bool {
					return !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
				}) {
					if strings.HasPrefix(word, "wedsync_") && !slices.Contains(exporterMetrics, word) {
						t.Errorf("%s: %s reads %s, not a metric of wedsync-exporter's contract", profile, r.Alert, word)
					}
				}
			}
		}
		for a := range costAlerts {
			if !got[a] {
				t.Errorf("%s: cost alert %s missing", profile, a)
			}
		}
		if len(severities) != 3 {
			t.Errorf("%s: budget crossings have severities %v, want info, warning and critical", profile, severities)
		}
	}
}
