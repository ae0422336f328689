package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

type kicks struct {
	mu       sync.Mutex
	services [][]string
}

func (k *kicks) notify(s []string, _ time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.services = append(k.services, s)
}

func newHandler(t *testing.T, rec webhook.Recorder, k *kicks, maxBody int64) (http.Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := webhook.New(webhook.Config{Recorder: rec, Known: known, Notify: k.notify, Token: "s3cret", MaxBody: maxBody,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

func post(h http.Handler, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhook/alertmanager", strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	k := &kicks{}
	h, reg := newHandler(t, st, k, 4096)
	good := string(fixture(t, "am-0.25-firing.json"))

	tests := []struct {
		name   string
		token  string
		body   string
		status int
		want   string
	}{
		{"no token", "", good, 401, "missing or wrong bearer token"},
		{"wrong token", "guess", good, 401, "missing or wrong bearer token"},
		{"too large", "s3cret", good + strings.Repeat(" ", 5000), 413, "body larger than 4096 bytes"},
		{"malformed", "s3cret", "{", 400, "malformed JSON"},
		{"unknown service", "s3cret", strings.Replace(good, `"scaling_service":"api"`, `"scaling_service":"nope"`, 1), 422, "unknown service"},
		{"NUL in a label is refused, not retried, with no database text", "s3cret", strings.Replace(good, `"severity":"warning"`, `"severity":"warn\u0000ing"`, 1), 400, "a NUL character"},
		{"accepted", "s3cret", good, 200, `"status":"accepted"`},
		{"duplicate", "s3cret", good, 200, `"status":"duplicate"`},
	}
	for _, tc := range tests { // in order: the last two depend on each other
		w := post(h, tc.token, tc.body)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Fatalf("%s: %d %s, want %d containing %s", tc.name, w.Code, w.Body, tc.status, tc.want)
		}
		if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	// Nothing was written by the rejected ones; one alert from the accepted.
	firing, err := st.FiringAlerts(context.Background(), "", time.Now().Add(-time.Minute))
	if err != nil || len(firing) != 1 || firing[0].Labels["severity"] != "warning" {
		t.Fatalf("firing = %+v, %v", firing, err)
	}
	k.mu.Lock()
	if len(k.services) != 2 || k.services[0][0] != "api" {
		t.Fatalf("notify calls = %v, want two for api (the duplicate re-checks too)", k.services)
	}
	k.mu.Unlock()
	for result, want := range map[string]float64{"accepted": 1, "duplicate": 1, "rejected": 4, "unauthorized": 2, "unavailable": 0} {
		got := testutil.ToFloat64(mustCounter(t, reg, result))
		if got != want {
			t.Errorf("notifications_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, result string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "wedsync_autoscaler_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == "scaling" && labels["result"] == result {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no series for result %s", result)
	return nil
}

// With the database down the answer is 503 (Alertmanager retries 5xx), and
// nothing claims success.
func TestHandlerDatabaseDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := &kicks{}
	h, _ := newHandler(t, st, k, 0)
	w := post(h, "s3cret", string(fixture(t, "am-0.25-firing.json")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d %s, want 503 with Retry-After", w.Code, w.Body)
	}
	if len(k.services) != 0 {
		t.Fatal("scaler kicked for an unrecorded notification")
	}
}

// Concurrent deliveries through the group commit: every one recorded once,
// duplicates recognised, none lost.
func TestGroupCommitConcurrent(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	gc := webhook.NewGroupCommit(st, 2, 8)
	k := &kicks{}
	h, _ := newHandler(t, gc, k, 0)
	tmpl := string(fixture(t, "am-0.25-firing.json"))
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := range 100 {
		for range 2 { // each notification twice, concurrently: an unpeered HA pair
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := strings.Replace(tmpl, `"fingerprint":"6edfc6f66b9dc150"`, fmt.Sprintf(`"fingerprint":"%016x"`, i), 1)
				codes <- post(h, "s3cret", body).Code
			}()
		}
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("status %d", c)
		}
	}
	n, deliveries, err := st.NotificationCounts(context.Background())
	if err != nil || n != 100 || deliveries != 200 {
		t.Fatalf("notifications %d, deliveries %d (%v); want 100 and 200", n, deliveries, err)
	}
	firing, _ := st.FiringAlerts(context.Background(), "api", time.Now().Add(-time.Minute))
	if len(firing) != 100 {
		t.Fatalf("%d firing alerts, want 100", len(firing))
	}
}

// The scaling webhook parses no number it receives: a value annotation or
// a label that reads as one, whatever it says (2.4e+12, 1e400, NaN), is
// stored as received and refuses nothing.
func TestHandlerKeepsNumericTextAsReceived(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	h, _ := newHandler(t, st, &kicks{}, 0)
	body := string(fixture(t, "am-0.25-firing.json"))
	for i, v := range []string{"2.4e+12", "1e400", "NaN"} {
		b := strings.Replace(body, `"value":"0.93"`, fmt.Sprintf(`"value":%q,"threshold":%q`, v, v), 1)
		b = strings.Replace(b, `"severity":"warning"`, fmt.Sprintf(`"severity":"warning","threshold_percent":%q`, v), 1)
		b = strings.Replace(b, `"fingerprint":"6edfc6f66b9dc150"`, fmt.Sprintf(`"fingerprint":"%016x"`, i+1), 1)
		if w := post(h, "s3cret", b); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"accepted"`) {
			t.Fatalf("value %s: %d %s", v, w.Code, w.Body)
		}
	}
	firing, err := st.FiringAlerts(context.Background(), "api", time.Now().Add(-time.Minute))
	if err != nil || len(firing) != 3 {
		t.Fatalf("firing = %d, %v", len(firing), err)
	}
	got := map[string]bool{}
	for _, a := range firing {
		if a.Annotations["value"] != a.Annotations["threshold"] || a.Labels["threshold_percent"] != a.Annotations["value"] {
			t.Fatalf("stored %v %v", a.Labels, a.Annotations)
		}
		got[a.Annotations["value"]] = true
	}
	if !got["2.4e+12"] || !got["1e400"] || !got["NaN"] {
		t.Fatalf("values stored: %v", got)
	}
}
