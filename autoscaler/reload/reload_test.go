package reload_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/reload"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// policyText is a level-controlled api with the given minimum.
func policyText(min string) string {
	return `
sync_period: 1s
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: ` + min + `
    max_replicas: 20
    settle_timeout: 2s
    metric_window: 1s
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="api"}', target: 0.6}
    scale_up: {cooldown: 0s}
    scale_down: {stabilization_window: 0s, cooldown: 0s}
`
}

type fixedState struct{ st actuator.State }

func (f *fixedState) Current(context.Context) (actuator.State, error) { return f.st, nil }
func (f *fixedState) Apply(context.Context, actuator.State) error     { return nil }

type steady struct{}

func (steady) Observe(context.Context, *policy.Service) []decision.Observation {
	return []decision.Observation{{Name: "cpu", Value: 0.6, Target: 0.6, At: time.Now()}}
}

type env struct {
	path string
	sc   *scaler.Scaler
	w    *reload.Watcher
	reg  *prometheus.Registry
}

func newEnv(t *testing.T, trigger chan os.Signal, interval time.Duration) *env {
	t.Helper()
	st := storetest.New(t)
	ph, err := st.ActivePhase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdatePhase(context.Background(), ph.ID, store.PhaseUpdate{ScalingConfig: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	e := &env{path: filepath.Join(t.TempDir(), "policy.yml"), reg: prometheus.NewRegistry()}
	write(t, e.path, policyText("2"))
	pol, err := policy.Load(e.path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.sc, err = scaler.New(scaler.Config{Policy: pol, Store: st, Observer: steady{},
		Actuators: map[string]actuator.Actuator{"api": &fixedState{actuator.State{Replicas: 4}}}, DryRun: true, Logger: logger,
		Metrics: scaler.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	e.w, err = reload.New(reload.Config{Path: e.path, Interval: interval, Trigger: trigger, Apply: e.sc.Reload, Logger: logger, Reg: e.reg})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func write(t *testing.T, path, text string) {
	t.Helper()
	// Written beside and renamed, as editors and ConfigMaps do.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// target is what the next decision wants for api (dry run: never acts).
func (e *env) target(t *testing.T) int {
	t.Helper()
	res := e.sc.Evaluate(context.Background(), "api", time.Time{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Output.Target
}

func (e *env) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

// A valid change is used by the next decision; an invalid file is refused,
// counted, and the policy in force stays; fixing it recovers.
func TestReloadValidAndInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, 0)
	if got := e.target(t); got != 4 {
		t.Fatalf("target before = %d, want 4 (within tolerance)", got)
	}
	if applied, err := e.w.Reload(false); applied || err != nil {
		t.Fatalf("unchanged file: applied %v, err %v", applied, err)
	}

	write(t, e.path, policyText("6"))
	if applied, err := e.w.Reload(false); !applied || err != nil {
		t.Fatalf("valid change: applied %v, err %v", applied, err)
	}
	if got := e.target(t); got != 6 {
		t.Fatalf("target after raising min_replicas to 6 = %d", got)
	}
	okAt := e.metric(t, "wedsync_autoscaler_policy_last_reload_success_timestamp_seconds")

	for i, bad := range []string{
		policyText("30"), // above max_replicas
		policyText("6") + "    color: red\n",
		"services: [",
	} {
		write(t, e.path, bad)
		if applied, err := e.w.Reload(false); applied || err == nil || !strings.Contains(err.Error(), e.path) {
			t.Fatalf("invalid file %d: applied %v, err %v", i, applied, err)
		}
		if got := e.target(t); got != 6 {
			t.Fatalf("invalid file %d: target = %d; the policy in force (min 6) must stay", i, got)
		}
		if n := e.metric(t, "wedsync_autoscaler_policy_reload_errors_total"); n != float64(i+1) {
			t.Fatalf("reload errors = %v, want %d", n, i+1)
		}
		if e.metric(t, "wedsync_autoscaler_policy_last_reload_successful") != 0 {
			t.Fatal("last reload successful is not 0 after a failure")
		}
		// Polled again unchanged: tried once per change, not once per poll.
		if applied, err := e.w.Reload(false); applied || err != nil {
			t.Fatalf("same invalid file polled again: applied %v, err %v", applied, err)
		}
	}
	if e.metric(t, "wedsync_autoscaler_policy_last_reload_success_timestamp_seconds") != okAt {
		t.Fatal("the last success timestamp moved on failures")
	}
	write(t, e.path, policyText("3"))
	if applied, err := e.w.Reload(false); !applied || err != nil {
		t.Fatalf("fixed file: applied %v, err %v", applied, err)
	}
	if e.metric(t, "wedsync_autoscaler_policy_last_reload_successful") != 1 || e.target(t) != 4 {
		t.Fatal("the fixed file is not in force")
	}
}

// The running watcher picks a change up by polling, and SIGHUP reloads
// even an unchanged file.
func TestReloadPollAndSignal(t *testing.T) {
	t.Parallel()
	hup := make(chan os.Signal, 1)
	e := newEnv(t, hup, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	write(t, e.path, policyText("7"))
	deadline := time.Now().Add(5 * time.Second)
	for e.target(t) != 7 {
		if time.Now().After(deadline) {
			t.Fatal("the file's change was not picked up by polling")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := e.metric(t, "wedsync_autoscaler_policy_last_reload_success_timestamp_seconds")
	hup <- syscall.SIGHUP
	for e.metric(t, "wedsync_autoscaler_policy_last_reload_success_timestamp_seconds") == before {
		if time.Now().After(deadline.Add(2 * time.Second)) {
			t.Fatal("SIGHUP did not reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := testutil.CollectAndCount(e.reg, "wedsync_autoscaler_policy_reload_errors_total"); n != 1 {
		t.Fatalf("error series = %d", n)
	}
	if e.metric(t, "wedsync_autoscaler_policy_reload_errors_total") != 0 {
		t.Fatal("reload errors counted on valid reloads")
	}
}
