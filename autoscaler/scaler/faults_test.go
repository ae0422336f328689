package scaler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// The fault-injection suite (docs/faults.md): every documented fault is a
// row, run on its own database, whose outcome goes into one table. The
// actuator side is a ledger shared by every replica of a row: it sees every
// call and whether it took effect, so an action applied twice, two calls at
// once, or an effect no event names cannot hide behind the event log.

// call is one Apply as the service saw it.
type call struct {
	replica    string
	target     actuator.State
	start, end time.Time // end zero: still running (a killed call ends at its kill)
	effective  bool
}

// ledger is the service's side of the story: its state and every call.
type ledger struct {
	mu    sync.Mutex
	state actuator.State
	calls []*call
}

func (l *ledger) begin(replica string, target actuator.State) *call {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &call{replica: replica, target: target, start: time.Now()}
	l.calls = append(l.calls, c)
	return c
}

func (l *ledger) effect(c *call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state, c.effective = c.target, true
}

func (l *ledger) done(c *call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.end.IsZero() {
		c.end = time.Now()
	}
}

func (l *ledger) current() actuator.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

func (l *ledger) snapshot() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]call, len(l.calls))
	for i, c := range l.calls {
		out[i] = *c
	}
	return out
}

// killPoint is where a replica's process dies.
type killPoint int

const (
	alive           killPoint = iota
	killBeforeApply           // (set by writing the event and never starting it)
	killInApplyBefore
	killInApplyAfter
	killWhileSettling
	killBeforeClose
)

// replicaAct is one replica's actuator client onto the shared ledger. From
// its kill point on, its calls block forever and never take effect: the
// process is dead, its goroutines abandoned.
type replicaAct struct {
	l       *ledger
	name    string
	kill    killPoint
	killed  chan struct{} // closed at the kill
	once    sync.Once
	cancel  context.CancelFunc // the dying replica's context (killBeforeClose)
	onReach func()             // called when a Current read returns the target (db-down-at-close)
	reach   actuator.State
}

func (a *replicaAct) die(c *call) {
	a.once.Do(func() {
		if c != nil {
			a.l.done(c) // a dead process's call overlaps nothing after it
		}
		close(a.killed)
	})
	select {} // never returns: the process is gone
}

func (a *replicaAct) Current(ctx context.Context) (actuator.State, error) {
	if a.kill == killWhileSettling && len(a.l.snapshot()) > 0 && a.mine() {
		a.die(nil)
	}
	cur := a.l.current()
	if a.kill == killBeforeClose && a.mine() && cur == a.reach {
		a.once.Do(func() { a.cancel(); close(a.killed) })
	}
	if a.onReach != nil && cur == a.reach {
		f := a.onReach
		a.onReach = nil
		f()
	}
	return cur, nil
}

// mine reports that this replica has made a call (the kill points after
// Apply concern its own action, not its start-up reads).
func (a *replicaAct) mine() bool {
	for _, c := range a.l.snapshot() {
		if c.replica == a.name {
			return true
		}
	}
	return false
}

func (a *replicaAct) Apply(_ context.Context, s actuator.State) error {
	c := a.l.begin(a.name, s)
	switch a.kill {
	case killInApplyBefore:
		a.die(c)
	case killInApplyAfter:
		a.l.effect(c)
		a.die(c)
	}
	a.l.effect(c)
	a.l.done(c)
	return nil
}

// fleet is a fleet admin API (the shape of actuator_test.go's fleetAPI)
// whose faults the row sets: GET or PUT answering a status, hanging past
// the client's timeout, or applying a PUT only after the client gave up.
type fleet struct {
	l         *ledger
	getStatus int
	getHang   bool
	putStatus int
	putLate   time.Duration // apply after this long, answering nothing before
	landed    chan struct{} // closed when a late PUT took effect
}

