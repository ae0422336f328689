// Command wedsync-demo runs the scaling loop end to end on loopback: it
// starts PostgreSQL, Prometheus (demo rules), Alertmanager, the demo fleet
// and the autoscaler, drives a load ramp past the fleet's capacity, shows
// replicas, p95 latency, firing alerts and scaling events as they happen —
// a scale-up under load, a scale-down after it — prints the event log, and
// stops everything. With --keep the stack stays up until Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/demo/fleet"
	"github.com/wedsync/scaling/demo/load"
	"github.com/wedsync/scaling/demo/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wedsync-demo:", err)
		os.Exit(1)
	}
}

type options struct {
	binDir     string
	keep       bool
	background float64
	peak       float64
	maxUp      time.Duration
	maxDown    time.Duration
	rampFor    time.Duration
	verbose    bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("wedsync-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.binDir, "bin-dir", "", "Folder with wedsync-autoscaler and wedsync-demo-api (default: build them).")
	fs.BoolVar(&o.keep, "keep", false, "Keep the stack running after the scenario and print its URLs; stop with Ctrl-C.")
	fs.Float64Var(&o.background, "load.background", 30, "Requests per second before and after the burst.")
	fs.Float64Var(&o.peak, "load.peak", 350, "Requests per second of the burst (the fleet starts with capacity for 200).")
	fs.DurationVar(&o.rampFor, "load.ramp", 40*time.Second, "How long the load takes to ramp from background to peak.")
	fs.DurationVar(&o.maxUp, "timeout.scale-up", 2*time.Minute, "Give up if the fleet has not recovered under load by then.")
	fs.DurationVar(&o.maxDown, "timeout.scale-down", 3*time.Minute, "Give up if the fleet has not shrunk back by then.")
	fs.BoolVar(&o.verbose, "v", false, "Log the stack's start-up steps.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.background <= 0 || o.peak <= o.background {
		return fmt.Errorf("--load.peak (%v) must be above --load.background (%v), both positive", o.peak, o.background)
	}
	lvl := slog.LevelWarn
	if o.verbose {
		lvl = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	fmt.Fprintln(stdout, "Starting PostgreSQL, Prometheus (demo rules), Alertmanager, the demo fleet and the autoscaler on loopback…")
	t0 := time.Now()
	st, err := stack.Start(ctx, stack.Options{BinDir: o.binDir, Durable: true, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "Stopping everything…")
		st.Close()
	}()
	fmt.Fprintf(stdout, "Stack up in %s (folder %s).\n\n", time.Since(t0).Round(100*time.Millisecond), st.Dir)

	d := &demo{st: st, out: stdout, o: o, start: time.Now(), seen: map[string]store.EventStatus{}}
	err = d.scenario(ctx)
	d.printEventLog(context.WithoutCancel(ctx))
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "Interrupted.")
		return nil
	}
	if err != nil {
		return err
	}
	if o.keep {
		d.printURLs()
		<-ctx.Done()
	}
	return nil
}

type demo struct {
	st    *stack.Stack
	out   io.Writer
	o     options
	start time.Time

	mu         sync.Mutex
	phase      string
	drv        *load.Driver
	cancelLoad context.CancelFunc
	seen       map[string]store.EventStatus
}

// scenario: background load, a burst past capacity until the fleet has
// scaled up and latency is back under 2 s, then background load until the
// fleet has scaled back down.
func (d *demo) scenario(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go d.watch(ctx)

	steady := func(rate float64) []load.Stage { return []load.Stage{{Duration: time.Hour, Rate: rate}} }
	if err := d.setLoad(ctx, "warm-up", steady(d.o.background)); err != nil {
		return err
	}
	if err := sleep(ctx, 15*time.Second); err != nil {
		return err
	}

	rampStart := time.Now()
	// A ramp: the first stage holds, each next one ramps from the previous
	// rate. Over 40 s, the trend forecaster sees it coming, and the first
	// scale-up lands before p95 crosses 2 s.
	if err := d.setLoad(ctx, "ramp", []load.Stage{{Duration: time.Second, Rate: d.o.background}, {Duration: d.o.rampFor, Rate: d.o.peak}, {Duration: time.Hour, Rate: d.o.peak}}); err != nil {
		return err
	}
	upAt, err := d.until(ctx, d.o.maxUp, "the fleet to scale up and p95 to be under 2 s at the peak", func() bool {
		return time.Since(rampStart) > d.o.rampFor+10*time.Second && d.count(ctx, store.EventScaleUp) > 0 && d.recovered(ctx)
	})
	if err != nil {
		return err
	}
	// Hold the burst a little longer so the recovered state is visible.
	if err := sleep(ctx, 10*time.Second); err != nil {
		return err
	}
	d.note("fleet serving the peak under 2 s, %s after the ramp began", upAt.Round(time.Second))
	d.noteAhead(ctx, rampStart)

	if err := d.setLoad(ctx, "cool-down", steady(d.o.background)); err != nil {
		return err
	}
	downAt, err := d.until(ctx, d.o.maxDown, "the fleet to scale back down", func() bool {
		ready, desired, err := d.st.FleetState(ctx)
		return err == nil && d.count(ctx, store.EventScaleDown) > 0 && ready == desired && ready == 2
	})
	if err != nil {
		return err
	}
	d.note("fleet back to its minimum after %s", downAt.Round(time.Second))
	d.stopLoad()
	return nil
}

