package rules

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"text/template"
)

//go:generate go run ./cmd/rulegen -out dist

// The rendered files, by the name Render gives them.
const (
	RecordingRulesFile = "recording.rules.yml"
	AlertingRulesFile  = "alerting.rules.yml"
	AlertmanagerFile   = "alertmanager.yml"
	// CostRulesFile holds the cost and capacity alerts, which read
	// wedsync-exporter's metrics and go to people and to the autoscaler's
	// cost webhook (docs/contracts.md).
	CostRulesFile = "cost.rules.yml"
	// LongTermRulesFile holds hourly downsamples for year-long dashboards.
	LongTermRulesFile = "long-term.rules.yml"
	// SLORulesFile holds the SLIs, error budgets and burn-rate alerts.
	SLORulesFile = "slo.rules.yml"
	// BaselineRulesFile records the learned bands.
	BaselineRulesFile = "baseline.rules.yml"
	// WarningRulesFile holds the early warnings to people: anomalies,
	// latency degradation, scrape targets down.
	WarningRulesFile = "warnings.rules.yml"
	// AutoscalerRulesFile holds the alerts on the autoscaler's own
	// metrics (an actuator whose state cannot be read).
	AutoscalerRulesFile = "autoscaler.rules.yml"
)

// Files lists the rendered file names in a stable order.
var Files = []string{RecordingRulesFile, BaselineRulesFile, AlertingRulesFile, CostRulesFile, LongTermRulesFile,
	SLORulesFile, WarningRulesFile, AutoscalerRulesFile, AlertmanagerFile}

// RuleFiles are the rendered files Prometheus loads (rule_files).
// The order is the order unit tests evaluate groups in: the bands before
// the alerts that read them.
var RuleFiles = []string{RecordingRulesFile, BaselineRulesFile, AlertingRulesFile, CostRulesFile, LongTermRulesFile,
	SLORulesFile, WarningRulesFile, AutoscalerRulesFile}

// Params are the parts of the output that depend on where it is deployed,
// not on the profile.
type Params struct {
	WebhookURL             string // e.g. http://127.0.0.1:9681/webhook/alertmanager
	WebhookCredentialsFile string // file holding the bearer token Alertmanager sends
	// CostWebhookURL receives the cost and capacity alerts (the autoscaler
	// records them in cost_alerts); empty means WebhookURL + "/costs".
	CostWebhookURL string
	// SlackWebhookURLFile holds the Slack incoming-webhook URL that every
	// Slack integration posts to (Alertmanager reads the file at each
	// notification: the URL is a secret and can be rotated without a
	// reload); empty means DefaultSlackWebhookURLFile.
	SlackWebhookURLFile string
	// Email also mails the autoscaler's own alerts to people when its To
	// is set.
	Email EmailParams
}

// EmailParams configure the autoscaler alerts' email integration.
type EmailParams struct {
	To        string // one address or a comma-separated list
	From      string
	Smarthost string // host:port of the SMTP relay
	// AuthUsername and AuthPasswordFile log in to the relay (both or
	// neither); the password is read from the file, never written here.
	AuthUsername     string
	AuthPasswordFile string
	// NoTLS sends without STARTTLS, for a relay on loopback; Alertmanager
	// otherwise refuses a relay that does not offer it.
	NoTLS bool
}

// DefaultSlackWebhookURLFile is where the Slack webhook URL is read from
// unless Params says otherwise.
const DefaultSlackWebhookURLFile = "/etc/wedsync/slack-webhook-url"

// DefaultParams point at an autoscaler on its default port on the same host.
func DefaultParams() Params {
	return Params{
		WebhookURL:             "http://localhost:9681/webhook/alertmanager",
		WebhookCredentialsFile: "/etc/wedsync/webhook-token",
		CostWebhookURL:         "http://localhost:9681/webhook/alertmanager/costs",
		SlackWebhookURLFile:    DefaultSlackWebhookURLFile,
		Email: EmailParams{
			To:               "autoscaler-oncall@wedsync.example.com",
			From:             "alertmanager@wedsync.example.com",
			Smarthost:        "smtp.wedsync.example.com:587",
			AuthUsername:     "alertmanager@wedsync.example.com",
			AuthPasswordFile: "/etc/wedsync/smtp-password",
		},
	}
}

// withDefaults derives CostWebhookURL from WebhookURL when it is empty
// (the path gains /costs, the query and fragment stay where they were) and
// reads Slack's URL from its default file when none is named.
func (p Params) withDefaults() Params {
	if p.CostWebhookURL == "" && p.WebhookURL != "" {
		if u, err := url.Parse(p.WebhookURL); err == nil {
			p.CostWebhookURL = u.JoinPath("costs").String()
		}
	}
	if p.SlackWebhookURLFile == "" {
		p.SlackWebhookURLFile = DefaultSlackWebhookURLFile
	}
	return p
}

func (e EmailParams) validate() []error {
	if e == (EmailParams{}) {
		return nil
	}
	var errs []error
	if e.To == "" {
		errs = append(errs, errors.New("Email.To: required when any other email setting is given"))
	} else if _, err := mail.ParseAddressList(e.To); err != nil {
		errs = append(errs, fmt.Errorf("Email.To: %q: %w", e.To, err))
	}
	if e.From == "" {
		errs = append(errs, errors.New("Email.From: required with Email.To"))
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		errs = append(errs, fmt.Errorf("Email.From: %q: %w", e.From, err))
	}
	if e.Smarthost == "" {
		errs = append(errs, errors.New("Email.Smarthost: required with Email.To"))
	} else if host, port, err := net.SplitHostPort(e.Smarthost); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("Email.Smarthost: must be host:port, got %q", e.Smarthost))
	}
	if (e.AuthUsername == "") != (e.AuthPasswordFile == "") {
		errs = append(errs, errors.New("Email.AuthUsername, Email.AuthPasswordFile: set both or neither"))
	}
	return errs
}

