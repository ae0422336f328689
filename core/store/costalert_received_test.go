package store_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestParseReceivedNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, want, reason string
	}{
		{"0.7712", "0.7712", ""},
		{" 75 ", "75", ""},
		{"75.000", "75", ""}, // the value; the text keeps the zeros
		{"2.4e+12", "2400000000000", ""},
		{"-3.5E-2", "-0.035", ""},
		{"1.7976931348623157e308", "1.7976931348623157e308", ""}, // float64's largest
		{"5e-324", "5e-324", ""},                                 // and smallest non-zero
		{"0e99999999999999999999", "0", ""},
		{"1e309", "", store.ReasonOutOfRange},
		{"1e400", "", store.ReasonOutOfRange},
		{"-1e400", "", store.ReasonOutOfRange},
		{"1e-325", "", store.ReasonOutOfRange},
		{"1e99999999999999999999", "", store.ReasonOutOfRange},
		{"1." + strings.Repeat("1", store.MaxReceivedDigits-1), "1." + strings.Repeat("1", store.MaxReceivedDigits-1), ""},
		{"1." + strings.Repeat("1", store.MaxReceivedDigits), "", store.ReasonTooPrecise},
		{"NaN", "", store.ReasonNotFinite},
		{"+Inf", "", store.ReasonNotFinite},
		{"-inf", "", store.ReasonNotFinite},
		{"Infinity", "", store.ReasonNotFinite},
		{"", "", store.ReasonNotANumber},
		{"2.4T", "", store.ReasonNotANumber},
		{"most", "", store.ReasonNotANumber},
		{"1_000", "", store.ReasonNotANumber},
		{"1e", "", store.ReasonNotANumber},
		{"e5", "", store.ReasonNotANumber},
		{"0x10", "", store.ReasonNotANumber},
		{"1.5.5", "", store.ReasonNotANumber},
	}
	for _, tc := range tests {
		d, reason := store.ParseReceivedNumber(tc.text)
		if reason != tc.reason || d.Valid != (tc.reason == "") {
			t.Errorf("%.40q: %v %q, want reason %q", tc.text, d, reason, tc.reason)
			continue
		}
		if d.Valid && !d.Decimal.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("%.40q = %s, want %.40s", tc.text, d.Decimal, tc.want)
		}
	}
}

// The lists the Go code owns are the ones migration 0013's CHECKs allow.
func TestCostAlertListsMatchTheSchema(t *testing.T) {
	t.Parallel()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	last := func(re string) []string {
		var list string
		for _, m := range ms {
			if g := regexp.MustCompile(re).FindStringSubmatch(m.SQL); g != nil {
				list = g[1]
			}
		}
		var out []string
		for _, v := range strings.Split(list, ",") {
			out = append(out, strings.Trim(strings.TrimSpace(v), "'"))
		}
		slices.Sort(out)
		return out
	}
	sorted := func(a []string, extra ...string) []string {
		out := append(slices.Clone(a), extra...)
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name   string
		schema []string
		ours   []string
	}{
		{"alert_type", last(`(?s)cost_alerts_alert_type_check CHECK \(alert_type IN\s*\(([^)]*)\)\)`), sorted(store.CostAlertTypes, store.CostAlertUnknown)},
		{"severity", last(`(?s)cost_alerts_severity_check CHECK \(severity IN\s*\(([^)]*)\)\)`), sorted(store.Severities, store.CostAlertUnknown)},
		{"flags", last(`(?s)cost_alerts_flags_check CHECK \(flags <@ ARRAY\s*\[([^\]]*)\]`), sorted(store.CostAlertFlags)},
	} {
		if !slices.Equal(c.schema, c.ours) {
			t.Errorf("%s: schema allows %v, the store's list is %v", c.name, c.schema, c.ours)
		}
	}
}

func text(s string) *string { return &s }

