package config

import (
	"strings"
	"testing"
)

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
		{"every: 10\n", "missing unit"},
		{"every: 5 minutes\n", "not a Prometheus duration"},
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
