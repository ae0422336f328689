package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/wedsync/scaling/autoscaler/actuator"
	adminapi "github.com/wedsync/scaling/autoscaler/api"
	"github.com/wedsync/scaling/autoscaler/capacity"
	"github.com/wedsync/scaling/autoscaler/loadrun"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
)

var (
	promOnce sync.Once
	prom     *devstack.Server
	promErr  error
	target   *httptest.Server
)

func TestMain(m *testing.M) {
	code := storetest.Main(m)
	if prom != nil {
		prom.Close()
		target.Close()
	}
	os.Exit(code)
}

// normalized serves series named like the recording rules' outputs, so a
// real Prometheus holds what the API queries.
const normalized = `# TYPE x untyped
service:cpu_utilization:ratio{service="api",source="demo"} 0.45
service:memory_utilization:ratio{service="api",source="demo"} 0.3
service:http_request_duration_seconds:p95{service="api",source="app"} 0.8
service:http_request_duration_seconds:p99{service="api",source="app"} 1.9
service:http_errors:ratio_rate{service="api",source="app"} 0.002
service:http_requests:rate{service="api",source="app"} 120
service:replicas:count{service="api",source="demo"} 3
db:cpu_utilization:ratio{service="database",source="node"} 0.63
db:connections:ratio{service="database",source="postgres"} 0.5
`

func startPrometheus(t *testing.T) *devstack.Server {
	t.Helper()
	promOnce.Do(func() {
		target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, normalized) }))
		prom, promErr = devstack.StartPrometheus(context.Background(), devstack.ServerOptions{Config: []byte(fmt.Sprintf(`
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: t
    honor_labels: true
    static_configs: [{targets: ['%s']}]
`, strings.TrimPrefix(target.URL, "http://")))})
		if promErr != nil {
			return
		}
		// Wait for the first scrape.
		c, _ := api.NewClient(api.Config{Address: prom.URL()})
		for i := 0; i < 100; i++ {
			v, _, _, err := promv1.NewAPI(c).Query(context.Background(), `service:replicas:count`, time.Now())
			if err == nil && v.String() != "" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if promErr != nil {
		t.Fatal(promErr)
	}
	return prom
}

// memActuator is an in-memory fleet.
type memActuator struct {
	mu    sync.Mutex
	state actuator.State
	fails int           // the next Apply calls that fail
	gate  chan struct{} // when set, Apply waits until it is closed
}

func (m *memActuator) Current(context.Context) (actuator.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, nil
}

func (m *memActuator) Apply(_ context.Context, s actuator.State) error {
	m.mu.Lock()
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		<-gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails > 0 {
		m.fails--
		return errors.New("actuator: 503 Service Unavailable")
	}
	m.state = s
	return nil
}

type fixture struct {
	t      *testing.T
	st     *store.Store
	sc     *scaler.Scaler
	srv    *httptest.Server
	act    *memActuator
	tokens map[string]string // role → secret
	dsn    string            // the fixture's own database
	// retry, when set, stands in for scaler.Retry (see withRetry).
	retry  func(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error)
	runner *loadrun.Runner // this replica's, holding fixtureHolder's lease
}

// withRetry is the real scaler with a Retry a test may replace (f.retry):
// the API's side of the Scaler interface is then tested on its own.
type withRetry struct {
	*scaler.Scaler
	f *fixture
}

func (w withRetry) Retry(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error) {
	if w.f.retry != nil {
		return w.f.retry(ctx, eventID, user, dryRun)
	}
	return w.Scaler.Retry(ctx, eventID, user, dryRun)
}

// fixtureHolder is the lease the fixture's replica holds.
const fixtureHolder = "replica-a"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := startPrometheus(t)
	pol, err := policy.Parse([]byte(`
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    price_per_replica_monthly: 20
    settle_timeout: 5s
    metrics: [{name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.3}]
    # Generous rate policies: the API tests make many actions in a row.
    scale_up: {cooldown: 0s, policies: [{type: Pods, value: 10, period: 1s}]}
    scale_down: {cooldown: 0s, stabilization_window: 0s, policies: [{type: Pods, value: 10, period: 1s}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	dsn := storetest.DSN(t)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	// The policy's bounds alone apply: the seeded startup phase would cap
	// api at 3 replicas.
	ph, _ := st.ActivePhase(context.Background())
	if _, err := st.UpdatePhase(context.Background(), ph.ID, store.PhaseUpdate{ScalingConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	obs, _ := observe.NewPrometheus(p.URL(), 5*time.Second)
	f := &fixture{t: t, st: st, dsn: dsn, act: &memActuator{state: actuator.State{Replicas: 2}}, tokens: map[string]string{}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.sc, err = scaler.New(scaler.Config{Policy: pol, Store: st, Overrides: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": f.act},
		Logger: logger, SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(api.Config{Address: p.URL()})
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := st.Heartbeat(ctx, fixtureHolder, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	runner, err := loadrun.New(ctx, loadrun.Config{Recorder: &record.Recorder{Store: st, Logger: logger}, Limits: scenario.DefaultLimits,
		Holder: fixtureHolder, PollInterval: 100 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	f.runner = runner
	t.Cleanup(func() { cancel(); runner.Wait() })
	srv := adminapi.New(adminapi.Config{Store: st, Scaler: withRetry{f.sc, f}, Growth: f.sc, Recommendations: st, LoadTestStore: st, LoadTests: runner, Costs: st,
		Planner: &capacity.Planner{Prom: promv1.NewAPI(c), Store: st, Policy: pol}, Plans: st, Measurements: st,
		Prometheus: promv1.NewAPI(c), Logger: logger})
	f.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.sc.Wait)
	for _, role := range []string{store.RoleViewer, store.RoleOperator, store.RoleAdmin} {
		_, secret, err := st.CreateToken(context.Background(), role+"-user", role, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[role] = secret
	}
	return f
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (f *fixture) do(role, method, path, body string, headers ...string) response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkResponse(f.t, req, resp.StatusCode, resp.Header, raw)
	r := response{status: resp.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func (r response) errField(k string) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

// completedEvent scales api through the API and waits for the action.
func (f *fixture) completedEvent(replicas int) string {
	f.t.Helper()
	r := f.do(store.RoleOperator, "POST", "/api/admin/scaling/trigger/api", fmt.Sprintf(`{"replicas": %d, "reason": "test"}`, replicas))
	if r.status != http.StatusAccepted {
		f.t.Fatalf("trigger: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	return r.body["id"].(string)
}