func (f *fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if f.getHang {
			<-r.Context().Done()
			return
		}
		if f.getStatus != 0 {
			http.Error(w, `{"error":"injected"}`, f.getStatus)
			return
		}
		cur := f.l.current()
		json.NewEncoder(w).Encode(map[string]int{"replicas": cur.Replicas, "desired": cur.Replicas})
	case http.MethodPut:
		var req struct{ Replicas int }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		c := f.l.begin("http", actuator.State{Replicas: req.Replicas})
		defer f.l.done(c)
		if f.putStatus != 0 {
			http.Error(w, `{"error":"injected"}`, f.putStatus)
			return
		}
		if f.putLate > 0 {
			late := f.putLate
			f.putLate = 0 // only the first call is late
			time.Sleep(late)
			f.l.effect(c)
			f.l.done(c)
			close(f.landed)
			return
		}
		f.l.effect(c)
		w.WriteHeader(http.StatusAccepted)
	}
}

// outcome is one row of the table.
type outcome struct {
	fault, step string
	events      map[store.EventStatus]int
	effective   int
	final       actuator.State
	decisions   []string
	ranTwice    bool
	unrecorded  bool
	note        string
}

const (
	faultLeaseTTL   = 300 * time.Millisecond
	faultActTimeout = 500 * time.Millisecond
)