// noteAhead says whether the first scale-up of the ramp came before users
// waited: before p95 first crossed 2 s.
func (d *demo) noteAhead(ctx context.Context, since time.Time) {
	var first *store.Event
	evs, _ := d.st.Store.ListEvents(ctx, store.EventFilter{Service: "api", Type: store.EventScaleUp, From: since})
	for i := range evs {
		if first == nil || evs[i].StartedAt.Before(first.StartedAt) {
			first = &evs[i]
		}
	}
	if first == nil {
		return
	}
	crossed, ok := d.st.FirstAbove(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`, 2, since, time.Now())
	switch {
	case !ok:
		d.note("first scale-up %s into the ramp (%s); p95 never crossed 2 s", first.StartedAt.Sub(since).Round(time.Second), first.TriggerReason)
	case first.StartedAt.Before(crossed):
		d.note("first scale-up %s into the ramp (%s), %s before p95 crossed 2 s", first.StartedAt.Sub(since).Round(time.Second),
			first.TriggerReason, crossed.Sub(first.StartedAt).Round(time.Second))
	default:
		d.note("first scale-up %s into the ramp, %s after p95 crossed 2 s", first.StartedAt.Sub(since).Round(time.Second),
			first.StartedAt.Sub(crossed).Round(time.Second))
	}
}

func (d *demo) setLoad(ctx context.Context, phase string, stages []load.Stage) error {
	d.stopLoad()
	drv, err := load.New(load.Config{Target: d.st.FleetURL, Paths: fleet.WorkloadPaths, Stages: stages,
		Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		return fmt.Errorf("load %s: %w", phase, err)
	}
	lctx, cancel := context.WithCancel(ctx)
	d.mu.Lock()
	d.phase, d.drv, d.cancelLoad = phase, drv, cancel
	d.mu.Unlock()
	go drv.Run(lctx) //nolint:errcheck // counted in its snapshot
	d.note("phase %s: %s", phase, describe(stages))
	return nil
}

func (d *demo) stopLoad() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancelLoad != nil {
		d.cancelLoad()
		d.cancelLoad = nil
	}
}

func describe(stages []load.Stage) string {
	var parts []string
	for _, s := range stages {
		if s.Duration >= time.Hour {
			parts = append(parts, fmt.Sprintf("hold %.0f req/s", s.Rate))
		} else {
			parts = append(parts, fmt.Sprintf("%.0f req/s for %s", s.Rate, s.Duration))
		}
	}
	return strings.Join(parts, ", then ")
}

func (d *demo) until(ctx context.Context, limit time.Duration, what string, ok func() bool) (time.Duration, error) {
	t0 := time.Now()
	for {
		if ok() {
			return time.Since(t0), nil
		}
		if time.Since(t0) > limit {
			return 0, fmt.Errorf("gave up waiting %s for %s", limit, what)
		}
		if err := sleep(ctx, time.Second); err != nil {
			return 0, err
		}
	}
}

func (d *demo) count(ctx context.Context, typ store.EventType) int {
	evs, err := d.st.Store.ListEvents(ctx, store.EventFilter{Service: "api", Status: store.StatusCompleted})
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (d *demo) recovered(ctx context.Context) bool {
	p95, ok := d.st.Query(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`)
	return ok && p95 < 2
}

// watch prints a status line every 2 s and every scaling event as it happens.
func (d *demo) watch(ctx context.Context) {
	fmt.Fprintln(d.out, "  time  phase       load/s  replicas  forecast      p95      cpu    firing alerts")
	status := time.NewTicker(2 * time.Second)
	events := time.NewTicker(500 * time.Millisecond)
	defer status.Stop()
	defer events.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-events.C:
			d.printNewEvents(ctx)
		case <-status.C:
			d.printStatus(ctx)
		}
	}
}

