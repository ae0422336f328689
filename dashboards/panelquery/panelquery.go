// Package panelquery finds every query of a dashboard — panel targets and
// annotation queries, Prometheus and wedsync-scaling-datasource — and runs
// it the way Grafana would: over the dashboard's (or the panel's own) time
// range, with Grafana's interval variables expanded. The dashboards' tests
// use it against a real Prometheus and the real plugin; pointed at a live
// stack it checks that every panel has data.
package panelquery

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Query is one query of a dashboard.
type Query struct {
	Dashboard, Panel, RefID string
	// Datasource type: "prometheus" or the plugin's id.
	Datasource string
	// Prometheus: the expression as written and whether it is instant.
	Expr    string
	Instant bool
	// Plugin: the query type and the whole query JSON.
	QueryType string
	JSON      json.RawMessage
	// From, To are the dashboard's range, or the panel's timeFrom.
	From, To string
	// MinInterval is the panel's minimum interval ("1h"), if any.
	MinInterval string
}

func (q Query) String() string { return fmt.Sprintf("%s / %s / %s", q.Dashboard, q.Panel, q.RefID) }

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	Instant    bool   `json:"instant"`
	QueryType  string `json:"queryType"`
}

type panel struct {
	Title      string            `json:"title"`
	Type       string            `json:"type"`
	Datasource *dsRef            `json:"datasource"`
	Targets    []json.RawMessage `json:"targets"`
	TimeFrom   string            `json:"timeFrom"`
	Interval   string            `json:"interval"`
	Panels     []panel           `json:"panels"` // collapsed rows
}

type dashboardJSON struct {
	Title string `json:"title"`
	Time  struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string          `json:"name"`
			Datasource *dsRef          `json:"datasource"`
			Target     json.RawMessage `json:"target"`
			BuiltIn    float64         `json:"builtIn"`
		} `json:"list"`
	} `json:"annotations"`
}

// Extract lists the queries of a dashboard's JSON.
func Extract(raw []byte) ([]Query, error) {
	var d dashboardJSON
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("dashboard JSON: %w", err)
	}
	var out []Query
	var walk func(ps []panel) error
	walk = func(ps []panel) error {
		for _, p := range ps {
			if p.Type == "row" {
				if err := walk(p.Panels); err != nil {
					return err
				}
				continue
			}
			from, to := d.Time.From, d.Time.To
			if p.TimeFrom != "" {
				from, to = "now-"+p.TimeFrom, "now"
			}
			for _, rawT := range p.Targets {
				q, err := decodeTarget(rawT, p.Datasource)
				if err != nil {
					return fmt.Errorf("%s / %s: %w", d.Title, p.Title, err)
				}
				q.Dashboard, q.Panel, q.From, q.To, q.MinInterval = d.Title, p.Title, from, to, p.Interval
				out = append(out, q)
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	for _, a := range d.Annotations.List {
		if a.BuiltIn == 1 || len(a.Target) == 0 {
			continue
		}
		q, err := decodeTarget(a.Target, a.Datasource)
		if err != nil {
			return nil, fmt.Errorf("%s / annotation %s: %w", d.Title, a.Name, err)
		}
		q.Dashboard, q.Panel, q.From, q.To = d.Title, "annotation: "+a.Name, d.Time.From, d.Time.To
		out = append(out, q)
	}
	return out, nil
}

func decodeTarget(raw json.RawMessage, panelDS *dsRef) (Query, error) {
	var t target
	if err := json.Unmarshal(raw, &t); err != nil {
		return Query{}, err
	}
	ds := t.Datasource
	if ds == nil {
		ds = panelDS
	}
	if ds == nil {
		return Query{}, fmt.Errorf("query %s has no datasource", t.RefID)
	}
	q := Query{RefID: t.RefID, Datasource: ds.Type}
	switch {
	case ds.Type == "prometheus":
		if t.Expr == "" {
			return Query{}, fmt.Errorf("query %s: empty expression", t.RefID)
		}
		q.Expr, q.Instant = t.Expr, t.Instant
	case t.QueryType != "":
		q.QueryType, q.JSON = t.QueryType, raw
	default:
		return Query{}, fmt.Errorf("query %s of %s has no queryType", t.RefID, ds.Type)
	}
	return q, nil
}

var relRE = regexp.MustCompile(`^now(?:([+-])(\d+)([smhdwMy]))?$`)

// ResolveTime turns Grafana's relative time ("now-30d", "now+90d", "now")
// into a time.
func ResolveTime(s string, now time.Time) (time.Time, error) {
	m := relRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("time %q is not now[+-]N(s|m|h|d|w|M|y)", s)
	}
	if m[1] == "" {
		return now, nil
	}
	n, _ := strconv.Atoi(m[2])
	if m[1] == "-" {
		n = -n
	}
	switch m[3] {
	case "s":
		return now.Add(time.Duration(n) * time.Second), nil
	case "m":
		return now.Add(time.Duration(n) * time.Minute), nil
	case "h":
		return now.Add(time.Duration(n) * time.Hour), nil
	case "d":
		return now.AddDate(0, 0, n), nil
	case "w":
		return now.AddDate(0, 0, 7*n), nil
	case "M":
		return now.AddDate(0, n, 0), nil
	}
	return now.AddDate(n, 0, 0), nil
}

// Range is the evaluated range and step of a query, as Grafana computes
// them for a panel about maxPoints wide.
type Range struct {
	From, To time.Time
	Step     time.Duration
}

// RangeOf resolves a query's range at now.
func RangeOf(q Query, now time.Time, maxPoints int) (Range, error) {
	from, err := ResolveTime(q.From, now)
	if err != nil {
		return Range{}, err
	}
	to, err := ResolveTime(q.To, now)
	if err != nil {
		return Range{}, err
	}
	step := max(to.Sub(from)/time.Duration(maxPoints), 15*time.Second)
	if q.MinInterval != "" {
		d, err := time.ParseDuration(q.MinInterval)
		if err != nil {
			return Range{}, fmt.Errorf("interval %q: %w", q.MinInterval, err)
		}
		step = max(step, d)
	}
	return Range{From: from, To: to, Step: step.Truncate(time.Second)}, nil
}

// Expand replaces Grafana's variables in a Prometheus expression: the
// interval variables by the range's step (the rate interval at least four
// scrapes of 15 s), template variables by a match-all.
func Expand(expr string, r Range) string {
	step := promDuration(r.Step)
	rate := promDuration(max(r.Step+15*time.Second, 60*time.Second))
	rng := promDuration(r.To.Sub(r.From))
	repl := strings.NewReplacer(
		"$__rate_interval", rate, "${__rate_interval}", rate,
		"$__interval", step, "${__interval}", step,
		"$__range", rng, "${__range}", rng,
		"$service", ".+", "${service}", ".+",
	)
	return repl.Replace(expr)
}

func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
