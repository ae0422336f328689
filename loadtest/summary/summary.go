// Package summary reads and writes k6's end-of-test summaries: the data
// handleSummary receives (k6 ≥ 0.30, --summary-export's successor) and the
// legacy --summary-export shape, in both directions, and extracts the
// figures a benchmark row keeps.
package summary

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/threshold"
)

// Format names a summary shape.
type Format string

const (
	HandleSummary Format = "handleSummary"
	Legacy        Format = "summary-export"
)

// Data is k6's handleSummary data.
type Data struct {
	RootGroup Group             `json:"root_group"`
	Options   Options           `json:"options"`
	State     State             `json:"state"`
	Metrics   map[string]Metric `json:"metrics"`
	SetupData json.RawMessage   `json:"setup_data,omitempty"`
}

// Group is a k6 group; wedsync-load has only the root one, without checks.
type Group struct {
	Name   string  `json:"name"`
	Path   string  `json:"path"`
	ID     string  `json:"id"`
	Groups []Group `json:"groups"`
	Checks []Check `json:"checks"`
}

// Check is a k6 check's tally.
type Check struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	ID     string `json:"id"`
	Passes int64  `json:"passes"`
	Fails  int64  `json:"fails"`
}

// Options are the summary options k6 passes along.
type Options struct {
	SummaryTimeUnit   string   `json:"summaryTimeUnit"`
	NoColor           bool     `json:"noColor"`
	SummaryTrendStats []string `json:"summaryTrendStats"`
}

// State is the run's state; testRunDurationMs is the one that matters.
type State struct {
	IsStdOutTTY       bool    `json:"isStdOutTTY"`
	IsStdErrTTY       bool    `json:"isStdErrTTY"`
	TestRunDurationMs float64 `json:"testRunDurationMs"`
}

// Metric is one metric of the summary.
type Metric struct {
	Type       string                 `json:"type"`
	Contains   string                 `json:"contains"`
	Values     map[string]float64     `json:"values"`
	Thresholds map[string]ThresholdOK `json:"thresholds,omitempty"`
}

// ThresholdOK is a threshold's verdict in handleSummary data.
type ThresholdOK struct {
	OK bool `json:"ok"`
}

func groupID(path string) string {
	sum := md5.Sum([]byte(path)) //nolint:gosec // k6's group ids are md5 of the path
	return hex.EncodeToString(sum[:])
}

// FromResult builds handleSummary data from a run.
func FromResult(res *engine.Result) Data {
	d := Data{
		RootGroup: Group{ID: groupID(""), Groups: []Group{}, Checks: []Check{}},
		Options:   Options{SummaryTrendStats: trendStats(res)},
		State:     State{TestRunDurationMs: float64(res.Duration.Microseconds()) / 1000},
		Metrics:   map[string]Metric{},
	}
	for name, m := range res.Metrics {
		d.Metrics[name] = Metric{Type: m.Type, Contains: m.Contains, Values: m.Values}
	}
	for _, th := range res.Thresholds {
		m, ok := d.Metrics[th.Metric]
		if !ok {
			info := threshold.Metrics[strings.SplitN(th.Metric, "{", 2)[0]]
			m = Metric{Type: info.Type, Contains: info.Contains, Values: map[string]float64{}}
		}
		if m.Thresholds == nil {
			m.Thresholds = map[string]ThresholdOK{}
		}
		m.Thresholds[th.Threshold] = ThresholdOK{OK: th.OK}
		d.Metrics[th.Metric] = m
	}
	return d
}

func trendStats(res *engine.Result) []string {
	if v, ok := res.Metrics["http_req_duration"]; ok {
		keys := make([]string, 0, len(v.Values))
		for k := range v.Values {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return statOrder(keys[i]) < statOrder(keys[j]) })
		return keys
	}
	return []string{"avg", "min", "med", "max", "p(90)", "p(95)"}
}

func statOrder(s string) string {
	for i, k := range []string{"avg", "min", "med", "max"} {
		if s == k {
			return fmt.Sprint(i)
		}
	}
	return "9" + s
}

