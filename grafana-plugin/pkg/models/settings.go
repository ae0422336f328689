// Package models holds what the plugin is configured with and what a query
// says: the datasource settings (jsonData and the secure fields) and one
// typed model per query type.
package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings is one datasource instance's configuration. Secrets come only
// from the decrypted secure fields, never from jsonData.
type Settings struct {
	// PostgreSQL holding the control plane's facts (core/store's schema).
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslMode"`
	// The control plane's admin API (wedsync-autoscaler), e.g.
	// http://wedsync-autoscaler:9681.
	APIURL string `json:"apiUrl"`
	// QueryTimeoutSeconds bounds each query (default 30).
	QueryTimeoutSeconds int `json:"queryTimeoutSeconds"`
	// StreamIntervalSeconds is the period of the live health summary
	// (default 2, at most 5: the dashboard must be sub-5-second).
	StreamIntervalSeconds int `json:"streamIntervalSeconds"`

	Secrets Secrets `json:"-"`
	// PlainSecrets names secret-looking keys found in jsonData, where they
	// would be stored unencrypted: reported by CheckHealth, never used.
	PlainSecrets []string `json:"-"`
}

// Secrets are the secure fields (secureJsonData).
type Secrets struct {
	Password string
	APIToken string
}

var sslModes = map[string]bool{"disable": true, "allow": true, "prefer": true, "require": true, "verify-ca": true, "verify-full": true}

// LoadSettings reads an instance's settings and applies defaults. It fails
// only on malformed jsonData; missing values are reported by DatabaseProblems
// and APIProblems so that the datasource still starts and says what to fix.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var out Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &out); err != nil {
			return Settings{}, fmt.Errorf("datasource settings (jsonData): %w", err)
		}
		var raw map[string]any
		if json.Unmarshal(s.JSONData, &raw) == nil {
			for _, k := range []string{"password", "apiToken", "token"} {
				if _, ok := raw[k]; ok {
					out.PlainSecrets = append(out.PlainSecrets, k)
				}
			}
		}
	}
	out.Secrets = Secrets{Password: s.DecryptedSecureJSONData["password"], APIToken: s.DecryptedSecureJSONData["apiToken"]}
	if out.Port == 0 {
		out.Port = 5432
	}
	if out.SSLMode == "" {
		out.SSLMode = "disable"
	}
	if out.QueryTimeoutSeconds <= 0 {
		out.QueryTimeoutSeconds = 30
	}
	if out.StreamIntervalSeconds <= 0 {
		out.StreamIntervalSeconds = 2
	}
	out.APIURL = strings.TrimRight(strings.TrimSpace(out.APIURL), "/")
	return out, nil
}

// DatabaseProblems lists what keeps the database settings from working,
// each naming its field.
func (s Settings) DatabaseProblems() []string {
	var p []string
	if s.Host == "" {
		p = append(p, "database host is not set (jsonData.host)")
	}
	if s.Port < 1 || s.Port > 65535 {
		p = append(p, fmt.Sprintf("database port %d is not a TCP port (jsonData.port)", s.Port))
	}
	if s.Database == "" {
		p = append(p, "database name is not set (jsonData.database)")
	}
	if s.User == "" {
		p = append(p, "database user is not set (jsonData.user)")
	}
	if !sslModes[s.SSLMode] {
		p = append(p, fmt.Sprintf("sslMode %q is not one of disable, allow, prefer, require, verify-ca, verify-full (jsonData.sslMode)", s.SSLMode))
	}
	return p
}

// APIProblems lists what keeps the control-plane API settings from working.
func (s Settings) APIProblems() []string {
	var p []string
	if s.APIURL == "" {
		p = append(p, "control-plane API URL is not set (jsonData.apiUrl)")
	} else if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("control-plane API URL %q is not an http(s) URL (jsonData.apiUrl)", s.APIURL))
	}
	if s.Secrets.APIToken == "" {
		p = append(p, "control-plane API token is not set (secure field apiToken)")
	}
	return p
}

// OtherProblems lists the settings that are wrong whatever is configured.
func (s Settings) OtherProblems() []string {
	var p []string
	if s.StreamIntervalSeconds > 5 {
		p = append(p, fmt.Sprintf("streamIntervalSeconds %d is above 5: the live summary must stay under 5 s", s.StreamIntervalSeconds))
	}
	for _, k := range s.PlainSecrets {
		p = append(p, fmt.Sprintf("jsonData.%s is stored unencrypted and ignored: set it as a secure field", k))
	}
	return p
}

// ErrNotConfigured marks a query that needs a part of the settings that is
// missing.
var ErrNotConfigured = errors.New("not configured")

// DSN is the PostgreSQL connection string, with a connect timeout so that
// an unreachable server fails a query instead of hanging it.
func (s Settings) DSN() (string, error) {
	if p := s.DatabaseProblems(); len(p) > 0 {
		return "", fmt.Errorf("%w: %s", ErrNotConfigured, strings.Join(p, "; "))
	}
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + s.Database}
	if s.Secrets.Password != "" {
		u.User = url.UserPassword(s.User, s.Secrets.Password)
	} else {
		u.User = url.User(s.User)
	}
	q := url.Values{}
	q.Set("sslmode", s.SSLMode)
	q.Set("connect_timeout", "5")
	q.Set("application_name", "wedsync-scaling-datasource")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// QueryTimeout is the per-query bound.
func (s Settings) QueryTimeout() time.Duration {
	return time.Duration(s.QueryTimeoutSeconds) * time.Second
}

// StreamInterval is the period of the live summary, capped at 5 s.
func (s Settings) StreamInterval() time.Duration {
	return time.Duration(min(s.StreamIntervalSeconds, 5)) * time.Second
}