func (d *demo) printStatus(ctx context.Context) {
	d.mu.Lock()
	phase, drv := d.phase, d.drv
	d.mu.Unlock()
	rate := "-"
	if drv != nil {
		rate = fmt.Sprintf("%.0f", drv.Snapshot().TargetRate)
	}
	replicas := "?"
	if ready, desired, err := d.st.FleetState(ctx); err == nil {
		replicas = fmt.Sprint(ready)
		if desired != ready {
			replicas = fmt.Sprintf("%d→%d", ready, desired)
		}
	}
	p95, cpu := "-", "-"
	if v, ok := d.st.Query(ctx, `max(service:http_request_duration_seconds:p95{service="api"})`); ok {
		p95 = fmt.Sprintf("%.3fs", v)
		if v >= 2 {
			p95 += "!"
		}
	}
	if v, ok := d.st.Query(ctx, `max(service:cpu_utilization:ratio{service="api"})`); ok {
		cpu = fmt.Sprintf("%.0f%%", v*100)
	}
	// What the trend forecaster expects within the lead, and the replicas
	// that needs (the autoscaler's own series, through Prometheus).
	forecast := "-"
	if v, ok := d.st.Query(ctx, `wedsync_autoscaler_forecast_value{service="api",forecaster="trend"}`); ok {
		forecast = fmt.Sprintf("%.0f/s", v)
		if n, ok := d.st.Query(ctx, `wedsync_autoscaler_predicted_desired_replicas{service="api"}`); ok {
			forecast += fmt.Sprintf("→%.0f", n)
		}
	}
	alerts := strings.Join(d.st.FiringAlerts(ctx, "api"), ", ")
	fmt.Fprintf(d.out, "%6s  %-10s  %6s  %-8s  %-12s  %-7s  %-5s  %s\n", clock(time.Since(d.start)), phase, rate, replicas, forecast, p95, cpu, alerts)
}

func (d *demo) printNewEvents(ctx context.Context) {
	evs, err := d.st.Store.ListEvents(ctx, store.EventFilter{Limit: 50})
	if err != nil {
		return
	}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if d.seen[e.ID] == e.Status {
			continue
		}
		d.seen[e.ID] = e.Status
		line := fmt.Sprintf("%s %s %s → %s: %s", e.Type, e.Service, state(e.Before), state(e.After), e.Status)
		if e.Status == store.StatusInProgress {
			line += " (" + e.TriggerReason + ")"
		}
		if e.DurationMS != nil {
			line += fmt.Sprintf(" in %.1fs", float64(*e.DurationMS)/1000)
		}
		if e.ErrorMessage != "" {
			line += ": " + e.ErrorMessage
		}
		fmt.Fprintf(d.out, "%6s  >>> scaling event %s\n", clock(time.Since(d.start)), line)
	}
}

func (d *demo) note(format string, a ...any) {
	fmt.Fprintf(d.out, "%6s  --- %s\n", clock(time.Since(d.start)), fmt.Sprintf(format, a...))
}

func (d *demo) printEventLog(ctx context.Context) {
	evs, err := d.st.Store.ListEvents(ctx, store.EventFilter{Limit: 1000})
	if err != nil {
		fmt.Fprintln(d.out, "event log unavailable:", err)
		return
	}
	fmt.Fprintf(d.out, "\nScaling event log (PostgreSQL, table scaling_events), oldest first:\n")
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tTYPE\tSERVICE\tBEFORE\tAFTER\tSTATUS\tTOOK\tCOST/MONTH\tREASON")
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		took := "-"
		if e.DurationMS != nil {
			took = fmt.Sprintf("%.1fs", float64(*e.DurationMS)/1000)
		}
		cost := "-"
		if e.CostImpactMonthly.Valid {
			cost = e.CostImpactMonthly.Decimal.StringFixed(2)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.StartedAt.Local().Format("15:04:05"), e.Type, e.Service,
			state(e.Before), state(e.After), e.Status, took, cost, e.TriggerReason)
	}
	tw.Flush()
	decisions, err := d.st.Store.ListDecisions(ctx, "", 1000)
	if err == nil {
		counts := map[string]int{}
		for _, x := range decisions {
			counts[x.Outcome]++
		}
		fmt.Fprintf(d.out, "\nDecisions recorded (every action, every alert-driven evaluation, every change of conclusion): %v\n", counts)
	}
}

func (d *demo) printURLs() {
	fmt.Fprintf(d.out, "\nThe stack keeps running (Ctrl-C stops it):\n")
	fmt.Fprintf(d.out, "  Prometheus     %s/graph\n", d.st.Prometheus.URL())
	for i, am := range d.st.Alertmanagers {
		fmt.Fprintf(d.out, "  Alertmanager %d %s\n", i+1, am.URL())
	}
	fmt.Fprintf(d.out, "  Autoscaler     %s/metrics\n", d.st.AutoscalerURL)
	fmt.Fprintf(d.out, "  Demo fleet     %s/metrics  (load: %s/api/weddings)\n", d.st.FleetURL, d.st.FleetURL)
	fmt.Fprintf(d.out, "  PostgreSQL     %s\n", d.st.DSN)
}

// state prints a recorded configuration ({"replicas": 4}) as "4 replicas".
func state(raw []byte) string {
	var st struct {
		Replicas *int   `json:"replicas"`
		Tier     string `json:"tier"`
	}
	if json.Unmarshal(raw, &st) != nil {
		return string(raw)
	}
	switch {
	case st.Tier != "":
		return "tier " + st.Tier
	case st.Replicas != nil:
		return fmt.Sprintf("%d replicas", *st.Replicas)
	}
	return string(raw)
}

func clock(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