// faultReplica is replica() with the row's observer, alerter and registry.
func faultReplica(t *testing.T, st *store.Store, name string, act actuator.Actuator, obs scaler.Observer, al scaler.Alerter) (*scaler.Scaler, *prometheus.Registry) {
	t.Helper()
	if _, err := st.Heartbeat(context.Background(), name, time.Hour, faultActTimeout); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sc, err := scaler.New(scaler.Config{Policy: p, Store: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
		Alerter: al, Lease: &fakeLease{name: name, valid: true}, ActuatorTimeout: faultActTimeout, Metrics: scaler.NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return sc, reg
}

func hot() *fixedObserver {
	o := &fixedObserver{}
	o.set(0.9, "")
	return o
}

// waitFinished polls until ev is completed or failed, running f between polls.
func waitFinished(t *testing.T, st *store.Store, id string, within time.Duration, f func()) store.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if f != nil {
			f()
		}
		got, err := st.GetEvent(context.Background(), id)
		if err == nil && (got.Status == store.StatusCompleted || got.Status == store.StatusFailed) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s still %s (%v) after %s", id, got.Status, err, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// judge fills the outcome from the event log and the ledger.
func judge(t *testing.T, st *store.Store, l *ledger, o *outcome) []store.Event {
	t.Helper()
	ctx := context.Background()
	evs, err := st.ListEvents(ctx, store.EventFilter{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	o.events = map[store.EventStatus]int{}
	named := map[actuator.State]bool{}
	for _, e := range evs {
		o.events[e.Status]++
		if e.Status == store.StatusInProgress {
			o.unrecorded = true
			o.note += "event left unfinished; "
		}
		var after actuator.State
		_ = json.Unmarshal(e.After, &after)
		if e.Status == store.StatusCompleted || e.Status == store.StatusFailed {
			named[after] = true
		}
	}
	calls := l.snapshot()
	applied := map[actuator.State]int{}
	for i, c := range calls {
		if c.effective {
			o.effective++
			applied[c.target]++
			if !named[c.target] {
				o.unrecorded = true
				o.note += fmt.Sprintf("%s took effect without a finished event naming it; ", c.target)
			}
		}
		for _, d := range calls[:i] {
			if d.end.IsZero() || c.start.Before(d.end) {
				o.ranTwice = true
				o.note += fmt.Sprintf("calls to %s and %s overlapped; ", d.target, c.target)
			}
		}
	}
	for s, n := range applied {
		if n > 1 {
			o.ranTwice = true
			o.note += fmt.Sprintf("%s applied %d times; ", s, n)
		}
	}
	o.final = l.current()
	ds, _ := st.ListDecisions(ctx, "api", 100)
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.Outcome] = true
	}
	for k := range seen {
		o.decisions = append(o.decisions, k)
	}
	sort.Strings(o.decisions)
	return evs
}

type faultRow struct {
	fault, step string
	run         func(t *testing.T, o *outcome)
}

func TestFaultInjection(t *testing.T) {
	var mu sync.Mutex
	var table []outcome
	rows := append(append(append(killRows(), dbRows()...), promRows()...), actuatorRows()...)
	t.Run("rows", func(t *testing.T) {
		for _, r := range rows {
			t.Run(strings.ReplaceAll(r.fault+"/"+r.step, " ", "_"), func(t *testing.T) {
				t.Parallel()
				o := outcome{fault: r.fault, step: r.step}
				defer func() {
					mu.Lock()
					table = append(table, o)
					mu.Unlock()
				}()
				r.run(t, &o)
				if o.ranTwice || o.unrecorded {
					t.Errorf("ran twice %v, unrecorded %v: %s", o.ranTwice, o.unrecorded, o.note)
				}
			})
		}
	})
	order := map[string]int{}
	for i, r := range rows {
		order[r.fault+r.step] = i
	}
	sort.Slice(table, func(i, j int) bool { return order[table[i].fault+table[i].step] < order[table[j].fault+table[j].step] })
	md := faultTable(table)
	t.Log("\n" + md)
	if path := os.Getenv("WEDSYNC_FAULTS_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func faultTable(rows []outcome) string {
	var b strings.Builder
	b.WriteString("| fault | step | events | effective calls | final state | decisions seen | ran twice | unrecorded | note |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, o := range rows {
		var evs []string
		for s, n := range o.events {
			evs = append(evs, fmt.Sprintf("%s:%d", s, n))
		}
		sort.Strings(evs)
		if len(evs) == 0 {
			evs = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %v | %v | %s |\n", o.fault, o.step, strings.Join(evs, " "), o.effective,
			o.final, strings.Join(o.decisions, " "), o.ranTwice, o.unrecorded, strings.TrimSuffix(o.note, "; "))
	}
	return b.String()
}

// killRows: replica a dies at each step of its action; replica b takes the
// event over once a's lease expired and its actuator timeout passed.
func killRows() []faultRow {
	steps := []struct {
		step string
		kill killPoint
	}{
		{"1 after the event is written, before Apply", killBeforeApply},
		{"2 during Apply, before it takes effect", killInApplyBefore},
		{"3 during Apply, after it took effect", killInApplyAfter},
		{"4 after Apply returned, while settling", killWhileSettling},
		{"5 after settle, before the event is closed", killBeforeClose},
	}
	var rows []faultRow
	for _, s := range steps {
		rows = append(rows, faultRow{fault: "kill", step: s.step, run: func(t *testing.T, o *outcome) {
			ctx := context.Background()
			st := storetest.New(t)
			neutralPhase(t, st)
			l := &ledger{state: actuator.State{Replicas: 2}}
			want := actuator.State{Replicas: 3}
			aAct := &replicaAct{l: l, name: "a", kill: s.kill, killed: make(chan struct{}), reach: want}
			actx, cancel := context.WithCancel(ctx)
			aAct.cancel = cancel
			b, _ := faultReplica(t, st, "b", &replicaAct{l: l, name: "b", killed: make(chan struct{})}, hot(), nil)
			var evID string
			if s.kill == killBeforeApply {
				if _, err := st.Heartbeat(ctx, "a", faultLeaseTTL, faultActTimeout); err != nil {
					t.Fatal(err)
				}
				ev, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "high_cpu_usage",
					Before: []byte(`{"replicas":2}`), After: []byte(`{"replicas":3}`), InitiatedBy: "autoscaler", Owner: "a"})
				if err != nil {
					t.Fatal(err)
				}
				evID = ev.ID
			} else {
				a, _ := faultReplica(t, st, "a", aAct, hot(), nil)
				fire(t, st, store.EventScaleUp, "firing")
				res := a.Evaluate(actx, "api", time.Now())
				if res.Event == nil {
					t.Fatalf("a did not act: %+v", res.Output)
				}
				evID = res.Event.ID
				select {
				case <-aAct.killed:
				case <-time.After(10 * time.Second):
					t.Fatal("replica a never reached its kill point")
				}
				// Dead: its lease row is no longer renewed and runs out.
				if _, err := st.Heartbeat(ctx, "a", faultLeaseTTL, faultActTimeout); err != nil {
					t.Fatal(err)
				}
			}
			dead := time.Now()
			got := waitFinished(t, st, evID, 20*time.Second, func() { b.Reconcile(ctx, false) })
			b.Wait()
			judge(t, st, l, o)
			o.note += fmt.Sprintf("closed by %s, %s after the kill; ", got.Owner, time.Since(dead).Round(100*time.Millisecond))
			if got.Status != store.StatusCompleted || got.Owner != "b" || strings.Contains(got.ErrorMessage, "changed outside") {
				t.Errorf("event %s owned by %q (%s); want completed by b", got.Status, got.Owner, got.ErrorMessage)
			}
			if o.effective != 1 || o.final != want {
				t.Errorf("%d effective calls, service at %s; want one, at %s", o.effective, o.final, want)
			}
		}})
	}
	return rows
}

// dbRows: the real PostgreSQL stopped and started at each step.
func dbRows() []faultRow {
	blip := func(t *testing.T, stop func() error, start func(context.Context) error, down time.Duration) time.Time {
		t.Helper()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(down)
		if err := start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	closedWithin := func(t *testing.T, o *outcome, st *store.Store, back time.Time, id string) {
		got := waitFinished(t, st, id, 30*time.Second, nil)
		took := time.Since(back)
		o.note += fmt.Sprintf("closed %s after the database came back; ", took.Round(100*time.Millisecond))
		if got.Status != store.StatusCompleted || took > 5*time.Second {
			t.Errorf("event %s (%s) %s after the database came back; want completed within 5 s", got.Status, got.ErrorMessage, took)
		}
	}
	return []faultRow{
		{fault: "database down", step: "1 before the decision", run: func(t *testing.T, o *outcome) {
			ctx := context.Background()
			st, pg := storetest.NewDurable(t)
			neutralPhase(t, st)
			l := &ledger{state: actuator.State{Replicas: 2}}
			sc, _ := faultReplica(t, st, "b", &replicaAct{l: l, name: "b", killed: make(chan struct{})}, hot(), nil)
			fire(t, st, store.EventScaleUp, "firing")
			if err := pg.Stop(); err != nil {
				t.Fatal(err)
			}
			res := sc.Evaluate(ctx, "api", time.Now())
			sc.Wait()
			if err := pg.Start(ctx); err != nil {
				t.Fatal(err)
			}
			judge(t, st, l, o)
			if res.Event != nil || o.effective != 0 || len(l.snapshot()) != 0 || len(o.events) != 0 {
				t.Errorf("with the database down: event %v, %d calls, events %v; want no action", res.Event, len(l.snapshot()), o.events)
			}
		}},
		{fault: "database down", step: "2 while the action settles", run: func(t *testing.T, o *outcome) {
			ctx := context.Background()
			st, pg := storetest.NewDurable(t)
			neutralPhase(t, st)
			l := &ledger{state: actuator.State{Replicas: 2}}
			// The service shows the change only after a delay: the settle
			// polls run while the database is down.
			act := &slowAct{replicaAct: replicaAct{l: l, name: "b", killed: make(chan struct{})}, delay: 300 * time.Millisecond}
			sc, _ := faultReplica(t, st, "b", act, hot(), nil)
			fire(t, st, store.EventScaleUp, "firing")
			res := sc.Evaluate(ctx, "api", time.Now())
			if res.Event == nil {
				t.Fatalf("no action: %+v", res.Output)
			}
			back := blip(t, pg.Stop, pg.Start, 1500*time.Millisecond)
			closedWithin(t, o, st, back, res.Event.ID)
			sc.Wait()
			judge(t, st, l, o)
			if o.effective != 1 {
				t.Errorf("%d effective calls, want 1", o.effective)
			}
		}},
		{fault: "database down", step: "3 at the moment of closing", run: func(t *testing.T, o *outcome) {
			ctx := context.Background()
			st, pg := storetest.NewDurable(t)
			neutralPhase(t, st)
			l := &ledger{state: actuator.State{Replicas: 2}}
			backc := make(chan time.Time, 1)
			act := &replicaAct{l: l, name: "b", killed: make(chan struct{}), reach: actuator.State{Replicas: 3}}
			// The settle poll that sees the target stops the database
			// before it returns: the close is the first write to fail.
			act.onReach = func() {
				if err := pg.Stop(); err != nil {
					t.Error(err)
				}
				go func() {
					time.Sleep(1500 * time.Millisecond)
					if err := pg.Start(ctx); err != nil {
						t.Error(err)
					}
					backc <- time.Now()
				}()
			}
			sc, _ := faultReplica(t, st, "b", act, hot(), nil)
			fire(t, st, store.EventScaleUp, "firing")
			res := sc.Evaluate(ctx, "api", time.Now())
			if res.Event == nil {
				t.Fatalf("no action: %+v", res.Output)
			}
			var back time.Time
			select {
			case back = <-backc:
			case <-time.After(30 * time.Second):
				t.Fatal("the database blip never happened")
			}
			closedWithin(t, o, st, back, res.Event.ID)
			sc.Wait()
			judge(t, st, l, o)
			if o.effective != 1 {
				t.Errorf("%d effective calls, want 1", o.effective)
			}
		}},
	}
}

// slowAct shows an applied state only after delay (a rollout).
type slowAct struct {
	replicaAct
	delay time.Duration
}

func (a *slowAct) Apply(_ context.Context, s actuator.State) error {
	c := a.l.begin(a.name, s)
	a.l.done(c)
	time.AfterFunc(a.delay, func() { a.l.effect(c) })
	return nil
}

// promRows: the real Prometheus observer against a closed port and a
// server that never answers.
func promRows() []faultRow {
	row := func(step string, url func(t *testing.T) string) faultRow {
		return faultRow{fault: "Prometheus", step: step, run: func(t *testing.T, o *outcome) {
			ctx := context.Background()
			st := storetest.New(t)
			neutralPhase(t, st)
			obs, err := observe.NewPrometheus(url(t), 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			l := &ledger{state: actuator.State{Replicas: 2}}
			sc, _ := faultReplica(t, st, "b", &replicaAct{l: l, name: "b", killed: make(chan struct{})}, obs, nil)
			fire(t, st, store.EventScaleUp, "firing")
			t0 := time.Now()
			res := sc.Evaluate(ctx, "api", time.Now())
			var problems []string
			for _, ob := range res.Observations {
				problems = append(problems, ob.Name+"="+ob.Problem)
			}
			o.note = fmt.Sprintf("observations %s; evaluation took %s; ", strings.Join(problems, ","), time.Since(t0).Round(100*time.Millisecond))
			sc.Wait()
			judge(t, st, l, o)
			if res.Output.Outcome != decision.NoData || res.Event != nil || len(l.snapshot()) != 0 || strings.Join(o.decisions, ",") != "no_data" {
				t.Errorf("outcome %s, event %v, %d calls, decisions %v; want no_data recorded, no action", res.Output.Outcome, res.Event, len(l.snapshot()), o.decisions)
			}
		}}
	}
	return []faultRow{
		row("down (closed port)", func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr
		}),
		row("hung (never answers)", func(t *testing.T) string {
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			}))
			t.Cleanup(func() { close(stop); srv.Close() })
			return srv.URL
		}),
	}
}