// Validate rejects parameters Alertmanager would refuse or misread.
func (p Params) Validate() error {
	var errs []error
	if p.WebhookURL == "" {
		errs = append(errs, errors.New("WebhookURL: must not be empty"))
	} else if u, err := url.Parse(p.WebhookURL); err != nil {
		errs = append(errs, fmt.Errorf("WebhookURL: %w", err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("WebhookURL: must be an absolute http or https URL, got %q", p.WebhookURL))
	}
	if p.CostWebhookURL != "" {
		if u, err := url.Parse(p.CostWebhookURL); err != nil {
			errs = append(errs, fmt.Errorf("CostWebhookURL: %w", err))
		} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("CostWebhookURL: must be an absolute http or https URL, got %q", p.CostWebhookURL))
		}
	}
	if p.WebhookCredentialsFile == "" {
		// Without it Alertmanager would send no token and the autoscaler
		// would answer 401 to every notification.
		errs = append(errs, errors.New("WebhookCredentialsFile: must not be empty"))
	}
	errs = append(errs, p.Email.validate()...)
	return errors.Join(errs...)
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// The templates use << >> as delimiters because the output itself is full of
// Prometheus templates ({{ $labels.service }}) that must pass through as-is.
var templates = template.Must(template.New("").
	Delims("<<", ">>").
	Option("missingkey=error").
	Funcs(template.FuncMap{
		"num":   formatFloat,
		"pct":   percent,
		"quote": yamlQuote,
		"over":  overPercent,
		"ratio": percentRatio,
		"secs":  func(d Duration) string { return formatFloat(d.Seconds()) },
		"le":    bucketBound,
		"sli":   func(kind string, w Duration, le string) sliWindow { return sliWindow{kind, w, le} },
		"times": func(f float64, d Duration) Duration { return Duration(f * float64(d)) },
	}).
	ParseFS(templateFS, "templates/*.tmpl"))

// view is what the templates see.
type view struct {
	Name string
	*Profile
	Params Params
	SLOs   []SLO
	t      *Thresholds
}

// Runbook is the runbook_url of the named alert.
func (v view) Runbook(alertname string) (string, error) { return yamlQuote(v.t.RunbookURL(alertname)) }

// SLOKinds are the SLIs with at least one objective, for the templates.
func (v view) SLOKinds() []SLOKind {
	var out []SLOKind
	for _, k := range SLOKinds {
		for _, s := range v.SLOs {
			if s.Objective(k.Name) > 0 {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// Render renders the files of the named profile of the embedded
// thresholds.yml: file name -> content.
func Render(profile string, p Params) (map[string][]byte, error) {
	t, err := embedded()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", profile, err)
	}
	return t.Render(profile, p)
}

// Render renders the files of the named profile of t.
func (t *Thresholds) Render(profile string, p Params) (map[string][]byte, error) {
	prof := t.Profiles[profile]
	if prof == nil {
		return nil, fmt.Errorf("render %s: unknown profile (known: %s)", profile, strings.Join(t.ProfileNames(), ", "))
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("render %s: params: %w", profile, err)
	}
	p = p.withDefaults() // from a valid WebhookURL, a valid CostWebhookURL
	v := view{Name: profile, Profile: prof, Params: p, SLOs: t.SLOs, t: t}
	out := make(map[string][]byte, len(Files))
	for _, name := range Files {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, name+".tmpl", v); err != nil {
			return nil, fmt.Errorf("render %s %s: %w", profile, name, err)
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

// sliWindow is what the SLO template's request definitions take: the SLI,
// the window and the latency bound's le matcher.
type sliWindow struct {
	Kind   string
	Window Duration
	LE     string
}

// bucketBound is a PromQL regular expression matching a histogram's le
// label for the bound v, as Prometheus 2 writes it ("2") and as Prometheus 3
// normalizes it ("2.0").
func bucketBound(v float64) string {
	s := strings.ReplaceAll(formatFloat(v), ".", `\\.`)
	if !strings.ContainsAny(s, ".e") {
		s += `(\\.0)?`
	}
	return s
}

// percent prints a ratio as a percentage for human text ("80%"), rounded
// so that 0.7 prints as 70% rather than 70.00000000000001%.
func percent(ratio float64) string {
	return formatFloat(math.Round(ratio*1e6)/1e4) + "%"
}

// percentRatio prints a whole percentage as a ratio (75 → "0.75").
func percentRatio(p int) string { return formatFloat(float64(p) / 100) }

// overPercent prints how far above 1 a ratio is, in percent (1.5 → "50").
func overPercent(ratio float64) string {
	return formatFloat(math.Round((ratio-1)*1e6) / 1e4)
}

// yamlQuote quotes s as a YAML double-quoted scalar. JSON strings are valid
// YAML, so a URL or path with ':' or '#' in it cannot change the document.
func yamlQuote(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", fmt.Errorf("quote %q: %w", s, err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
