package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0s", 0},
		{"1ms", time.Millisecond},
		{"10s", 10 * time.Second},
		{"90s", 90 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1d", 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"1y", 365 * 24 * time.Hour},
		{"1h0m5s", time.Hour + 5*time.Second},
		{"-5m", -5 * time.Minute},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if time.Duration(got) != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, time.Duration(got), tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", "empty duration"},
		{"-", "empty duration"},
		{"5", `not a Prometheus duration "5": missing unit (one of y, w, d, h, m, s, ms)`},
		{"5 minutes", `not a Prometheus duration "5 minutes": unit " minutes" unknown or out of order (y, w, d, h, m, s, ms)`},
		{"1m1h", `not a Prometheus duration "1m1h": unit "h" unknown or out of order (y, w, d, h, m, s, ms)`},
		{"1s1s", `not a Prometheus duration "1s1s": unit "s" unknown or out of order (y, w, d, h, m, s, ms)`},
		{"1.5h", `not a Prometheus duration "1.5h": unit "." unknown or out of order (y, w, d, h, m, s, ms)`},
		{"m", `not a Prometheus duration "m": expected a number at "m"`},
		{"99999999999999999999s", `not a Prometheus duration "99999999999999999999s": strconv.ParseInt: parsing "99999999999999999999": value out of range`},
		{"300y", `not a Prometheus duration "300y": too long`},
		{"292y52w", `not a Prometheus duration "292y52w": too long`},
	}
	for _, tt := range tests {
		_, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseDuration(%q) error:\n got %q\nwant %q", tt.in, err, tt.want)
		}
	}
}

func TestDurationString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Microsecond, "0s"},
		{time.Millisecond, "1ms"},
		{1500 * time.Millisecond, "1s500ms"},
		{10 * time.Second, "10s"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{2 * time.Hour, "2h"},
		{24 * time.Hour, "1d"},
		{90 * 24 * time.Hour, "90d"},
		{14 * 24 * time.Hour, "2w"},
		{365 * 24 * time.Hour, "1y"},
		{-5 * time.Minute, "-5m"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in).String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}