// legacyGroup is the root group as --summary-export writes it (maps, not lists).
type legacyGroup struct {
	Name   string                 `json:"name"`
	Path   string                 `json:"path"`
	ID     string                 `json:"id"`
	Groups map[string]legacyGroup `json:"groups"`
	Checks map[string]Check       `json:"checks"`
}

type legacyData struct {
	RootGroup legacyGroup                `json:"root_group"`
	Metrics   map[string]json.RawMessage `json:"metrics"`
}

// MarshalLegacy writes the legacy --summary-export shape: values flattened
// into the metric, a rate's "rate" as "value", and thresholds as booleans
// that are true when the threshold FAILED (k6's own, confusing, meaning).
func (d Data) MarshalLegacy() ([]byte, error) {
	out := legacyData{RootGroup: toLegacyGroup(d.RootGroup), Metrics: map[string]json.RawMessage{}}
	for name, m := range d.Metrics {
		flat := map[string]any{}
		for k, v := range m.Values {
			if m.Type == threshold.Rate && k == "rate" {
				k = "value"
			}
			flat[k] = v
		}
		if len(m.Thresholds) > 0 {
			th := map[string]bool{}
			for expr, ok := range m.Thresholds {
				th[expr] = !ok.OK
			}
			flat["thresholds"] = th
		}
		b, err := indent(flat)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out.Metrics[name] = b
	}
	return indent(out)
}

// indent writes JSON as k6 does: four spaces, "<" left as it is.
func indent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func toLegacyGroup(g Group) legacyGroup {
	lg := legacyGroup{Name: g.Name, Path: g.Path, ID: g.ID, Groups: map[string]legacyGroup{}, Checks: map[string]Check{}}
	for _, sub := range g.Groups {
		lg.Groups[sub.Name] = toLegacyGroup(sub)
	}
	for _, c := range g.Checks {
		lg.Checks[c.Name] = c
	}
	return lg
}

// MarshalIndent writes handleSummary data as k6's JSON output does.
func (d Data) MarshalIndent() ([]byte, error) { return indent(d) }

