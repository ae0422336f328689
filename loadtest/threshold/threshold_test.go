package threshold

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		agg     string
		op      string
		value   float64
		wantErr string
	}{
		{in: "p(95)<2000", agg: "p(95)", op: "<", value: 2000},
		{in: " p(99.9) <= 1.5e3 ", agg: "p(99.9)", op: "<=", value: 1500},
		{in: "rate<0.01", agg: "rate", op: "<", value: 0.01},
		{in: "count>=100", agg: "count", op: ">=", value: 100},
		{in: "value===3", agg: "value", op: "===", value: 3},
		{in: "avg!=0", agg: "avg", op: "!=", value: 0},
		{in: "med>-1", agg: "med", op: ">", value: -1},
		{in: "p(95)<<2000", wantErr: `value "<2000" is not a finite number`},
		{in: "p95<2000", wantErr: `unknown aggregation "p95"`},
		{in: "p(101)<1", wantErr: "percentile"},
		{in: "p(x)<1", wantErr: "percentile"},
		{in: "<5", wantErr: "no aggregation"},
		{in: "avg<", wantErr: "no value"},
		{in: "avg 5", wantErr: "no comparison operator"},
		{in: "", wantErr: "empty"},
		{in: "avg<NaN", wantErr: "not a finite number"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Agg != tc.agg || e.Op != tc.op || e.Value != tc.value {
				t.Fatalf("Parse(%q) = %+v", tc.in, e)
			}
		})
	}
}

func TestEvalAndType(t *testing.T) {
	t.Parallel()
	e, _ := Parse("p(95)<2000")
	if !e.Eval(1999) || e.Eval(2000) {
		t.Fatal("p(95)<2000 evaluated wrongly")
	}
	if err := e.CheckType(Trend); err != nil {
		t.Fatal(err)
	}
	if err := e.CheckType(Rate); err == nil || !strings.Contains(err.Error(), "does not apply to a rate metric (use rate)") {
		t.Fatalf("p(95) on a rate: %v", err)
	}
	r, _ := Parse("rate<0.01")
	if r.CheckType(Counter) != nil || r.CheckType(Rate) != nil || r.CheckType(Gauge) == nil {
		t.Fatal("rate applies to counters and rates only")
	}
}

func TestParseMetricName(t *testing.T) {
	t.Parallel()
	m, err := ParseMetricName("http_req_duration{name:login, expected_response:true}")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "http_req_duration" || m.String() != "http_req_duration{expected_response:true,name:login}" {
		t.Fatalf("got %+v / %s", m, m)
	}
	for _, bad := range []string{"", "9x", "a{b}", "a{b:c", "a{:c}", "a{b:1,b:2}", "a-b"} {
		if _, err := ParseMetricName(bad); err == nil {
			t.Errorf("ParseMetricName(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"p(95)<2000", "rate<0.01", "count>=1", "value===1", "p(99.9)!=3", "<", "p(", "avg<1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed expression re-parses to the same thing.
		e2, err := Parse(e.Agg + e.Op + formatFloat(e.Value))
		if err != nil || e2.Agg != e.Agg || e2.Op != e.Op || e2.Value != e.Value {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", s, e, e2, err)
		}
	})
}

func FuzzParseMetricName(f *testing.F) {
	for _, s := range []string{"http_req_duration", "http_req_duration{name:x}", "a{b:c,d:e}", "{}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMetricName(s)
		if err != nil {
			return
		}
		m2, err := ParseMetricName(m.String())
		if err != nil || m2.String() != m.String() {
			t.Fatalf("round trip of %q: %q vs %q (%v)", s, m, m2, err)
		}
	})
}
