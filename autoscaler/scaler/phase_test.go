package scaler_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

const phasePolicy = `
services:
  api:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 20
    settle_timeout: 2s
    metrics: [{name: cpu, query: x, target: 0.6}]
  queue:
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    min_replicas: 1
    max_replicas: 10
    settle_timeout: 2s
    metrics: [{name: backlog, query: x, target: 0.6}]
  database:
    mode: vertical
    actuator: {type: exec, exec: {current_command: ["true"], apply_command: ["true"]}}
    tiers:
      - {name: ci_micro, capacity: 2, price_monthly: 10}
      - {name: ci_medium, capacity: 4, price_monthly: 60}
      - {name: ci_xlarge, capacity: 16, price_monthly: 210}
    settle_timeout: 2s
    metrics: [{name: cpu, query: x, target: 0.6}]
`

// journal records the order of actions across services, and which phase
// was active when each ran.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

type journaled struct {
	memActuator
	name string
	j    *journal
	st   *store.Store
	fail error
}

func (a *journaled) Apply(ctx context.Context, s actuator.State) error {
	ph, _ := a.st.ActivePhase(ctx)
	a.j.add(a.name + "→" + s.String() + " in " + ph.Name)
	if a.fail != nil {
		return a.fail
	}
	return a.memActuator.Apply(ctx, s)
}

type phaseEnv struct {
	st              *store.Store
	sc              *scaler.Scaler
	api, queue, db  *journaled
	j               *journal
	startup, growth store.Phase
}

