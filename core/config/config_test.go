package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	good := map[string]time.Duration{
		"0": 0, "30s": 30 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute,
		"7d": 7 * 24 * time.Hour, "250ms": 250 * time.Millisecond, "1w": 7 * 24 * time.Hour, "1m30s": 90 * time.Second,
	}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "0" && in != "7d" && FormatDuration(got) != in { // Prometheus prints 7d as 1w
			t.Errorf("FormatDuration(%v) = %q, want %q", got, FormatDuration(got), in)
		}
	}
	for _, in := range []string{"", "-5m", "5", "m", "5x", "1.5h", "5m-", "99999999999999h"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	type cfg struct {
		Name  string   `yaml:"name"`
		Every Duration `yaml:"every"`
	}
	tests := []struct {
		in, err string
	}{
		{"name: a\nevery: 5m\n", ""},
		{"name: a\nunknown: 1\n", "field unknown not found"},
		{"every: 10\n", "duration must be a string"},
		{"every: 5 minutes\n", "invalid duration"},
		{"", "config is empty"},
		{"name: a\n---\nname: b\n", "more than one YAML document"},
		{"name: [1\n", "parse:"},
		{strings.Repeat("#", MaxFileSize+1), "more than the"},
	}
	for _, tc := range tests {
		var c cfg
		err := DecodeStrict([]byte(tc.in), &c)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%.40q: err = %v, want it to contain %q", tc.in, err, tc.err)
		}
	}
}

func TestSecret(t *testing.T) {
	t.Setenv("WEDSYNC_TEST_SECRET", "  s3cret\n")
	v, err := Secret{Env: "WEDSYNC_TEST_SECRET"}.Resolve()
	if err != nil || v != "s3cret" {
		t.Fatalf("env secret = %q, %v", v, err)
	}
	if _, err := (Secret{Env: "WEDSYNC_TEST_UNSET_SECRET"}).Resolve(); err == nil || !strings.Contains(err.Error(), "WEDSYNC_TEST_UNSET_SECRET") {
		t.Fatalf("unset env: %v", err)
	}
	if _, err := (Secret{File: "/nonexistent/token"}).Resolve(); err == nil {
		t.Fatal("missing file accepted")
	}
	if err := (Secret{File: "a", Env: "b"}).Validate("x.token"); err == nil || !strings.Contains(err.Error(), "x.token") {
		t.Fatalf("both set: %v", err)
	}
}
