package compose_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
	"github.com/wedsync/scaling/rules"
)

var update = flag.Bool("update", false, "rewrite alertmanager/alertmanager.yml from rules/")

func load(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"},
		cli.WithWorkingDirectory("."),
		cli.WithEnvFiles(".env.example"),
		cli.WithDotEnv,
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// oneShot services run to completion; the others run for good.
var oneShot = map[string]bool{"wedsync-init": true, "grafana-plugin": true}

func TestComposeResolves(t *testing.T) {
	t.Parallel()
	p := load(t)
	want := []string{"alertmanager", "demo-api", "grafana", "grafana-plugin", "node-exporter", "postgres", "postgres-exporter",
		"prometheus", "wedsync-autoscaler", "wedsync-exporter", "wedsync-init"}
	got := p.ServiceNames()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	root, _ := filepath.Abs("..")
	for _, name := range got {
		s := p.Services[name]
		t.Run(name, func(t *testing.T) {
			if s.Image == "" && s.Build == nil {
				t.Error("neither image nor build")
			}
			if s.Build != nil {
				df := s.Build.Dockerfile
				if !filepath.IsAbs(df) {
					df = filepath.Join(s.Build.Context, df)
				}
				if _, err := os.Stat(df); err != nil {
					t.Errorf("dockerfile: %v", err)
				}
				if s.Build.Context != root {
					t.Errorf("build context %s, want the repository root %s", s.Build.Context, root)
				}
				for _, arg := range []string{"MODULE", "CMD"} {
					if strings.HasSuffix(df, "go.Dockerfile") {
						v := s.Build.Args[arg]
						if v == nil || *v == "" {
							t.Errorf("build arg %s missing", arg)
						}
					}
				}
				if strings.HasSuffix(df, "go.Dockerfile") {
					mod, cmd := *s.Build.Args["MODULE"], *s.Build.Args["CMD"]
					if _, err := os.Stat(filepath.Join(root, mod, "cmd", cmd)); err != nil {
						t.Errorf("build of %s/cmd/%s: %v", mod, cmd, err)
					}
				}
			}
			if oneShot[name] {
				if s.Restart != "no" {
					t.Errorf("one-shot service restarts %q", s.Restart)
				}
			} else {
				if s.Restart != "unless-stopped" {
					t.Errorf("restart %q, want unless-stopped", s.Restart)
				}
				if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
					t.Error("no health check")
				}
			}
			for _, v := range s.Volumes {
				switch v.Type {
				case types.VolumeTypeBind:
					if _, err := os.Stat(v.Source); err != nil && v.Source != "/" {
						t.Errorf("bind mount source: %v", err)
					}
				case types.VolumeTypeVolume:
					if _, ok := p.Volumes[v.Source]; !ok {
						t.Errorf("volume %s is not declared", v.Source)
					}
				}
			}
			for _, port := range s.Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("port %s:%d is published beyond loopback", port.HostIP, port.Target)
				}
			}
			for _, sec := range s.Secrets {
				def, ok := p.Secrets[sec.Source]
				if !ok {
					t.Errorf("secret %s is not declared", sec.Source)
					continue
				}
				if def.Environment == "" || p.Environment[def.Environment] == "" {
					t.Errorf("secret %s: environment %q is not set by .env.example", sec.Source, def.Environment)
				}
			}
			for dep := range s.DependsOn {
				if _, ok := p.Services[dep]; !ok {
					t.Errorf("depends on unknown service %s", dep)
				}
			}
		})
	}
	if !slices.Contains(p.Services["prometheus"].Command, "--storage.tsdb.retention.time=395d") {
		t.Error("Prometheus does not keep 13 months (--storage.tsdb.retention.time=395d)")
	}
	if v := p.Services["grafana"].Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; v == nil || *v != "wedsync-scaling-datasource" {
		t.Error("Grafana does not allow the unsigned plugin by id")
	}
	if url := p.Environment["WEDSYNC_DATABASE_URL"]; !strings.Contains(url, "wedsync:change-me-postgres@postgres:5432") {
		t.Errorf("WEDSYNC_DATABASE_URL does not interpolate POSTGRES_PASSWORD: %q", url)
	}
}

