package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// A real Alertmanager delivers one cost notification of five alerts: a
// value of 2.4e+12 (stored exactly), one of 1e400 with a threshold of
// 1e400 (beyond float64: text, null, flagged), NaN (flagged), an unknown
// cost_alert_type (stored as unknown, flagged) and a normal one. All five
// are recorded, the answer is 200, and the repeat delivery adds nothing.
func TestRealAlertmanagerDeliversCostAlerts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := storetest.New(t)
	h, err := webhook.New(webhook.Config{Recorder: st, Costs: st, Known: known, Token: "hook-token", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	type delivery struct {
		code int
		body map[string]any
	}
	results := make(chan delivery, 10)
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		r.Body = io.NopCloser(bytesReader(body))
		rec := httptest.NewRecorder()
		h.Costs().ServeHTTP(rec, r)
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		var resp map[string]any
		json.Unmarshal(rec.Body.Bytes(), &resp)
		results <- delivery{rec.Code, resp}
	}))
	defer srv.Close()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("hook-token\n"), 0o600)
	// repeat_interval 1s: Alertmanager delivers the same notification
	// again, as it would after a lost answer or from its HA peer.
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte(fmt.Sprintf(`
route:
  receiver: costs
  group_by: [team]
  group_wait: 2s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: costs
    webhook_configs:
      - url: %s/webhook/alertmanager/costs
        send_resolved: true
        http_config:
          authorization: {type: Bearer, credentials_file: %s}
`, srv.URL, tokenFile))})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()

	starts := time.Now().Add(-time.Minute).Truncate(time.Second)
	mk := func(name, typ, threshold, value string) *models.PostableAlert {
		labels := models.LabelSet{"alertname": name, "cost_alert_type": typ, "severity": "warning", "team": "platform", "service": "openai"}
		if threshold != "" {
			labels["threshold_percent"] = threshold
		}
		return &models.PostableAlert{StartsAt: strfmt.DateTime(starts), EndsAt: strfmt.DateTime(time.Now().Add(time.Hour)),
			Annotations: models.LabelSet{"summary": name, "value": value}, Alert: models.Alert{Labels: labels}}
	}
	cfg := amclient.DefaultTransportConfig().WithHost(am.URL()[len("http://"):]).WithBasePath("/api/v2").WithSchemes([]string{"http"})
	c := amclient.NewHTTPClientWithConfig(strfmt.Default, cfg)
	if _, err := c.Alert.PostAlerts(alert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{
		mk("CostSpike", "cost_spike", "", "2.4e+12"),
		mk("CostBudgetThresholdCrossed", "budget_threshold", "1e400", "1e400"),
		mk("UsageSpike", "usage_spike", "", "NaN"),
		mk("WeatherCost", "weather", "", "3"),
		mk("CostProjectedOverBudget", "projected_overrun", "100", "1.25"),
	})); err != nil {
		t.Fatalf("post alerts: %v", err)
	}
	// Alertmanager may split the first notification when the alerts reach
	// its dispatcher apart; every delivery must be 200 with nothing
	// refused, and the repeat of the whole group must add nothing.
	accepted := 0
	for done := false; !done; {
		select {
		case d := <-results:
			if d.code != http.StatusOK || d.body["rejected"] != nil {
				mu.Lock()
				t.Fatalf("%d %v for %s", d.code, d.body, bodies[len(bodies)-1])
			}
			switch d.body["status"] {
			case "accepted":
				accepted++
			case "duplicate":
				done = d.body["alerts"] == float64(5) && accepted > 0
			}
		case <-ctx.Done():
			t.Fatalf("Alertmanager did not repeat the whole notification:\n%s", am.LogTail(2000))
		}
	}

	got, err := st.ListCostAlerts(ctx, store.CostAlertFilter{})
	if err != nil || len(got) != 5 {
		t.Fatalf("%d cost alerts, %v", len(got), err)
	}
	type row struct{ typ, typText, value, valueText, threshold, thresholdText string }
	rows := map[string]row{}
	flags := map[string][]string{}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	for _, a := range got {
		value, threshold := "<null>", "<null>"
		if a.CurrentValue.Valid {
			value = a.CurrentValue.Decimal.String()
		}
		if a.ThresholdPercent.Valid {
			threshold = a.ThresholdPercent.Decimal.String()
		}
		rows[a.Message] = row{a.Type, str(a.TypeText), value, str(a.CurrentValueText), threshold, str(a.ThresholdPercentText)}
		flags[a.Message] = a.Flags
	}
	want := map[string]row{
		"CostSpike":                  {"cost_spike", "cost_spike", "2400000000000", "2.4e+12", "<null>", "<nil>"},
		"CostBudgetThresholdCrossed": {"budget_threshold", "budget_threshold", "<null>", "1e400", "<null>", "1e400"},
		"UsageSpike":                 {"usage_spike", "usage_spike", "<null>", "NaN", "<null>", "<nil>"},
		"WeatherCost":                {"unknown", "weather", "3", "3", "<null>", "<nil>"},
		"CostProjectedOverBudget":    {"projected_overrun", "projected_overrun", "1.25", "1.25", "100", "100"},
	}
	wantFlags := map[string][]string{
		"CostSpike":                  {},
		"CostBudgetThresholdCrossed": {"current_value:out_of_range", "threshold_percent:out_of_range"},
		"UsageSpike":                 {"current_value:not_finite"},
		"WeatherCost":                {"alert_type:unknown"},
		"CostProjectedOverBudget":    {},
	}
	for name, w := range want {
		if rows[name] != w || !slices.Equal(flags[name], wantFlags[name]) {
			t.Errorf("%s: %+v flags %v, want %+v flags %v", name, rows[name], flags[name], w, wantFlags[name])
		}
	}
}