// Parse reads a summary of either shape and returns it as handleSummary
// data, saying which shape it was.
func Parse(b []byte) (Data, Format, error) {
	var probe struct {
		Metrics map[string]json.RawMessage `json:"metrics"`
		State   *State                     `json:"state"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Data{}, "", fmt.Errorf("not a k6 summary: %w", err)
	}
	if len(probe.Metrics) == 0 {
		return Data{}, "", errors.New("not a k6 summary: no metrics")
	}
	modern := probe.State != nil
	for _, raw := range probe.Metrics {
		var m struct {
			Type   *string         `json:"type"`
			Values json.RawMessage `json:"values"`
		}
		if json.Unmarshal(raw, &m) == nil && m.Type != nil && m.Values != nil {
			modern = true
		}
		break
	}
	if modern {
		var d Data
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&d); err != nil {
			return Data{}, "", fmt.Errorf("handleSummary data: %w", err)
		}
		for name, m := range d.Metrics {
			if m.Type == "" || m.Values == nil {
				return Data{}, "", fmt.Errorf("handleSummary data: metrics.%s: missing type or values", name)
			}
		}
		return d, HandleSummary, nil
	}
	return parseLegacy(b)
}

func parseLegacy(b []byte) (Data, Format, error) {
	var raw struct {
		RootGroup json.RawMessage                       `json:"root_group"`
		Metrics   map[string]map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Data{}, "", fmt.Errorf("summary-export: %w", err)
	}
	d := Data{Metrics: map[string]Metric{}, RootGroup: Group{ID: groupID(""), Groups: []Group{}, Checks: []Check{}}}
	if len(raw.RootGroup) > 0 {
		var lg legacyGroup
		if err := json.Unmarshal(raw.RootGroup, &lg); err != nil {
			return Data{}, "", fmt.Errorf("summary-export: root_group: %w", err)
		}
		d.RootGroup = fromLegacyGroup(lg)
	}
	for name, fields := range raw.Metrics {
		m := Metric{Values: map[string]float64{}}
		for k, v := range fields {
			if k == "thresholds" {
				var th map[string]bool
				if err := json.Unmarshal(v, &th); err != nil {
					return Data{}, "", fmt.Errorf("summary-export: metrics.%s.thresholds: %w", name, err)
				}
				m.Thresholds = map[string]ThresholdOK{}
				for expr, failed := range th {
					m.Thresholds[expr] = ThresholdOK{OK: !failed}
				}
				continue
			}
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return Data{}, "", fmt.Errorf("summary-export: metrics.%s.%s: not a number: %s", name, k, v)
			}
			m.Values[k] = f
		}
		m.Type, m.Contains = inferType(name, m.Values)
		if m.Type == threshold.Rate {
			m.Values["rate"] = m.Values["value"]
			delete(m.Values, "value")
		}
		d.Metrics[name] = m
	}
	// The legacy shape has no run duration; the request counter's count and
	// rate give it.
	if r, ok := d.Metrics["http_reqs"]; ok && r.Values["rate"] > 0 {
		d.State.TestRunDurationMs = r.Values["count"] / r.Values["rate"] * 1000
	}
	return d, Legacy, nil
}

func fromLegacyGroup(lg legacyGroup) Group {
	g := Group{Name: lg.Name, Path: lg.Path, ID: lg.ID, Groups: []Group{}, Checks: []Check{}}
	names := make([]string, 0, len(lg.Groups))
	for n := range lg.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g.Groups = append(g.Groups, fromLegacyGroup(lg.Groups[n]))
	}
	names = names[:0]
	for n := range lg.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g.Checks = append(g.Checks, lg.Checks[n])
	}
	return g
}

// inferType recovers a legacy metric's type from its keys (the legacy shape
// drops it): passes/fails → rate, count+rate → counter, value+min+max
// without count → gauge, otherwise a trend.
func inferType(name string, v map[string]float64) (typ, contains string) {
	base := strings.SplitN(name, "{", 2)[0]
	if info, ok := threshold.Metrics[base]; ok {
		return info.Type, info.Contains
	}
	_, passes := v["passes"]
	_, count := v["count"]
	_, rate := v["rate"]
	_, value := v["value"]
	_, avg := v["avg"]
	switch {
	case passes:
		return threshold.Rate, "default"
	case count && rate && !avg:
		return threshold.Counter, "default"
	case value && !avg:
		return threshold.Gauge, "default"
	}
	contains = "default"
	if strings.Contains(base, "duration") || strings.HasPrefix(base, "http_req_") || strings.HasSuffix(base, "_ms") {
		contains = "time"
	}
	return threshold.Trend, contains
}

// Figures are what a benchmark row keeps of a summary. Nil means the
// summary does not say (a legacy export without p(95), for instance).
type Figures struct {
	P50, P90, P95, P99, Max *float64 // ms
	Throughput              *float64 // requests/s
	ErrorRate               *float64 // 0–1
	Users                   *int64   // peak VUs
	Requests                int64
	Duration                float64 // seconds
	// ThresholdsPassed is nil when the summary has no thresholds.
	ThresholdsPassed *bool
}

// Figures extracts the benchmark figures.
func (d Data) Figures() Figures {
	var f Figures
	get := func(metric, key string) *float64 {
		m, ok := d.Metrics[metric]
		if !ok {
			return nil
		}
		v, ok := m.Values[key]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	f.P50 = get("http_req_duration", "med")
	if f.P50 == nil {
		f.P50 = get("http_req_duration", "p(50)")
	}
	f.P90 = get("http_req_duration", "p(90)")
	f.P95 = get("http_req_duration", "p(95)")
	f.P99 = get("http_req_duration", "p(99)")
	f.Max = get("http_req_duration", "max")
	f.Throughput = get("http_reqs", "rate")
	f.ErrorRate = get("http_req_failed", "rate")
	if c := get("http_reqs", "count"); c != nil {
		f.Requests = int64(*c)
	}
	if u := get("vus", "max"); u != nil {
		n := int64(*u)
		f.Users = &n
	}
	f.Duration = d.State.TestRunDurationMs / 1000
	for _, m := range d.Metrics {
		for _, th := range m.Thresholds {
			ok := th.OK && (f.ThresholdsPassed == nil || *f.ThresholdsPassed)
			f.ThresholdsPassed = &ok
		}
	}
	return f
}