// TestPrometheusScrapesComposeServices: every target is a service of the
// stack on the port it listens on, and carries the `service` label the
// adapter rules need.
func TestPrometheusScrapesComposeServices(t *testing.T) {
	t.Parallel()
	p := load(t)
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	raw, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if st.Labels["service"] == "" {
				t.Errorf("job %s has no service label", sc.JobName)
			}
			for _, target := range st.Targets {
				host, _, _ := strings.Cut(target, ":")
				if host == "localhost" {
					host = "prometheus"
				}
				if _, ok := p.Services[host]; !ok {
					t.Errorf("job %s scrapes %s, not a service of the stack", sc.JobName, target)
				}
				scraped[host] = true
			}
		}
	}
	for _, s := range []string{"node-exporter", "postgres-exporter", "wedsync-exporter", "wedsync-autoscaler", "demo-api", "prometheus", "alertmanager"} {
		if !scraped[s] {
			t.Errorf("%s is not scraped", s)
		}
	}
	mounted := map[string]bool{}
	for _, v := range p.Services["prometheus"].Volumes {
		mounted[v.Target] = true
	}
	for _, f := range rules.RuleFiles {
		if !mounted["/etc/prometheus/rules/"+f] {
			t.Errorf("rules file %s is not mounted", f)
		}
	}
	promtool(t, "check", "config", "--syntax-only", "prometheus/prometheus.yml")
	files := []string{"check", "rules"}
	for _, f := range rules.RuleFiles {
		files = append(files, "../rules/dist/production/"+f)
	}
	promtool(t, files...)
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run `make deps`")
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// composeAlertmanager are the parameters the stack's Alertmanager
// configuration is rendered with: the autoscaler service, and the files
// its secrets are mounted at. No email: an SMTP relay's address would have
// to be written into the file, so people hear on Slack, whose URL comes
// from .env (ALERT_SLACK_WEBHOOK_URL).
var composeAlertmanager = rules.Params{
	WebhookURL:             "http://wedsync-autoscaler:9681/webhook/alertmanager",
	WebhookCredentialsFile: "/etc/wedsync/webhook-token",
	SlackWebhookURLFile:    "/etc/wedsync/slack-webhook-url",
}

