package panelquery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PluginRunner runs one plugin query and says how many rows came back.
type PluginRunner func(ctx context.Context, q Query, r Range) (rows int, err error)

// Runner runs dashboard queries against a Prometheus and the plugin.
type Runner struct {
	PrometheusURL string
	Plugin        PluginRunner
	Client        *http.Client
	Now           time.Time
	MaxPoints     int // default 200
}

// Result is what one query gave.
type Result struct {
	Query Query
	// Points counts non-NaN samples (Prometheus) or rows (plugin).
	Points int
	Err    error
}

// Run runs every query; a query that fails or returns nothing is a
// Result with Points 0 or an error.
func (rn Runner) Run(ctx context.Context, qs []Query) []Result {
	out := make([]Result, len(qs))
	for i, q := range qs {
		out[i] = rn.runOne(ctx, q)
	}
	return out
}

func (rn Runner) runOne(ctx context.Context, q Query) Result {
	now := rn.Now
	if now.IsZero() {
		now = time.Now()
	}
	mp := rn.MaxPoints
	if mp == 0 {
		mp = 200
	}
	r, err := RangeOf(q, now, mp)
	if err != nil {
		return Result{Query: q, Err: err}
	}
	if q.Datasource != "prometheus" {
		if rn.Plugin == nil {
			return Result{Query: q, Err: fmt.Errorf("no plugin to run %s", q.QueryType)}
		}
		n, err := rn.Plugin(ctx, q, r)
		return Result{Query: q, Points: n, Err: err}
	}
	// Prometheus answers nothing for the future: end the range at now.
	if r.To.After(now) {
		r.To = now
	}
	n, err := rn.prometheus(ctx, Expand(q.Expr, r), q.Instant, r)
	return Result{Query: q, Points: n, Err: err}
}

type promResponse struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

func (rn Runner) prometheus(ctx context.Context, expr string, instant bool, r Range) (int, error) {
	v := url.Values{"query": {expr}}
	path := "/api/v1/query_range"
	if instant {
		path = "/api/v1/query"
		v.Set("time", strconv.FormatInt(r.To.Unix(), 10))
	} else {
		v.Set("start", strconv.FormatInt(r.From.Unix(), 10))
		v.Set("end", strconv.FormatInt(r.To.Unix(), 10))
		v.Set("step", strconv.FormatInt(int64(r.Step/time.Second), 10))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rn.PrometheusURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.URL.RawQuery = v.Encode()
	c := rn.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return 0, fmt.Errorf("%s: %d %s", expr, resp.StatusCode, body)
	}
	if pr.Status != "success" {
		return 0, fmt.Errorf("%s: %s: %s", expr, pr.ErrorType, pr.Error)
	}
	n := 0
	for _, s := range pr.Data.Result {
		var series struct {
			Value  []any   `json:"value"`
			Values [][]any `json:"values"`
		}
		if err := json.Unmarshal(s, &series); err != nil {
			return 0, err
		}
		if series.Value != nil {
			series.Values = append(series.Values, series.Value)
		}
		for _, p := range series.Values {
			if len(p) == 2 {
				if s, ok := p[1].(string); ok {
					if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
						n++
					}
				}
			}
		}
	}
	return n, nil
}
