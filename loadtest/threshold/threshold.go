// Package threshold parses and evaluates k6 threshold expressions such as
// "p(95)<2000", "rate<0.01" or "count>=100", and the metric names they are
// attached to, with their tag filters ("http_req_duration{name:login}").
package threshold

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Metric types, as k6 names them.
const (
	Trend   = "trend"
	Rate    = "rate"
	Counter = "counter"
	Gauge   = "gauge"
)

// Expr is one parsed threshold expression: Agg Op Value.
type Expr struct {
	Source string  // as written
	Agg    string  // avg, min, max, med, p(N), rate, count, value
	Pct    float64 // N of p(N), for Agg "p"
	Op     string  // <, <=, >, >=, ==, ===, !=
	Value  float64
}

// Key is the name of the aggregated value in a k6 summary's values map
// ("p(95)", "avg", "rate", …).
func (e Expr) Key() string { return e.Agg }

var ops = []string{"===", "==", "!=", "<=", ">=", "<", ">"}

// Parse parses a k6 threshold expression.
func Parse(s string) (Expr, error) {
	src := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Expr{}, errors.New("empty threshold expression")
	}
	opAt, op := -1, ""
	for i := 0; i < len(s) && opAt < 0; i++ {
		for _, o := range ops {
			if strings.HasPrefix(s[i:], o) {
				opAt, op = i, o
				break
			}
		}
	}
	if opAt < 0 {
		return Expr{}, fmt.Errorf("threshold %q: no comparison operator (one of < <= > >= == === !=)", src)
	}
	agg := strings.TrimSpace(s[:opAt])
	val := strings.TrimSpace(s[opAt+len(op):])
	e := Expr{Source: src, Op: op}
	switch {
	case agg == "avg" || agg == "min" || agg == "max" || agg == "med" || agg == "rate" || agg == "count" || agg == "value":
		e.Agg = agg
	case strings.HasPrefix(agg, "p(") && strings.HasSuffix(agg, ")"):
		n, err := strconv.ParseFloat(strings.TrimSpace(agg[2:len(agg)-1]), 64)
		if err != nil || math.IsNaN(n) || n < 0 || n > 100 {
			return Expr{}, fmt.Errorf("threshold %q: percentile %q must be a number from 0 to 100", src, agg)
		}
		e.Agg, e.Pct = FormatPercentile(n), n
	case agg == "":
		return Expr{}, fmt.Errorf("threshold %q: no aggregation before %q (one of avg, min, max, med, p(N), rate, count, value)", src, op)
	default:
		return Expr{}, fmt.Errorf("threshold %q: unknown aggregation %q (one of avg, min, max, med, p(N), rate, count, value)", src, agg)
	}
	if val == "" {
		return Expr{}, fmt.Errorf("threshold %q: no value after %q", src, op)
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Expr{}, fmt.Errorf("threshold %q: value %q is not a finite number", src, val)
	}
	e.Value = v
	return e, nil
}

// FormatPercentile writes a percentile the way k6 names it: p(95), p(99.9).
func FormatPercentile(n float64) string {
	return "p(" + strconv.FormatFloat(n, 'f', -1, 64) + ")"
}

// Aggregations lists what can be asked of a metric type.
func Aggregations(metricType string) []string {
	switch metricType {
	case Trend:
		return []string{"avg", "min", "med", "max", "p(N)"}
	case Rate:
		return []string{"rate"}
	case Counter:
		return []string{"count", "rate"}
	case Gauge:
		return []string{"value"}
	}
	return nil
}

// CheckType reports whether the expression's aggregation applies to a
// metric of the given type.
func (e Expr) CheckType(metricType string) error {
	ok := false
	switch metricType {
	case Trend:
		ok = e.Agg == "avg" || e.Agg == "min" || e.Agg == "med" || e.Agg == "max" || strings.HasPrefix(e.Agg, "p(")
	case Rate:
		ok = e.Agg == "rate"
	case Counter:
		ok = e.Agg == "count" || e.Agg == "rate"
	case Gauge:
		ok = e.Agg == "value"
	}
	if !ok {
		return fmt.Errorf("threshold %q: %s does not apply to a %s metric (use %s)", e.Source, e.Agg, metricType, strings.Join(Aggregations(metricType), ", "))
	}
	return nil
}

// Eval compares the aggregated value with the threshold; true means the
// threshold holds. A NaN value (no samples) holds for nothing but "!=".
func (e Expr) Eval(v float64) bool {
	switch e.Op {
	case "<":
		return v < e.Value
	case "<=":
		return v <= e.Value
	case ">":
		return v > e.Value
	case ">=":
		return v >= e.Value
	case "==", "===":
		return v == e.Value
	case "!=":
		return v != e.Value
	}
	return false
}

// Tag is one key:value filter of a sub-metric.
type Tag struct{ Key, Value string }

// MetricName is a metric with its optional tag filters, as written in a
// thresholds map key.
type MetricName struct {
	Name string
	Tags []Tag // sorted by key
}

// String writes the name back the way k6 does: name{k:v,k2:v2}.
func (m MetricName) String() string {
	if len(m.Tags) == 0 {
		return m.Name
	}
	parts := make([]string, len(m.Tags))
	for i, t := range m.Tags {
		parts[i] = t.Key + ":" + t.Value
	}
	return m.Name + "{" + strings.Join(parts, ",") + "}"
}

// ParseMetricName parses "http_req_duration{name:login,method:POST}".
func ParseMetricName(s string) (MetricName, error) {
	name, rest, hasTags := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	if !validName(name) {
		return MetricName{}, fmt.Errorf("metric name %q: want letters, digits and underscores", s)
	}
	m := MetricName{Name: name}
	if !hasTags {
		return m, nil
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), "}")
	if !ok || strings.ContainsAny(body, "{}") {
		return MetricName{}, fmt.Errorf("metric name %q: tag filter must be {key:value,...}", s)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(kv, ":")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" {
			return MetricName{}, fmt.Errorf("metric name %q: tag filter %q must be key:value", s, kv)
		}
		if seen[k] {
			return MetricName{}, fmt.Errorf("metric name %q: tag %q filtered twice", s, k)
		}
		seen[k] = true
		m.Tags = append(m.Tags, Tag{k, v})
	}
	sort.Slice(m.Tags, func(i, j int) bool { return m.Tags[i].Key < m.Tags[j].Key })
	return m, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}