// TestAlertmanagerConfigIsRendered: the stack's Alertmanager configuration
// is rules/'s production one, pointed at the autoscaler service, with
// every file it reads mounted from a secret of .env; the autoscaler's own
// alerts reach people on Slack, as amtool resolves the routes.
func TestAlertmanagerConfigIsRendered(t *testing.T) {
	t.Parallel()
	files, err := rules.Render("production", composeAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	want := files["alertmanager.yml"]
	if len(want) == 0 {
		t.Fatalf("rules.Render gave no alertmanager.yml (files: %v)", reflect.ValueOf(files).MapKeys())
	}
	const path = "alertmanager/alertmanager.yml"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(want) {
		t.Errorf("%s is not what rules/ renders (err %v): run go test -update", path, err)
	}
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatal("amtool not found: run `make deps`")
	}
	if out, err := exec.Command(amtool, "check-config", path).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}

	p := load(t)
	mounted := map[string]string{}
	for _, sec := range p.Services["alertmanager"].Secrets {
		def := p.Secrets[sec.Source]
		mounted[sec.Target] = p.Environment[def.Environment]
	}
	for _, f := range []string{composeAlertmanager.WebhookCredentialsFile, composeAlertmanager.SlackWebhookURLFile} {
		if mounted[f] == "" {
			t.Errorf("Alertmanager reads %s, which no secret set by .env.example is mounted at (mounted: %v)", f, mounted)
		}
	}
	if u := mounted[composeAlertmanager.SlackWebhookURLFile]; !strings.HasPrefix(u, "https://hooks.slack.com/") {
		t.Errorf("the Slack secret of .env.example is %q, not a Slack webhook URL", u)
	}
	routes := []struct {
		labels    []string
		receivers string
	}{
		{[]string{"alertname=WedsyncScalingActionFailed", "severity=critical", "service=api", "event_type=scale_up", "event_id=e1"}, "autoscaler-oncall"},
		{[]string{"alertname=WedsyncActuatorStateUnknown", "severity=critical", "service=api"}, "autoscaler-oncall"},
		{[]string{"alertname=WedsyncLoadTestRegression", "severity=warning", "benchmark=api-baseline", "test_type=baseline"}, "autoscaler-oncall"},
		{[]string{"alertname=WedsyncScaleUpOverCostCeiling", "severity=warning", "service=api", "cost_alert_type=slo_over_budget"},
			"autoscaler-oncall,wedsync-autoscaler-costs,operations-slack,operations-email"},
		{[]string{"alertname=ServiceCPUHigh", "scaling_service=api", "scaling_action=scale_up"}, "wedsync-autoscaler"},
		{[]string{"alertname=SomethingElse"}, "operations"},
	}
	for _, r := range routes {
		args := append([]string{"config", "routes", "test", "--config.file=" + path, "--verify.receivers=" + r.receivers}, r.labels...)
		if out, err := exec.Command(amtool, args...).CombinedOutput(); err != nil {
			t.Errorf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestServiceConfigurationsLoad(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("autoscaler/policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Parse(raw); err != nil {
		t.Errorf("autoscaler/policy.yml: %v", err)
	}
	var exp map[string]any
	raw, err = os.ReadFile("exporter/exporter.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &exp); err != nil {
		t.Errorf("exporter/exporter.yml: %v", err)
	}
}

// TestGrafanaProvisioning: both datasources with the uids the dashboards
// use, the plugin's settings by the names the plugin reads, its secrets as
// secure fields, and the dashboards folder mounted where the provider looks.
func TestGrafanaProvisioning(t *testing.T) {
	t.Parallel()
	p := load(t)
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type string
			JSONData        map[string]any    `yaml:"jsonData"`
			SecureJSONData  map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	raw, err := os.ReadFile("grafana/provisioning/datasources/datasources.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil {
		t.Fatal(err)
	}
	var pluginJSON struct {
		ID string `json:"id"`
	}
	pj, err := os.ReadFile("../grafana-plugin/src/plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pj, &pluginJSON); err != nil {
		t.Fatal(err)
	}
	settingsKeys := map[string]bool{}
	st := reflect.TypeFor[models.Settings]()
	for i := range st.NumField() {
		if tag, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
			settingsKeys[tag] = true
		}
	}
	uids := map[string]string{}
	for _, d := range ds.Datasources {
		uids[d.UID] = d.Type
		if d.Type != pluginJSON.ID {
			continue
		}
		for k := range d.JSONData {
			if !settingsKeys[k] {
				t.Errorf("plugin jsonData.%s is not a setting the plugin reads", k)
			}
		}
		for _, k := range []string{"password", "apiToken"} {
			if !strings.HasPrefix(d.SecureJSONData[k], "$__file{") {
				t.Errorf("secureJsonData.%s should come from a secret file", k)
			}
		}
		if h, _ := d.JSONData["host"].(string); p.Services[h].Name == "" {
			t.Errorf("plugin host %q is not a service", h)
		}
	}
	if uids["prometheus"] != "prometheus" || uids["wedsync-scaling"] != pluginJSON.ID {
		t.Errorf("datasource uids %v: want prometheus and wedsync-scaling (%s)", uids, pluginJSON.ID)
	}
	var dp struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		} `yaml:"providers"`
	}
	raw, err = os.ReadFile("grafana/provisioning/dashboards/dashboards.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &dp); err != nil || len(dp.Providers) != 1 {
		t.Fatalf("dashboards provider: %v", err)
	}
	found := false
	for _, v := range p.Services["grafana"].Volumes {
		if v.Target == dp.Providers[0].Options.Path {
			found = true
			matches, _ := filepath.Glob(filepath.Join(v.Source, "*.json"))
			if len(matches) != 5 {
				t.Errorf("%s holds %d dashboards, want 5", v.Source, len(matches))
			}
		}
	}
	if !found {
		t.Errorf("nothing is mounted at the provider's path %s", dp.Providers[0].Options.Path)
	}
}
