package scaler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// A reload changes what the next decision uses: new bounds apply at once,
// an added service is evaluated with its new actuator, a removed one is
// not evaluated any more; the kept service keeps its actuator.
func TestReloadSwapsThePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(levelPol("")))
	if err != nil {
		t.Fatal(err)
	}
	api := &memActuator{ready: actuator.State{Replicas: 4}}
	web := &memActuator{ready: actuator.State{Replicas: 2}}
	var built []string
	obs := &loadObserver{}
	obs.set(0.6, 240, "")
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": api},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(prometheus.NewRegistry()),
		SettlePoll: 10 * time.Millisecond,
		NewActuator: func(name string, _ *policy.Service) (actuator.Actuator, error) {
			built = append(built, name)
			if name == "web" {
				return web, nil
			}
			return nil, errors.New("no such actuator")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res := sc.Evaluate(ctx, "api", time.Time{}); res.Output.Outcome != decision.WithinTolerance {
		t.Fatalf("before the reload: %+v", res.Output)
	}

	// min_replicas raised to 6, and a second service.
	text := strings.Replace(levelPol(""), "min_replicas: 2", "min_replicas: 6", 1) + `  web:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 2
    max_replicas: 4
    metrics:
      - {name: cpu, query: 'service:cpu_utilization:ratio{service="web"}', target: 0.6}
`
	next, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Reload(next); err != nil {
		t.Fatal(err)
	}
	if strings.Join(built, ",") != "web" {
		t.Errorf("actuators built = %v; want only web's (api's is unchanged)", built)
	}
	res := sc.Evaluate(ctx, "api", time.Time{})
	if res.Output.Outcome != decision.Scale || res.Output.Target != 6 {
		t.Fatalf("after raising min_replicas to 6: %+v", res.Output)
	}
	if !sc.Known("web") || strings.Join(sc.Services(), ",") != "api,web" {
		t.Fatalf("services = %v", sc.Services())
	}
	if res := sc.Evaluate(ctx, "web", time.Time{}); res.Err != nil || res.Current.Replicas != 2 {
		t.Fatalf("web = %+v", res)
	}
	sc.Wait()

	// api removed: no longer evaluated; its finished action stays logged.
	only, err := policy.Parse([]byte(strings.Replace(text, "services:\n  api:", "services:\n  gone:", 1)))
	if err != nil {
		t.Fatal(err)
	}
	// "gone" has api's actuator config, but it is a new service: building
	// its actuator fails, so the reload is refused and nothing changes.
	if err := sc.Reload(only); err == nil || !strings.Contains(err.Error(), "services.gone.actuator") {
		t.Fatalf("reload with an actuator that cannot be built = %v", err)
	}
	if !sc.Known("api") || sc.Known("gone") {
		t.Fatalf("after a refused reload: services = %v", sc.Services())
	}
	webOnly, err := policy.Parse([]byte(text[:strings.Index(text, "services:")] + "services:\n" + text[strings.Index(text, "  web:"):]))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Reload(webOnly); err != nil {
		t.Fatal(err)
	}
	if sc.Known("api") {
		t.Fatal("api still known after its removal")
	}
	if res := sc.Evaluate(ctx, "api", time.Time{}); res.Err == nil || !strings.Contains(res.Err.Error(), "not in the policy file") {
		t.Fatalf("evaluate a removed service = %+v", res)
	}
	if got := api.applied(); len(got) != 1 || got[0].Replicas != 6 {
		t.Fatalf("api applies = %v; want the one to 6", got)
	}
}

// An action in flight when its service is removed (or its bounds change)
// runs to the end with the policy it started with, and is logged finished.
func TestReloadKeepsInFlightAction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	neutralPhase(t, st)
	p, err := policy.Parse([]byte(levelPol("")))
	if err != nil {
		t.Fatal(err)
	}
	api := &memActuator{ready: actuator.State{Replicas: 4}, delay: 400 * time.Millisecond}
	obs := &loadObserver{}
	obs.set(0.9, 240, "") // 4 × 0.9 / 0.6 = 6
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": api},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: scaler.NewMetrics(prometheus.NewRegistry()),
		SettlePoll:  10 * time.Millisecond,
		NewActuator: func(string, *policy.Service) (actuator.Actuator, error) { return &memActuator{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	res := sc.Evaluate(ctx, "api", time.Time{})
	if res.Event == nil {
		t.Fatalf("no action: %+v", res.Output)
	}
	other, err := policy.Parse([]byte(strings.Replace(levelPol(""), "services:\n  api:", "services:\n  web:", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Reload(other); err != nil {
		t.Fatal(err)
	}
	sc.Wait()
	ev, err := st.GetEvent(ctx, res.Event.ID)
	if err != nil || ev.Status != store.StatusCompleted {
		t.Fatalf("in-flight action after its service's removal: %+v, %v", ev, err)
	}
	if got := api.applied(); len(got) != 1 || got[0].Replicas != 6 {
		t.Fatalf("applies = %v", got)
	}
}
