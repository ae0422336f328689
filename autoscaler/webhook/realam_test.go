package webhook_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/storetest"
)

var update = flag.Bool("update", false, "rewrite testdata/am-0.25-*.json from a real Alertmanager, and the golden files")

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// A real Alertmanager (Debian's 0.25) delivers to the handler, with bearer
// authentication, a firing and then a resolved notification; both are
// decoded and recorded. With -update the bodies become the fixtures the
// table tests use.
func TestRealAlertmanagerDelivers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st := storetest.New(t)

	var mu sync.Mutex
	var bodies [][]byte
	h, err := webhook.New(webhook.Config{Recorder: st, Known: func(s string) bool { return s == "api" }, Token: "hook-token",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan int, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		r.Body = io.NopCloser(bytesReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		results <- rec.Code
	}))
	defer srv.Close()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("hook-token\n"), 0o600)
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: []byte(fmt.Sprintf(`
route:
  receiver: autoscaler
  group_by: [alertname, scaling_service]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: autoscaler
    webhook_configs:
      - url: %s/webhook/alertmanager
        send_resolved: true
        http_config:
          authorization: {type: Bearer, credentials_file: %s}
`, srv.URL, tokenFile))})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()

	starts := time.Now().Add(-time.Minute).Truncate(time.Second)
	post := func(ends time.Time) {
		cfg := amclient.DefaultTransportConfig().WithHost(am.URL()[len("http://"):]).WithBasePath("/api/v2").WithSchemes([]string{"http"})
		c := amclient.NewHTTPClientWithConfig(strfmt.Default, cfg)
		pa := &models.PostableAlert{StartsAt: strfmt.DateTime(starts), EndsAt: strfmt.DateTime(ends),
			Annotations: models.LabelSet{"summary": "CPU of api above 80 %", "value": "0.93"},
			Alert: models.Alert{Labels: models.LabelSet{"alertname": "ServiceCPUHigh", "scaling_service": "api",
				"scaling_action": "scale_up", "reason": "high_cpu_usage", "severity": "warning"},
				GeneratorURL: "http://prometheus.example/graph"}}
		if _, err := c.Alert.PostAlerts(alert.NewPostAlertsParamsWithContext(ctx).WithAlerts(models.PostableAlerts{pa})); err != nil {
			t.Fatalf("post alert: %v", err)
		}
	}
	wait := func(what string) {
		select {
		case code := <-results:
			if code != http.StatusOK {
				mu.Lock()
				t.Fatalf("%s: handler answered %d to %s", what, code, bodies[len(bodies)-1])
			}
		case <-ctx.Done():
			t.Fatalf("%s: Alertmanager did not deliver:\n%s", what, am.LogTail(2000))
		}
	}
	post(time.Now().Add(time.Hour))
	wait("firing")
	firing, err := st.FiringAlerts(ctx, "api", time.Now().Add(-time.Minute))
	if err != nil || len(firing) != 1 {
		t.Fatalf("firing alerts = %+v, %v", firing, err)
	}
	a := firing[0]
	if a.Alertname != "ServiceCPUHigh" || a.Reason != "high_cpu_usage" || a.Annotations["value"] != "0.93" || a.Fingerprint == "" || !a.StartsAt.Equal(starts) {
		t.Fatalf("recorded alert = %+v", a)
	}
	post(time.Now().Add(-time.Second)) // ends in the past: resolved
	wait("resolved")
	if firing, _ := st.FiringAlerts(ctx, "api", time.Now().Add(-time.Minute)); len(firing) != 0 {
		t.Fatalf("still firing after resolved: %+v", firing)
	}
	if *update {
		mu.Lock()
		defer mu.Unlock()
		os.WriteFile(filepath.Join("testdata", "am-0.25-firing.json"), scrubHost(bodies[0]), 0o644)
		os.WriteFile(filepath.Join("testdata", "am-0.25-resolved.json"), scrubHost(bodies[len(bodies)-1]), 0o644)
	}
}
