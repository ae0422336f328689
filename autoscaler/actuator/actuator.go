// Package actuator changes the capacity of a service: replicas of a fleet
// or the tier of a vertically scaled resource. Each kind lives in its own
// file and is built from a config `type:`.
//
// An actuator is level-based: Apply sets an absolute target and may return
// before the change is complete (a database compute change takes minutes);
// the caller polls Current until it reads the target. Applying the same
// target twice is the same as once, which is what lets a restarted
// autoscaler resume an interrupted action safely.
package actuator

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// State is the capacity of a service: Replicas for horizontal policies,
// Tier for vertical ones.
type State struct {
	Replicas int    `json:"replicas"`
	Tier     string `json:"tier,omitempty"`
}

// MarshalJSON writes only the field that means something for the state, so
// that the event log reads {"replicas": 4} or {"tier": "ci_small"}.
func (s State) MarshalJSON() ([]byte, error) {
	if s.Tier != "" {
		return json.Marshal(struct {
			Tier string `json:"tier"`
		}{s.Tier})
	}
	return json.Marshal(struct {
		Replicas int `json:"replicas"`
	}{s.Replicas})
}

func (s State) String() string {
	if s.Tier != "" {
		return "tier " + s.Tier
	}
	return strconv.Itoa(s.Replicas) + " replicas"
}

// Actuator reads and sets a service's capacity.
type Actuator interface {
	Current(ctx context.Context) (State, error)
	Apply(ctx context.Context, target State) error
}

// Config selects and configures one actuator.
type Config struct {
	Type       string            `yaml:"type"`
	HTTP       *HTTPConfig       `yaml:"http,omitempty"`
	Exec       *ExecConfig       `yaml:"exec,omitempty"`
	Supabase   *SupabaseConfig   `yaml:"supabase,omitempty"`
	Kubernetes *KubernetesConfig `yaml:"kubernetes,omitempty"`
}

// Validate returns every problem, each prefixed with path.
func (c *Config) Validate(path string) []error {
	var errs []error
	switch c.Type {
	case "http":
		if c.HTTP == nil {
			return []error{fmt.Errorf("%s.http: required for type http", path)}
		}
		errs = append(errs, c.HTTP.Validate(path+".http")...)
	case "exec":
		if c.Exec == nil {
			return []error{fmt.Errorf("%s.exec: required for type exec", path)}
		}
		errs = append(errs, c.Exec.Validate(path+".exec")...)
	case "supabase":
		if c.Supabase == nil {
			return []error{fmt.Errorf("%s.supabase: required for type supabase", path)}
		}
		errs = append(errs, c.Supabase.Validate(path+".supabase")...)
	case "kubernetes":
		if c.Kubernetes == nil {
			return []error{fmt.Errorf("%s.kubernetes: required for type kubernetes", path)}
		}
		errs = append(errs, c.Kubernetes.Validate(path+".kubernetes")...)
	case "":
		return []error{fmt.Errorf("%s.type: required (http, exec, supabase or kubernetes)", path)}
	default:
		return []error{fmt.Errorf("%s.type: unknown actuator %q (want http, exec, supabase or kubernetes)", path, c.Type)}
	}
	if c.Type != "http" && c.HTTP != nil {
		errs = append(errs, fmt.Errorf("%s.http: set but type is %q", path, c.Type))
	}
	if c.Type != "exec" && c.Exec != nil {
		errs = append(errs, fmt.Errorf("%s.exec: set but type is %q", path, c.Type))
	}
	if c.Type != "supabase" && c.Supabase != nil {
		errs = append(errs, fmt.Errorf("%s.supabase: set but type is %q", path, c.Type))
	}
	if c.Type != "kubernetes" && c.Kubernetes != nil {
		errs = append(errs, fmt.Errorf("%s.kubernetes: set but type is %q", path, c.Type))
	}
	return errs
}

// New builds the actuator a validated config describes.
func New(c Config, logger *slog.Logger) (Actuator, error) {
	switch c.Type {
	case "http":
		return NewHTTP(*c.HTTP, logger)
	case "exec":
		return NewExec(*c.Exec, logger)
	case "supabase":
		return NewSupabase(*c.Supabase, logger)
	case "kubernetes":
		return NewKubernetes(*c.Kubernetes, logger)
	}
	return nil, fmt.Errorf("unknown actuator type %q", c.Type)
}

// Bounded is an actuator whose calls have a known longest duration.
type Bounded interface {
	CallTimeout() time.Duration
}

// CallTimeout is the longest one call of a may run, def when a does not
// say. A replica taking over an orphaned action waits this long after the
// owner died before applying again, so the two calls never overlap.
func CallTimeout(a Actuator, def time.Duration) time.Duration {
	if b, ok := a.(Bounded); ok {
		return b.CallTimeout()
	}
	return def
}

// CallTimeout is the HTTP client's timeout.
func (h *HTTP) CallTimeout() time.Duration { return h.cfg.Timeout.D() }

// CallTimeout is the API server request timeout.
func (k *Kubernetes) CallTimeout() time.Duration { return k.cfg.Timeout.D() }

// CallTimeout is the Management API request timeout.
func (s *Supabase) CallTimeout() time.Duration { return s.cfg.Timeout.D() }
