package alerting

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
)

// A failed action reaches a real Alertmanager with the labels people route
// on, and without scaling_action (it must not loop back to the autoscaler).
// One unreachable Alertmanager of two is tolerated; all unreachable is an
// error.
func TestActionFailedReachesAlertmanager(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte("route: {receiver: people}\nreceivers: [{name: people}]\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := NewAlertmanager([]string{am.URL(), "http://127.0.0.1:1"}, "http://autoscaler.example:9681", logger)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.Event{ID: "0b6c5a56-1111-2222-3333-444455556666", Type: store.EventScaleUp, Service: "api",
		Before: []byte(`{"replicas": 2}`), After: []byte(`{"replicas": 4}`), ErrorMessage: "PUT http://fleet/admin/replicas: 503"}
	if err := a.ActionFailed(ctx, ev); err != nil {
		t.Fatalf("one Alertmanager reachable: %v", err)
	}
	c := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().
		WithHost(strings.TrimPrefix(am.URL(), "http://")).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
	resp, err := c.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Payload) != 1 {
		t.Fatalf("alerts in Alertmanager: %d", len(resp.Payload))
	}
	got := resp.Payload[0]
	defer func() {
		// The over-ceiling alert carries the cost-alert contract's labels.
		if err := a.OverCostCeiling(ctx, ev, "80.00"); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range resp.Payload {
			if al.Labels["alertname"] == OverCeilingAlertName {
				if al.Labels["cost_alert_type"] != "slo_over_budget" || al.Annotations["threshold"] != "80.00" {
					t.Errorf("over-ceiling alert: %v %v", al.Labels, al.Annotations)
				}
				return
			}
		}
		t.Error("no over-ceiling alert in Alertmanager")
	}()
	want := map[string]string{"alertname": AlertName, "severity": "critical", "service": "api", "event_type": "scale_up", "event_id": ev.ID}
	for k, v := range want {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
		}
	}
	if _, ok := got.Labels["scaling_action"]; ok {
		t.Error("alert carries scaling_action: it would be routed back to the autoscaler")
	}
	if !strings.Contains(got.Annotations["description"], "503") || got.GeneratorURL != "http://autoscaler.example:9681" {
		t.Errorf("annotations %v, generator %s", got.Annotations, got.GeneratorURL)
	}
	none, _ := NewAlertmanager([]string{"http://127.0.0.1:1"}, "", logger)
	if err := none.ActionFailed(ctx, ev); err == nil {
		t.Fatal("no Alertmanager reachable, no error")
	}
}
