package alertpost

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/devstack"
)

// Posted to a real Alertmanager (and to one that is down): the alert is
// there with its labels, annotations, generator URL and end time.
func TestPostToRealAlertmanager(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte("route: {receiver: people}\nreceivers: [{name: people}]\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	p, err := New([]string{am.URL(), "http://127.0.0.1:1"}, "http://autoscaler.example:9681")
	if err != nil {
		t.Fatal(err)
	}
	p.TTL = 10 * time.Minute
	if err := p.Post(ctx, map[string]string{"alertname": "X", "service": "api"}, map[string]string{"summary": "s"}); err != nil {
		t.Fatalf("one of two reachable: %v", err)
	}
	resp, err := http.Get(am.URL() + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
		EndsAt       time.Time         `json:"endsAt"`
	}
	json.NewDecoder(resp.Body).Decode(&alerts)
	if len(alerts) != 1 || alerts[0].Labels["service"] != "api" || alerts[0].Annotations["summary"] != "s" ||
		alerts[0].Annotations["runbook_url"] != "https://github.com/wedsync/scaling/blob/main/docs/runbooks/X.md" ||
		alerts[0].GeneratorURL != "http://autoscaler.example:9681" || time.Until(alerts[0].EndsAt) < 9*time.Minute {
		t.Fatalf("alerts = %+v", alerts)
	}
	down, _ := New([]string{"http://127.0.0.1:1"}, "")
	if err := down.Post(ctx, map[string]string{"alertname": "X"}, nil); err == nil || !strings.Contains(err.Error(), "no Alertmanager reached") {
		t.Fatalf("none reachable: %v", err)
	}
	for _, bad := range []string{"alertmanager:9093", "ftp://x", "http://"} {
		if _, err := New([]string{bad}, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
