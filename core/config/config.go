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
