package actuator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// HTTPConfig drives a service through a JSON HTTP API: GET url reads the
// state, apply_method apply_url sets it.
type HTTPConfig struct {
	URL           string            `yaml:"url"`
	ApplyURL      string            `yaml:"apply_url,omitempty"`      // default: url
	ApplyMethod   string            `yaml:"apply_method,omitempty"`   // default: PUT
	BodyTemplate  string            `yaml:"body_template,omitempty"`  // default: {"replicas": {{.Replicas}}}
	ReplicasField string            `yaml:"replicas_field,omitempty"` // default: replicas
	TierField     string            `yaml:"tier_field,omitempty"`     // default: tier
	Headers       map[string]string `yaml:"headers,omitempty"`
	BearerToken   config.Secret     `yaml:"bearer_token,omitempty"`
	Timeout       config.Duration   `yaml:"timeout,omitempty"` // default: 10s
}

// Validate returns every problem, each prefixed with path.
func (c *HTTPConfig) Validate(path string) []error {
	var errs []error
	check := func(field, raw string, required bool) {
		if raw == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s.%s: required", path, field))
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not an http(s) URL", path, field, redact(raw)))
		} else if u.User != nil {
			errs = append(errs, fmt.Errorf("%s.%s: credentials in the URL are not allowed; use bearer_token", path, field))
		}
	}
	check("url", c.URL, true)
	check("apply_url", c.ApplyURL, false)
	switch strings.ToUpper(c.ApplyMethod) {
	case "", "PUT", "POST", "PATCH":
	default:
		errs = append(errs, fmt.Errorf("%s.apply_method: %q is not PUT, POST or PATCH", path, c.ApplyMethod))
	}
	if c.BodyTemplate != "" {
		if _, err := template.New("body").Option("missingkey=error").Parse(c.BodyTemplate); err != nil {
			errs = append(errs, fmt.Errorf("%s.body_template: %w", path, err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must not be negative", path))
	}
	for k := range c.Headers {
		if strings.EqualFold(k, "Authorization") {
			errs = append(errs, fmt.Errorf("%s.headers.%s: put credentials in bearer_token (file or env), not inline", path, k))
		}
	}
	if err := c.BearerToken.Validate(path + ".bearer_token"); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// HTTP is the http actuator.
type HTTP struct {
	cfg    HTTPConfig
	body   *template.Template
	token  string
	client *http.Client
	logger *slog.Logger
}

var _ Actuator = (*HTTP)(nil)

// NewHTTP builds an http actuator; the bearer token is read once here.
func NewHTTP(c HTTPConfig, logger *slog.Logger) (*HTTP, error) {
	if c.ApplyURL == "" {
		c.ApplyURL = c.URL
	}
	if c.ApplyMethod == "" {
		c.ApplyMethod = http.MethodPut
	}
	c.ApplyMethod = strings.ToUpper(c.ApplyMethod)
	if c.BodyTemplate == "" {
		c.BodyTemplate = `{"replicas": {{.Replicas}}}`
	}
	if c.ReplicasField == "" {
		c.ReplicasField = "replicas"
	}
	if c.TierField == "" {
		c.TierField = "tier"
	}
	if c.Timeout == 0 {
		c.Timeout = config.Duration(10 * time.Second)
	}
	tmpl, err := template.New("body").Option("missingkey=error").Parse(c.BodyTemplate)
	if err != nil {
		return nil, fmt.Errorf("body_template: %w", err)
	}
	token, err := c.BearerToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("bearer_token: %w", err)
	}
	return &HTTP{cfg: c, body: tmpl, token: token, client: &http.Client{Timeout: c.Timeout.D()}, logger: logger}, nil
}

// Current reads the state with GET url.
func (h *HTTP) Current(ctx context.Context) (State, error) {
	body, err := h.do(ctx, http.MethodGet, h.cfg.URL, nil)
	if err != nil {
		return State{}, err
	}
	return h.parse(body)
}

// Apply sends the target state.
func (h *HTTP) Apply(ctx context.Context, target State) error {
	var buf bytes.Buffer
	if err := h.body.Execute(&buf, target); err != nil {
		return fmt.Errorf("render body: %w", err)
	}
	_, err := h.do(ctx, h.cfg.ApplyMethod, h.cfg.ApplyURL, buf.Bytes())
	return err
}

func (h *HTTP) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	data, resp, err := roundTrip(h.client, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, redact(u), resp.Status, snippet(data))
	}
	return data, nil
}

func (h *HTTP) parse(body []byte) (State, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return State{}, fmt.Errorf("GET %s: response is not a JSON object: %s", redact(h.cfg.URL), snippet(body))
	}
	var s State
	if v, ok := m[h.cfg.TierField].(string); ok && v != "" {
		s.Tier = v
		return s, nil
	}
	n, ok := m[h.cfg.ReplicasField].(float64)
	if !ok || n < 0 || n != float64(int(n)) {
		return State{}, fmt.Errorf("GET %s: field %q is not a non-negative integer in %s", redact(h.cfg.URL), h.cfg.ReplicasField, snippet(body))
	}
	s.Replicas = int(n)
	return s, nil
}

// redact hides credentials and query values of a URL in messages, as
// Alertmanager does for webhook URLs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	// Tokens travel in query strings too (?token=, ?api_key=).
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			q.Set(k, "xxxxx")
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
