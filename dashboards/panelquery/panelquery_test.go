package panelquery_test

import (
	"testing"
	"time"

	"github.com/wedsync/scaling/dashboards/panelquery"
)

func TestResolveTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"now", now, false},
		{"now-6h", now.Add(-6 * time.Hour), false},
		{"now+90d", now.AddDate(0, 0, 90), false},
		{"now-12M", now.AddDate(0, -12, 0), false},
		{"now-1y", now.AddDate(-1, 0, 0), false},
		{"now-2w", now.AddDate(0, 0, -14), false},
		{"yesterday", time.Time{}, true},
		{"now-5x", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := panelquery.ResolveTime(tt.in, now)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("ResolveTime(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestExtractAndExpand(t *testing.T) {
	t.Parallel()
	dash := `{"title": "D", "time": {"from": "now-6h", "to": "now"},
	  "annotations": {"list": [{"builtIn": 1, "name": "Annotations & Alerts"},
	    {"name": "Events", "datasource": {"type": "wedsync-scaling-datasource", "uid": "u"}, "target": {"refId": "Anno", "queryType": "scaling_annotations"}}]},
	  "panels": [
	    {"title": "P", "type": "timeseries", "datasource": {"type": "prometheus", "uid": "prometheus"},
	     "targets": [{"refId": "A", "expr": "rate(x_total[$__rate_interval])"}, {"refId": "B", "expr": "y", "instant": true}]},
	    {"title": "Row", "type": "row", "panels": [
	      {"title": "Year", "type": "timeseries", "timeFrom": "1y", "interval": "1h", "datasource": {"type": "prometheus", "uid": "p"},
	       "targets": [{"refId": "A", "expr": "max_over_time(z[$__interval])"}]}]},
	    {"title": "Plugin", "type": "table", "targets": [{"refId": "A", "queryType": "budgets", "datasource": {"type": "wedsync-scaling-datasource", "uid": "u"}}]}
	  ]}`
	qs, err := panelquery.Extract([]byte(dash))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 5 {
		t.Fatalf("%d queries: %+v", len(qs), qs)
	}
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	r, err := panelquery.RangeOf(qs[0], now, 200)
	if err != nil {
		t.Fatal(err)
	}
	if got := panelquery.Expand(qs[0].Expr, r); got != "rate(x_total[123s])" {
		t.Errorf("rate interval: %s (step %s)", got, r.Step)
	}
	if !qs[1].Instant || qs[3].QueryType != "budgets" || qs[4].Panel != "annotation: Events" {
		t.Errorf("queries: %+v", qs)
	}
	year, err := panelquery.RangeOf(qs[2], now, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !year.From.Equal(now.AddDate(-1, 0, 0)) || year.Step < time.Hour {
		t.Errorf("panel timeFrom 1y with interval 1h: %+v", year)
	}
	if got := panelquery.Expand(qs[2].Expr, year); got != "max_over_time(z[157680s])" {
		t.Errorf("interval: %s", got)
	}
	if _, err := panelquery.Extract([]byte(`{"panels": [{"title": "x", "targets": [{"refId": "A"}]}]}`)); err == nil {
		t.Error("a query without datasource was accepted")
	}
}
