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
}

type alertmanagerConfig struct {
	Route struct {
		Receiver       string   `yaml:"receiver"`
		GroupBy        []string `yaml:"group_by"`
		GroupWait      string   `yaml:"group_wait"`
		GroupInterval  string   `yaml:"group_interval"`
		RepeatInterval string   `yaml:"repeat_interval"`
		Routes         []struct {
			Receiver string   `yaml:"receiver"`
			Matchers []string `yaml:"matchers"`
			GroupBy  []string `yaml:"group_by"`
		} `yaml:"routes"`
	} `yaml:"route"`
	Receivers []struct {
		Name           string          `yaml:"name"`
		WebhookConfigs []webhookConfig `yaml:"webhook_configs"`
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
	for _, r := range c.Receivers {
		if r.Name == "wedsync-autoscaler" {
			if len(r.WebhookConfigs) != 1 {
				t.Fatalf("wedsync-autoscaler has %d webhook_configs, want 1", len(r.WebhookConfigs))
			}
			return r.WebhookConfigs[0]
		}
	}
	t.Fatal("no wedsync-autoscaler receiver")
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
		if len(r.Routes) != 1 || r.Routes[0].Receiver != "wedsync-autoscaler" ||
			!slices.Equal(r.Routes[0].Matchers, []string{`scaling_action!=""`}) ||
			!slices.Equal(r.Routes[0].GroupBy, []string{"alertname", "scaling_service"}) {
			t.Errorf("%s: child routes = %+v", profile, r.Routes)
		}
		var names []string
		for _, rc := range cfg.Receivers {
			names = append(names, rc.Name)
			if rc.Name == "operations" && len(rc.WebhookConfigs) != 0 {
				t.Errorf("%s: operations must stay a placeholder without integrations", profile)
			}
		}
		if !slices.Equal(names, []string{"operations", "wedsync-autoscaler"}) {
			t.Errorf("%s: receivers = %q", profile, names)
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
	}
	contractAlerts = map[string][2]string{ // alert -> scaling_action, reason
		"ServiceCPUHigh":          {"scale_up", "high_cpu_usage"},
		"ServiceCPUSustainedHigh": {"scale_up", "high_cpu_usage"},
		"DatabaseCPUHigh":         {"scale_up", "database_capacity"},
		"DatabaseConnectionsHigh": {"scale_up", "database_capacity"},
		"APILatencyP95High":       {"scale_up", "response_time_degradation"},
		"APILatencyP99High":       {"scale_up", "response_time_degradation"},
		"ServiceUnderutilized":    {"scale_down", "resource_underutilization"},
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
				for _, a := range []string{"summary", "description", "value", "threshold"} {
					if r.Annotations[a] == "" {
						t.Errorf("%s: %s has no %s annotation", profile, r.Alert, a)
					}
				}
				if len(r.Annotations) != 4 {
					t.Errorf("%s: %s annotations = %v, want summary, description, value, threshold", profile, r.Alert, r.Annotations)
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
					if strings.Contains(word, ":") && !slices.Contains(contractSeries, word) {
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
