package stack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/demo/fleet"
	"github.com/wedsync/scaling/demo/load"
	"github.com/wedsync/scaling/demo/stack"
)

// TestEndToEnd runs the whole loop for real: PostgreSQL, Prometheus with
// the demo rules, two Alertmanagers that are NOT peered (so every
// notification arrives twice), the demo fleet and the autoscaler, and
// checks the loop's promises one after the other on the same stack.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: several minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	state := t.TempDir()
	workerFile := filepath.Join(state, "worker-replicas")
	batchFile := filepath.Join(state, "batch-replicas")
	slowFile := filepath.Join(state, "slow-replicas")
	slowLog := filepath.Join(state, "slow-calls")
	os.WriteFile(workerFile, []byte("1\n"), 0o644)
	os.WriteFile(batchFile, []byte("1\n"), 0o644)
	os.WriteFile(slowFile, []byte("1\n"), 0o644)
	// The queue services act only on alerts (the test posts them): their
	// stand-in metric would otherwise be tracked continuously.
	extra := fmt.Sprintf(`  worker:
    control: alerts_only
    actuator:
      type: exec
      exec:
        current_command: [cat, %[1]s]
        apply_command: [sh, -c, "echo 'queue backend rejected the change' >&2; exit 1"]
    min_replicas: 1
    max_replicas: 4
    metrics: [{name: backlog, query: "vector(0.9)", target: 0.6}]
  batch:
    control: alerts_only
    actuator:
      type: exec
      exec:
        current_command: [cat, %[2]s]
        apply_command: [sh, -c, 'echo "$0" > %[2]s', "{{.Replicas}}"]
    min_replicas: 1
    max_replicas: 4
    metrics: [{name: backlog, query: "vector(0.9)", target: 0.6}]
  slow:
    control: alerts_only
    actuator:
      type: exec
      exec:
        current_command: [cat, %[3]s]
        # Every call is counted where it acts: "start" when it begins, the
        # state written and "end" only after 3 s.
        apply_command: [sh, -c, 'echo "start $0 $$" >> %[4]s; sleep 3; echo "$0" > %[3]s; echo "end $0 $$" >> %[4]s', "{{.Replicas}}"]
        timeout: 8s
    min_replicas: 1
    max_replicas: 4
    settle_timeout: 20s
    scale_up: {cooldown: 0s}
    metrics: [{name: backlog, query: "vector(0.9)", target: 0.6}]
`, workerFile, batchFile, slowFile, slowLog)

	st, err := stack.Start(ctx, stack.Options{Alertmanagers: 2, ExtraServices: extra,
		// Provisioning takes a while, so that an action can be interrupted.
		FleetArgs: []string{"--provision-delay=4s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer func() {
		if t.Failed() {
			t.Logf("autoscaler log:\n%s", st.Autoscaler.LogTail(6000))
			ds, _ := st.Store.ListDecisions(context.Background(), "", 40)
			for _, d := range ds {
				t.Logf("decision %s %s %s %s: %s", d.At.Format("15:04:05"), d.Service, d.Action, d.Outcome, d.Reason)
			}
		}
	}()
	e := &e2e{t: t, ctx: ctx, st: st}
	defer func() { e.stopLoad() }()
	e.load(30)

	t.Run("a ramp: the first scale-up lands before p95 crosses 2 s", func(t *testing.T) {
		e.t = t
		time.Sleep(15 * time.Second) // the rate window fills with the warm-up load
		start := time.Now()
		e.ramp(30, 350, 40*time.Second)
		e.waitFor(2*time.Minute, "a completed scale-up and p95 under 2s at 350 req/s", func() bool {
			p95, ok := st.Query(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`)
			return e.completed("api", store.EventScaleUp) > 0 && ok && p95 < 2 && time.Since(start) > 45*time.Second
		})
		var first *store.Event
		for _, ev := range e.events("api") {
			if ev.Type == store.EventScaleUp && ev.StartedAt.After(start) && (first == nil || ev.StartedAt.Before(first.StartedAt)) {
				first = &ev
			}
		}
		if first == nil {
			t.Fatal("no scale-up during the ramp")
		}
		crossed, ok := st.FirstAbove(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`, 2, start, time.Now())
		if ok && !first.StartedAt.Before(crossed) {
			t.Fatalf("first scale-up at %s, p95 crossed 2 s at %s: it came after users waited", first.StartedAt.Format(time.TimeOnly), crossed.Format(time.TimeOnly))
		}
		t.Logf("first scale-up %s after the ramp began (%s → %s, %s); p95 crossed 2 s: %v %s", first.StartedAt.Sub(start).Round(time.Second),
			first.Before, first.After, first.TriggerReason, ok, crossed.Format(time.TimeOnly))
		// The controller's forecast is exported, and Prometheus has it.
		if _, ok := st.Query(ctx, `wedsync_autoscaler_forecast_lead_seconds{service="api"}`); !ok {
			t.Fatal("no wedsync_autoscaler_forecast_lead_seconds in Prometheus")
		}
	})

	t.Run("scale up under load, latency recovers", func(t *testing.T) {
		e.t = t
		e.load(350)
		e.waitFor(2*time.Minute, "a completed scale-up and p95 back under 2s", func() bool {
			p95, ok := st.Query(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`)
			return e.completed("api", store.EventScaleUp) > 0 && ok && p95 < 2
		})
		if ready, _, _ := st.FleetState(ctx); ready < 4 {
			t.Fatalf("ready replicas %d after scale-up, want at least 4", ready)
		}
	})

	t.Run("SIGKILL during an action is reconciled after restart", func(t *testing.T) {
		e.t = t
		e.load(900)
		var inflight store.Event
		e.waitFor(2*time.Minute, "an in_progress scale-up", func() bool {
			evs, _ := st.Store.ListEvents(ctx, store.EventFilter{Service: "api", Status: store.StatusInProgress})
			if len(evs) == 1 {
				inflight = evs[0]
				return true
			}
			return false
		}, 50*time.Millisecond)
		if err := st.Autoscaler.Kill(); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Store.GetEvent(ctx, inflight.ID); got.Status != store.StatusInProgress {
			t.Fatalf("event %s after the kill is %s, want in_progress (the kill came too late to test anything)", got.ID, got.Status)
		}
		if err := st.StartAutoscaler(ctx); err != nil {
			t.Fatal(err)
		}
		e.waitFor(time.Minute, "the interrupted event to be reconciled", func() bool {
			got, _ := st.Store.GetEvent(ctx, inflight.ID)
			return got.Status == store.StatusCompleted
		})
		var after struct{ Replicas int }
		json.Unmarshal(inflight.After, &after)
		e.waitFor(30*time.Second, "the fleet at the reconciled target", func() bool {
			ready, _, _ := st.FleetState(ctx)
			return ready >= after.Replicas
		})
		e.checkChain("api", 2)
	})

	t.Run("Prometheus stopped: no scale-down", func(t *testing.T) {
		e.t = t
		e.load(30)
		e.waitFor(time.Minute, "no unfinished action", func() bool { return e.unfinished("api") == 0 })
		before, _, _ := st.FleetState(ctx)
		downs := e.completed("api", store.EventScaleDown)
		if err := st.Prometheus.Stop(); err != nil {
			t.Fatal(err)
		}
		// An underutilization alert reaches the autoscaler while its
		// metrics source is gone (as one still queued in Alertmanager would).
		e.postAlert("ServiceUnderutilized", "api", "scale_down", "resource_underutilization")
		e.waitFor(30*time.Second, "a no_data decision naming the failed query", func() bool { return e.decisions("api", "no_data", "query_error") > 0 })
		time.Sleep(8 * time.Second) // several sync periods
		if ready, _, _ := st.FleetState(ctx); ready != before {
			t.Fatalf("replicas went from %d to %d with Prometheus down", before, ready)
		}
		if got := e.completed("api", store.EventScaleDown); got != downs {
			t.Fatalf("%d scale-downs with Prometheus down", got-downs)
		}
		if err := st.Prometheus.Start(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("load removed: scale down after the stabilization window", func(t *testing.T) {
		e.t = t
		e.waitFor(3*time.Minute, "the fleet back at its minimum", func() bool {
			ready, desired, _ := st.FleetState(ctx)
			return ready == 2 && desired == 2 && e.unfinished("api") == 0
		})
		if e.completed("api", store.EventScaleDown) == 0 {
			t.Fatal("no scale-down event")
		}
		e.checkChain("api", 2)
	})

	t.Run("failing actuator: failed event and an alert in Alertmanager", func(t *testing.T) {
		e.t = t
		e.postAlert("WorkerBacklogHigh", "worker", "scale_up", "queue_backlog")
		var failed store.Event
		e.waitFor(time.Minute, "a failed worker event", func() bool {
			evs, _ := st.Store.ListEvents(ctx, store.EventFilter{Service: "worker", Status: store.StatusFailed})
			if len(evs) > 0 {
				failed = evs[0]
				return true
			}
			return false
		})
		if !strings.Contains(failed.ErrorMessage, "queue backend rejected the change") {
			t.Fatalf("error message %q does not carry the actuator's stderr", failed.ErrorMessage)
		}
		// The alert went through both unpeered Alertmanagers: every
		// notification arrived twice, and acted once (one failed event).
		n, deliveries, err := st.Store.NotificationCounts(ctx)
		if err != nil || deliveries <= n {
			t.Fatalf("notifications %d, deliveries %d (%v): the two Alertmanagers should have delivered duplicates", n, deliveries, err)
		}
		if evs, _ := st.Store.ListEvents(ctx, store.EventFilter{Service: "worker"}); len(evs) != 1 {
			t.Fatalf("worker events = %d, want exactly 1 for duplicated notifications", len(evs))
		}
		t.Logf("%d notifications in %d deliveries", n, deliveries)
		e.waitFor(30*time.Second, "WedsyncScalingActionFailed in Alertmanager's API", func() bool {
			for _, a := range e.amAlerts(0) {
				if a.Labels["alertname"] == "WedsyncScalingActionFailed" && a.Labels["event_id"] == failed.ID {
					return true
				}
			}
			return false
		})
	})

	t.Run("PostgreSQL stopped during an alert: 503, then executed exactly once", func(t *testing.T) {
		e.t = t
		if err := st.Postgres.Stop(); err != nil {
			t.Fatal(err)
		}
		e.postAlert("BatchBacklogHigh", "batch", "scale_up", "queue_backlog")
		e.waitFor(time.Minute, "a 503 to Alertmanager", func() bool {
			return e.autoscalerMetric(`wedsync_autoscaler_notifications_total{endpoint="scaling",result="unavailable"}`) > 0
		})
		time.Sleep(3 * time.Second)
		if err := st.Postgres.Start(ctx); err != nil {
			t.Fatal(err)
		}
		e.waitFor(time.Minute, "the retried notification executed", func() bool { return e.completed("batch", store.EventScaleUp) == 1 })
		// Both Alertmanagers keep re-delivering; nothing may run twice.
		time.Sleep(12 * time.Second)
		evs, err := st.Store.ListEvents(ctx, store.EventFilter{Service: "batch"})
		if err != nil || len(evs) != 1 {
			t.Fatalf("batch events = %d (%v), want exactly 1", len(evs), err)
		}
		b, _ := os.ReadFile(batchFile)
		if strings.TrimSpace(string(b)) != "2" {
			t.Fatalf("batch replicas = %q, want 2", b)
		}
	})

	t.Run("two replicas, the owner of a slow action SIGKILLed: one effective call per action", func(t *testing.T) {
		e.t = t
		r2, err := st.StartReplica(ctx)
		if err != nil {
			t.Fatal(err)
		}
		procs := []*devstack.Process{st.Autoscaler, r2.Process}
		e.postAlert("SlowBacklogHigh", "slow", "scale_up", "queue_backlog")
		var inflight store.Event
		e.waitFor(time.Minute, "an in_progress slow action", func() bool {
			evs, _ := st.Store.ListEvents(ctx, store.EventFilter{Service: "slow", Status: store.StatusInProgress})
			if len(evs) == 1 && evs[0].Owner != "" {
				inflight = evs[0]
				return true
			}
			return false
		}, 50*time.Millisecond)
		var owner *devstack.Process
		for _, p := range procs {
			if strings.Contains(inflight.Owner, fmt.Sprintf("-%d-", p.Pid())) {
				owner = p
			}
		}
		if owner == nil {
			t.Fatalf("event %s is owned by %q, neither replica", inflight.ID, inflight.Owner)
		}
		if err := owner.Kill(); err != nil {
			t.Fatal(err)
		}
		t.Logf("killed %s (owner of %s, %s → %s); restarting it", owner.Name, inflight.ID, inflight.Before, inflight.After)
		time.Sleep(2 * time.Second)
		if owner == st.Autoscaler {
			err = st.StartAutoscaler(ctx)
		} else {
			err = owner.Start()
		}
		if err != nil {
			t.Fatal(err)
		}
		e.waitFor(2*time.Minute, "slow at its maximum with nothing unfinished", func() bool {
			b, _ := os.ReadFile(slowFile)
			return strings.TrimSpace(string(b)) == "4" && e.unfinished("slow") == 0
		})
		evs := e.events("slow")
		calls, _ := os.ReadFile(slowLog)
		effective := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "end" {
				effective[f[1]]++
			}
		}
		completed := 0
		for _, ev := range evs {
			if ev.Status == store.StatusFailed {
				t.Errorf("event %s failed (%s): no event may fail because a replica died", ev.ID, ev.ErrorMessage)
			}
			if ev.Status != store.StatusCompleted {
				continue
			}
			completed++
			var after struct{ Replicas int }
			json.Unmarshal(ev.After, &after)
			if n := effective[strconv.Itoa(after.Replicas)]; n != 1 {
				t.Errorf("event %s (→ %d) has %d effective actuator calls, want exactly 1", ev.ID, after.Replicas, n)
			}
		}
		if total := len(effective); completed != total {
			t.Errorf("%d completed events, effective calls for %d targets:\n%s", completed, total, calls)
		}
		got, _ := st.Store.GetEvent(ctx, inflight.ID)
		t.Logf("interrupted event %s: %s, now owned by %s; calls at the actuator:\n%s", got.ID, got.Status, got.Owner, calls)
		if got.Owner == inflight.Owner {
			t.Errorf("the interrupted event was closed by its dead owner %s", got.Owner)
		}
		e.checkChain("slow", 1)
	})

	t.Run("PostgreSQL stopped 10 s during an action: unblocked within 5 s of its return", func(t *testing.T) {
		e.t = t
		os.WriteFile(slowFile, []byte("1\n"), 0o644) // moved outside the autoscaler: scale up again
		e.postAlert("SlowBacklogHigh2", "slow", "scale_up", "queue_backlog")
		var inflight store.Event
		e.waitFor(time.Minute, "an in_progress slow action", func() bool {
			evs, _ := st.Store.ListEvents(ctx, store.EventFilter{Service: "slow", Status: store.StatusInProgress})
			if len(evs) == 1 {
				inflight = evs[0]
				return true
			}
			return false
		}, 50*time.Millisecond)
		if err := st.Postgres.Stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if err := st.Postgres.Start(ctx); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		e.waitFor(time.Minute, "the interrupted event closed", func() bool {
			got, err := st.Store.GetEvent(ctx, inflight.ID)
			return err == nil && got.Status != store.StatusInProgress
		}, 100*time.Millisecond)
		took := time.Since(back)
		got, _ := st.Store.GetEvent(ctx, inflight.ID)
		t.Logf("event %s %s %s after PostgreSQL came back", got.ID, got.Status, took.Round(100*time.Millisecond))
		if got.Status != store.StatusCompleted {
			t.Fatalf("event %s: %s (%s)", got.ID, got.Status, got.ErrorMessage)
		}
		if took > 5*time.Second {
			t.Fatalf("the service unblocked %s after PostgreSQL came back, want within 5 s", took)
		}
	})
}

type e2e struct {
	t        *testing.T
	ctx      context.Context
	st       *stack.Stack
	stopLoad context.CancelFunc
}

func (e *e2e) load(rate float64) {
	if e.stopLoad != nil {
		e.stopLoad()
	}
	// Tied to the whole test's context, not the subtest's: the load of one
	// step carries on into the next.
	ctx, cancel := context.WithCancel(e.ctx)
	e.stopLoad = cancel
	drv, err := load.New(load.Config{Target: e.st.FleetURL, Paths: fleet.WorkloadPaths,
		Stages: []load.Stage{{Duration: time.Hour, Rate: rate}}, Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		e.t.Fatal(err)
	}
	go drv.Run(ctx) //nolint:errcheck
}

// ramp moves the load from one rate to another over d, then holds it.
func (e *e2e) ramp(from, to float64, d time.Duration) {
	if e.stopLoad != nil {
		e.stopLoad()
	}
	ctx, cancel := context.WithCancel(e.ctx)
	e.stopLoad = cancel
	drv, err := load.New(load.Config{Target: e.st.FleetURL, Paths: fleet.WorkloadPaths,
		Stages: []load.Stage{{Duration: time.Second, Rate: from}, {Duration: d, Rate: to}, {Duration: time.Hour, Rate: to}},
		Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		e.t.Fatal(err)
	}
	go drv.Run(ctx) //nolint:errcheck
}

func (e *e2e) waitFor(limit time.Duration, what string, ok func() bool, every ...time.Duration) {
	e.t.Helper()
	poll := 500 * time.Millisecond
	if len(every) > 0 {
		poll = every[0]
	}
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(poll)
	}
}

func (e *e2e) events(service string) []store.Event {
	evs, err := e.st.Store.ListEvents(e.ctx, store.EventFilter{Service: service, Limit: 1000})
	if err != nil {
		return nil
	}
	return evs
}

func (e *e2e) completed(service string, typ store.EventType) int {
	n := 0
	for _, ev := range e.events(service) {
		if ev.Type == typ && (ev.Status == store.StatusCompleted || ev.Status == store.StatusRolledBack) {
			n++
		}
	}
	return n
}

func (e *e2e) unfinished(service string) int {
	n := 0
	for _, ev := range e.events(service) {
		if ev.Status == store.StatusInProgress {
			n++
		}
	}
	return n
}

func (e *e2e) decisions(service, outcome, reason string) int {
	ds, _ := e.st.Store.ListDecisions(e.ctx, service, 1000)
	n := 0
	for _, d := range ds {
		if d.Outcome == outcome && strings.Contains(d.Reason, reason) {
			n++
		}
	}
	return n
}

// checkChain asserts that the completed events of a service form a chain —
// each starts where the previous ended — which is what "no action lost, none
// executed twice" means for absolute targets.
func (e *e2e) checkChain(service string, initial int) {
	e.t.Helper()
	evs := e.events(service)
	prev := map[string]any{"replicas": float64(initial)}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.Status != store.StatusCompleted && ev.Status != store.StatusRolledBack {
			continue
		}
		var before, after map[string]any
		json.Unmarshal(ev.Before, &before)
		json.Unmarshal(ev.After, &after)
		if !reflect.DeepEqual(before, prev) {
			e.t.Fatalf("event %s starts at %s but the previous action ended at %v: an action was lost or ran twice", ev.ID, ev.Before, prev)
		}
		if reflect.DeepEqual(before, after) {
			e.t.Fatalf("event %s changed nothing: %s", ev.ID, ev.Before)
		}
		prev = after
	}
}

// postAlert raises an alert on both Alertmanagers, as a Prometheus with
// both configured would.
func (e *e2e) postAlert(name, service, action, reason string) {
	e.t.Helper()
	pa := &models.PostableAlert{StartsAt: strfmt.DateTime(time.Now()), EndsAt: strfmt.DateTime(time.Now().Add(10 * time.Minute)),
		Annotations: models.LabelSet{"summary": name + " (end-to-end test)", "value": "0.9"},
		Alert: models.Alert{Labels: models.LabelSet{"alertname": name, "scaling_service": service, "scaling_action": action,
			"reason": reason, "severity": "warning"}}}
	for i := range e.st.Alertmanagers {
		if _, err := e.amClient(i).Alert.PostAlerts(alert.NewPostAlertsParamsWithContext(e.ctx).WithAlerts(models.PostableAlerts{pa})); err != nil {
			e.t.Fatalf("post alert to Alertmanager %d: %v", i+1, err)
		}
	}
}

func (e *e2e) amClient(i int) *amclient.AlertmanagerAPI {
	host := strings.TrimPrefix(e.st.Alertmanagers[i].URL(), "http://")
	return amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().WithHost(host).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
}

func (e *e2e) amAlerts(i int) []*models.GettableAlert {
	resp, err := e.amClient(i).Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(e.ctx))
	if err != nil {
		return nil
	}
	return resp.Payload
}

// autoscalerMetric reads one sample from the autoscaler's /metrics.
func (e *e2e) autoscalerMetric(series string) float64 {
	resp, err := http.Get(e.st.AutoscalerURL + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