func newPhaseEnv(t *testing.T) *phaseEnv {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	pol, err := policy.Parse([]byte(phasePolicy))
	if err != nil {
		t.Fatal(err)
	}
	e := &phaseEnv{st: st, j: &journal{}}
	mk := func(name string, s actuator.State) *journaled {
		return &journaled{memActuator: memActuator{ready: s}, name: name, j: e.j, st: st}
	}
	e.api, e.queue, e.db = mk("api", actuator.State{Replicas: 2}), mk("queue", actuator.State{Replicas: 3}), mk("database", actuator.State{Tier: "ci_micro"})
	set := func(name, cfg string) store.Phase {
		p, _ := st.GetPhase(ctx, name)
		p, err := st.UpdatePhase(ctx, p.ID, store.PhaseUpdate{ScalingConfig: json.RawMessage(cfg)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e.startup = set("startup", `{"services": {"api": {"min_replicas": 1, "max_replicas": 3}}, "database": {"compute_tier": "ci_micro"}, "workers": {"queue": 1}}`)
	e.growth = set("growth", `{"services": {"api": {"min_replicas": 4, "max_replicas": 10}}, "database": {"compute_tier": "ci_medium"}, "workers": {"queue": 2}}`)
	obs := &fixedObserver{}
	obs.set(0.6, "")
	e.sc, err = scaler.New(scaler.Config{Policy: pol, Store: st, Observer: obs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Actuators: map[string]actuator.Actuator{"api": e.api, "queue": e.queue, "database": e.db}, SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Scale out first, switch, then trim; one migration event with its steps.
func TestTransitionOrderAndRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPhaseEnv(t)

	ev, plan, err := e.sc.Transition(ctx, e.growth, "ops", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scale_out api", "scale_out database", "switch ", "trim queue"}
	if len(plan.Steps) != len(want) {
		t.Fatalf("plan = %+v", plan)
	}
	for i, st := range plan.Steps {
		if st.Stage+" "+st.Service != want[i] {
			t.Fatalf("step %d = %s %s, want %s", i, st.Stage, st.Service, want[i])
		}
	}
	if ev.ID != "" || len(e.j.entries) != 0 {
		t.Fatal("dry run acted")
	}
	if evs, _ := e.st.ListEvents(ctx, store.EventFilter{}); len(evs) != 0 {
		t.Fatal("dry run wrote an event")
	}

	ev, _, err = e.sc.Transition(ctx, e.growth, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	e.sc.Wait()
	got, _ := e.st.GetEvent(ctx, ev.ID)
	if got.Status != store.StatusCompleted || got.Type != store.EventMigration || got.Service != scaler.PlatformService {
		t.Fatalf("migration event = %+v", got)
	}
	order := []string{"api→4 replicas in startup", "database→tier ci_medium in startup", "queue→2 replicas in growth"}
	if len(e.j.entries) != 3 || e.j.entries[0] != order[0] || e.j.entries[1] != order[1] || e.j.entries[2] != order[2] {
		t.Fatalf("actions = %v, want %v", e.j.entries, order)
	}
	if ph, _ := e.st.ActivePhase(ctx); ph.Name != "growth" {
		t.Fatalf("active phase %s", ph.Name)
	}
	if _, _, err := e.sc.Transition(ctx, e.growth, "ops", false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("transition to the active phase: %v", err)
	}

	// Rollback: back to startup, trimming after the switch.
	e.j.entries = nil
	rb, err := e.sc.Rollback(ctx, ev.ID, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	e.sc.Wait()
	if r, _ := e.st.GetEvent(ctx, rb.ID); r.Status != store.StatusCompleted || r.RollbackOf != ev.ID {
		t.Fatalf("rollback event = %+v", r)
	}
	if o, _ := e.st.GetEvent(ctx, ev.ID); o.Status != store.StatusRolledBack {
		t.Fatalf("original = %s", o.Status)
	}
	if ph, _ := e.st.ActivePhase(ctx); ph.Name != "startup" {
		t.Fatalf("active phase after rollback %s", ph.Name)
	}
	cur := func(a *journaled) actuator.State { s, _ := a.Current(ctx); return s }
	if cur(e.api).Replicas != 3 || cur(e.db).Tier != "ci_micro" || cur(e.queue).Replicas != 1 {
		t.Fatalf("after rollback: api %v db %v queue %v", cur(e.api), cur(e.db), cur(e.queue))
	}
	for _, en := range e.j.entries {
		if en[len(en)-len("in growth"):] == "in growth" {
			t.Fatalf("a trim ran before the switch back: %v", e.j.entries)
		}
	}
}

// A failing scale-out never switches: the phase stays, the event fails.
func TestTransitionFailedScaleOutDoesNotSwitch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPhaseEnv(t)
	e.db.fail = errors.New("compute change refused: 409 Conflict")
	ev, _, err := e.sc.Transition(ctx, e.growth, "ops", false)
	if err != nil {
		t.Fatal(err)
	}
	e.sc.Wait()
	got, _ := e.st.GetEvent(ctx, ev.ID)
	if got.Status != store.StatusFailed || got.ErrorMessage != "database: compute change refused: 409 Conflict" {
		t.Fatalf("event = %s %q", got.Status, got.ErrorMessage)
	}
	if ph, _ := e.st.ActivePhase(ctx); ph.Name != "startup" {
		t.Fatalf("switched despite a failed scale-out: %s", ph.Name)
	}
	if cur, _ := e.queue.Current(ctx); cur.Replicas != 3 {
		t.Fatalf("trimmed despite a failed scale-out: %v", cur)
	}
}

func TestAutoTransition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPhaseEnv(t)
	var ce *store.ConflictError
	if _, err := e.sc.AutoTransition(ctx, 900); !errors.As(err, &ce) || ce.State != "within bounds at 900 users" {
		t.Fatalf("900 users: %v", err)
	}
	off := false
	e.st.UpdatePhase(ctx, e.startup.ID, store.PhaseUpdate{AutoTransitionEnabled: &off})
	// A new scaler reads the phase anew (the loop reads it once at start).
	if _, err := newPhaseScaler(t, e).AutoTransition(ctx, 1500); !errors.As(err, &ce) || ce.State != "auto_transition_disabled" {
		t.Fatalf("disabled: %v", err)
	}
	on := true
	e.st.UpdatePhase(ctx, e.startup.ID, store.PhaseUpdate{AutoTransitionEnabled: &on})
	sc := newPhaseScaler(t, e)
	ev, err := sc.AutoTransition(ctx, 1500)
	if err != nil {
		t.Fatal(err)
	}
	sc.Wait()
	if got, _ := e.st.GetEvent(ctx, ev.ID); got.Status != store.StatusCompleted || got.InitiatedUserID != "autoscaler" {
		t.Fatalf("auto transition event = %+v", got)
	}
	if ph, _ := e.st.ActivePhase(ctx); ph.Name != "growth" {
		t.Fatalf("active = %s", ph.Name)
	}
}

func newPhaseScaler(t *testing.T, e *phaseEnv) *scaler.Scaler {
	t.Helper()
	pol, _ := policy.Parse([]byte(phasePolicy))
	sc, err := scaler.New(scaler.Config{Policy: pol, Store: e.st, Observer: &fixedObserver{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Actuators: map[string]actuator.Actuator{"api": e.api, "queue": e.queue, "database": e.db}, SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// The active phase narrows the policy's bounds; the policy stays the hard limit.
func TestPhaseBoundsApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPhaseEnv(t)
	e.api.ready = actuator.State{Replicas: 3}
	// Refused, not clamped: a manual target past the bounds in force.
	if _, err := e.sc.Trigger(ctx, "api", scaler.Trigger{Target: &actuator.State{Replicas: 8}, User: "ops"}); !errors.Is(err, scaler.ErrBadTarget) ||
		!strings.Contains(err.Error(), "[1, 3]") {
		t.Fatalf("above the startup phase's max (3): %v", err)
	}
	ev, err := e.sc.Trigger(ctx, "api", scaler.Trigger{Target: &actuator.State{Replicas: 1}, User: "ops"})
	if err != nil || string(ev.After) == "" {
		t.Fatalf("within the phase: %v", err)
	}
	e.sc.Wait()
}