// Every value ParseReceivedNumber accepts is stored and read back exactly
// (the unconstrained columns hold it), beside its text; what it refuses is
// stored as text beside NULL, flagged; the schema refuses a flagged number.
func TestCostAlertsKeepWhatTheyReceived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	values := []string{"0.7712", "2.4e+12", "-1.7976931348623157e308", "5e-324", "1." + strings.Repeat("9", store.MaxReceivedDigits-1),
		"1e400", "NaN", "2.4T"}
	var alerts []store.CostAlert
	for i, v := range values {
		a := store.CostAlert{Fingerprint: "f" + string(rune('a'+i)), StartsAt: start, Type: "cost_spike", Severity: "warning",
			Message: "m", Status: "firing", CurrentValueText: text(v), ThresholdPercentText: text(v)}
		d, reason := store.ParseReceivedNumber(v)
		a.CurrentValue, a.ThresholdPercent = d, d
		if reason != "" {
			a.Flags = []string{store.FieldCurrentValue + ":" + reason, store.FieldThresholdPercent + ":" + reason}
		}
		alerts = append(alerts, a)
	}
	if n, err := s.RecordCostAlerts(ctx, alerts); err != nil || n != len(values) {
		t.Fatalf("recorded %d, %v", n, err)
	}
	got, err := s.ListCostAlerts(ctx, store.CostAlertFilter{})
	if err != nil || len(got) != len(values) {
		t.Fatalf("listed %d, %v", len(got), err)
	}
	byFP := map[string]store.CostAlert{}
	for _, g := range got {
		byFP[g.Fingerprint] = g
	}
	for _, a := range alerts {
		g := byFP[a.Fingerprint]
		if *g.CurrentValueText != *a.CurrentValueText || *g.ThresholdPercentText != *a.ThresholdPercentText || !slices.Equal(g.Flags, a.Flags) {
			t.Errorf("%.30s: texts %.30q %.30q flags %v", *a.CurrentValueText, *g.CurrentValueText, *g.ThresholdPercentText, g.Flags)
		}
		if g.CurrentValue.Valid != a.CurrentValue.Valid || g.ThresholdPercent.Valid != a.ThresholdPercent.Valid ||
			a.CurrentValue.Valid && (!g.CurrentValue.Decimal.Equal(a.CurrentValue.Decimal) || !g.ThresholdPercent.Decimal.Equal(a.ThresholdPercent.Decimal)) {
			t.Errorf("%.30s: stored %.40s / %.40s, want exactly %.40s", *a.CurrentValueText, g.CurrentValue.Decimal, g.ThresholdPercent.Decimal, a.CurrentValue.Decimal)
		}
	}
	// The schema holds a flag and what it flags together.
	for name, bad := range map[string]store.CostAlert{
		"flagged value with a number": {CurrentValue: decimal.NewNullDecimal(decimal.NewFromInt(1)), Flags: []string{"current_value:out_of_range"}},
		"unknown type unflagged":      {Type: store.CostAlertUnknown},
		"flag for a known severity":   {Flags: []string{store.FlagUnknownSeverity}},
		"a flag not in the list":      {Flags: []string{"value:odd"}},
	} {
		if bad.Type == "" {
			bad.Type = "cost_spike"
		}
		bad.Fingerprint, bad.StartsAt, bad.Severity, bad.Message, bad.Status = "bad", start, "warning", "m", "firing"
		if _, err := s.RecordCostAlerts(ctx, []store.CostAlert{bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// A re-delivery changes the value with its text and flags together, keeps
// the other flags, and adds no row.
func TestCostAlertRedeliveryValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	a := store.CostAlert{Fingerprint: "f", StartsAt: start, Type: store.CostAlertUnknown, TypeText: text("weather"), Severity: "warning",
		Message: "m", Status: "firing", CurrentValueText: text("NaN"), Flags: []string{"alert_type:unknown", "current_value:not_finite"}}
	b := a
	b.CurrentValueText, b.CurrentValue, b.Flags = text("2.5"), decimal.NewNullDecimal(decimal.RequireFromString("2.5")), []string{"alert_type:unknown"}
	for i, step := range []struct {
		in        store.CostAlert
		new       int
		value     string
		text      string
		wantFlags []string
	}{
		{a, 1, "", "NaN", []string{"alert_type:unknown", "current_value:not_finite"}},
		{a, 0, "", "NaN", []string{"alert_type:unknown", "current_value:not_finite"}},
		{b, 0, "2.5", "2.5", []string{"alert_type:unknown"}},
		{a, 0, "", "NaN", []string{"alert_type:unknown", "current_value:not_finite"}},
	} {
		n, err := s.RecordCostAlerts(ctx, []store.CostAlert{step.in})
		if err != nil || n != step.new {
			t.Fatalf("step %d: %d new, %v", i, n, err)
		}
		got, _ := s.ListCostAlerts(ctx, store.CostAlertFilter{})
		g := got[0]
		value := ""
		if g.CurrentValue.Valid {
			value = g.CurrentValue.Decimal.String()
		}
		if len(got) != 1 || value != step.value || *g.CurrentValueText != step.text || !slices.Equal(g.Flags, step.wantFlags) || *g.TypeText != "weather" {
			t.Fatalf("step %d: %d rows, value %q text %q flags %v", i, len(got), value, *g.CurrentValueText, g.Flags)
		}
	}
}
