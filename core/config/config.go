// Package config holds what every binary's configuration loading shares:
// strict YAML decoding (unknown fields are errors), durations written the
// Prometheus way, secrets that come from a file or the environment, and
// validation errors that name the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds a configuration file: a policy is a few KiB, anything
// near this is a mistake (a log file passed by accident).
const MaxFileSize = 1 << 20

// DecodeStrict decodes one YAML document into v, rejecting unknown fields,
// extra documents and oversized input.
func DecodeStrict(data []byte, v any) error {
	if len(data) > MaxFileSize {
		return fmt.Errorf("config is %d bytes, more than the %d allowed", len(data), MaxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("config is empty")
		}
		return fmt.Errorf("parse: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("config holds more than one YAML document")
	}
	return nil
}

// LoadFile reads and strictly decodes a YAML file.
func LoadFile(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := DecodeStrict(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Duration is a time.Duration written as a Prometheus duration string
// ("30s", "5m", "1h30m"). A bare number is refused: "10" could mean
// seconds or nanoseconds, and guessing is how outages start.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: duration must be a string like \"30s\" or \"5m\", got %q", n.Line, n.Value)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return FormatDuration(time.Duration(d)), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

var durationUnits = []struct {
	suffix string
	d      time.Duration
}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}}

// formatUnits are durationUnits largest first; parsing must try "ms" before
// "m", printing must not.
var formatUnits = []struct {
	suffix string
	d      time.Duration
}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}

// ParseDuration parses Prometheus-style durations: "90s", "5m", "1h30m",
// "7d", "250ms". Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 30s, 5m, 1h30m", s)
		}
		var n int64
		for _, c := range rest[:i] {
			n = n*10 + int64(c-'0')
			if n > 1<<40 {
				return 0, fmt.Errorf("invalid duration %q: too large", s)
			}
		}
		rest = rest[i:]
		matched := false
		for _, u := range durationUnits {
			if strings.HasPrefix(rest, u.suffix) {
				total += time.Duration(n) * u.d
				rest = rest[len(u.suffix):]
				matched = true
				break
			}
		}
		if !matched {
			return 0, fmt.Errorf("invalid duration %q: unknown or missing unit (use ms, s, m, h, d, w, y)", s)
		}
	}
	return total, nil
}

// FormatDuration prints a duration the way Prometheus does ("1h30m", "10s").
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range formatUnits {
		if d >= u.d {
			n := d / u.d
			d -= n * u.d
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
		}
	}
	return b.String()
}

// Secret is a value read from a file or an environment variable, never
// written inline in a config file (configs end up in repositories and logs).
type Secret struct {
	File string `yaml:"file,omitempty"`
	Env  string `yaml:"env,omitempty"`
}

// IsZero reports whether no source is configured.
func (s Secret) IsZero() bool { return s.File == "" && s.Env == "" }

// Validate checks that exactly one source is set.
func (s Secret) Validate(path string) error {
	if s.File != "" && s.Env != "" {
		return fmt.Errorf("%s: set file or env, not both", path)
	}
	return nil
}

// Resolve reads the secret's value, trimmed of surrounding white space.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	case s.Env != "":
		v := strings.TrimSpace(os.Getenv(s.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", s.Env)
		}
		return v, nil
	}
	return "", nil
}