// actuatorRows: the real HTTP actuator against a fleet API that fails.
func actuatorRows() []faultRow {
	setup := func(t *testing.T, f *fleet) (*store.Store, *scaler.Scaler, *prometheus.Registry, *recordingAlerter) {
		t.Helper()
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		act, err := actuator.NewHTTP(actuator.HTTPConfig{URL: srv.URL + "/admin/replicas", Timeout: config.Duration(200 * time.Millisecond)},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		st := storetest.New(t)
		neutralPhase(t, st)
		al := &recordingAlerter{}
		sc, reg := faultReplica(t, st, "b", act, hot(), al)
		fire(t, st, store.EventScaleUp, "firing")
		return st, sc, reg, al
	}
	read := func(step string, f func(*fleet)) faultRow {
		return faultRow{fault: "actuator read (GET)", step: step, run: func(t *testing.T, o *outcome) {
			fl := &fleet{l: &ledger{state: actuator.State{Replicas: 2}}}
			f(fl)
			st, sc, reg, _ := setup(t, fl)
			res := sc.Evaluate(context.Background(), "api", time.Now())
			sc.Wait()
			judge(t, st, fl.l, o)
			gauge := testutil.ToFloat64(mustGauge(t, reg, "wedsync_autoscaler_actuator_state_unknown"))
			o.note = fmt.Sprintf("state_unknown=%v; ", gauge)
			if res.Output.Outcome != decision.NoState || res.Event != nil || len(fl.l.snapshot()) != 0 || gauge != 1 ||
				strings.Join(o.decisions, ",") != "no_state" {
				t.Errorf("outcome %s, event %v, %d calls, gauge %v, decisions %v; want a no_state decision, no action, gauge 1",
					res.Output.Outcome, res.Event, len(fl.l.snapshot()), gauge, o.decisions)
			}
		}}
	}
	write := func(step string, status int) faultRow {
		return faultRow{fault: "actuator write (PUT)", step: step, run: func(t *testing.T, o *outcome) {
			fl := &fleet{l: &ledger{state: actuator.State{Replicas: 2}}, putStatus: status}
			st, sc, _, al := setup(t, fl)
			res := sc.Evaluate(context.Background(), "api", time.Now())
			if res.Event == nil {
				t.Fatalf("no action: %+v", res.Output)
			}
			got := waitFinished(t, st, res.Event.ID, 10*time.Second, nil)
			sc.Wait()
			judge(t, st, fl.l, o)
			al.mu.Lock()
			alerted := len(al.events)
			al.mu.Unlock()
			calls := len(fl.l.snapshot())
			// The message's URL carries the test server's port: only whether
			// it names the status goes into the table.
			o.note = fmt.Sprintf("%d PUT, %d alert(s), error names %d: %v; ", calls, alerted, status, strings.Contains(got.ErrorMessage, fmt.Sprint(status)))
			if got.Status != store.StatusFailed || !strings.Contains(got.ErrorMessage, fmt.Sprint(status)) || alerted != 1 || calls != 1 || o.effective != 0 {
				t.Errorf("event %s %q, %d alerts, %d calls; want failed naming %d, alerted once, one call", got.Status, got.ErrorMessage, alerted, calls, status)
			}
		}}
	}
	return []faultRow{
		read("500", func(f *fleet) { f.getStatus = http.StatusInternalServerError }),
		read("429", func(f *fleet) { f.getStatus = http.StatusTooManyRequests }),
		read("timeout", func(f *fleet) { f.getHang = true }),
		write("500", http.StatusInternalServerError),
		write("429", http.StatusTooManyRequests),
		{fault: "actuator write (PUT)", step: "timeout, applied after the client gave up", run: func(t *testing.T, o *outcome) {
			fl := &fleet{l: &ledger{state: actuator.State{Replicas: 2}}, putLate: 600 * time.Millisecond, landed: make(chan struct{})}
			st, sc, _, al := setup(t, fl)
			ctx := context.Background()
			res := sc.Evaluate(ctx, "api", time.Now())
			if res.Event == nil {
				t.Fatalf("no action: %+v", res.Output)
			}
			first := waitFinished(t, st, res.Event.ID, 10*time.Second, nil)
			sc.Wait()
			<-fl.landed // the server applied 3 after the client had given up
			next := sc.Evaluate(ctx, "api", time.Now())
			if next.Event != nil {
				waitFinished(t, st, next.Event.ID, 10*time.Second, nil)
			}
			sc.Wait()
			judge(t, st, fl.l, o)
			al.mu.Lock()
			alerted := len(al.events)
			al.mu.Unlock()
			o.note = fmt.Sprintf("first event %s; next evaluation from %s; %d alert(s); ", first.Status, next.Current, alerted)
			if first.Status != store.StatusFailed || alerted != 1 || next.Current != (actuator.State{Replicas: 3}) {
				t.Errorf("first event %s (%s), %d alerts, next evaluation read %s; want failed, alerted, next from 3",
					first.Status, first.ErrorMessage, alerted, next.Current)
			}
		}},
	}
}
