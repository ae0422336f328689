package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/alerting"
	adminapi "github.com/wedsync/scaling/autoscaler/api"
	"github.com/wedsync/scaling/autoscaler/capacity"
	"github.com/wedsync/scaling/autoscaler/lease"
	"github.com/wedsync/scaling/autoscaler/loadrun"
	"github.com/wedsync/scaling/autoscaler/observe"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/autoscaler/reload"
	"github.com/wedsync/scaling/autoscaler/retention"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// The capacity planner reads load-test capacity for the scaler too.
var _ scaler.CapacityReader = (*capacity.Planner)(nil)

var (
	_ recommend.Current = (*scaler.Scaler)(nil)
	_ recommend.Bounds  = (*scaler.Scaler)(nil)
)

type serveFlags struct {
	common
	listen         string
	externalURL    string
	prometheusURL  string
	alertmanagers  multiFlag
	tokenFile      string
	dryRun         bool
	queryTimeout   time.Duration
	recommendEvery time.Duration
	leaseTTL       time.Duration
	renewAlerts    time.Duration
	evalTimeout    time.Duration
	reloadEvery    time.Duration
	retention      retention.Config
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.register(fs, true)
	fs.StringVar(&f.listen, "web.listen-address", ":9681", "Address to listen on for the webhook, /metrics, /healthz and /readyz.")
	fs.StringVar(&f.externalURL, "web.external-url", "", "URL under which the autoscaler is reachable (links in alerts).")
	fs.StringVar(&f.prometheusURL, "prometheus.url", "http://localhost:9090", "Prometheus to read metrics from.")
	fs.Var(&f.alertmanagers, "alertmanager.url", "Alertmanager to raise alerts on (failed actions); repeatable.")
	fs.StringVar(&f.tokenFile, "web.webhook-token-file", "", "File holding the bearer token Alertmanager must send (required).")
	fs.BoolVar(&f.dryRun, "dry-run", false, "Decide and log, but never act.")
	fs.DurationVar(&f.queryTimeout, "prometheus.timeout", 5*time.Second, "Timeout of one Prometheus query.")
	fs.DurationVar(&f.recommendEvery, "recommendations.interval", time.Hour, "How often optimization recommendations are generated (0: never).")
	fs.DurationVar(&f.renewAlerts, "alerts.renew-interval", time.Minute, "How often standing failed actions are re-posted to Alertmanager (each post lives four intervals; a failure that ended is resolved).")
	fs.DurationVar(&f.leaseTTL, "lease.ttl", 30*time.Second, "How long this replica's lease lives without a heartbeat; another replica takes over its unfinished actions only after it expired (and the actuator timeout passed).")
	fs.DurationVar(&f.evalTimeout, "evaluation.timeout", 0, "Longest one evaluation of one service may take (its actuator, Prometheus and database reads); 0: the policy's sync period, at least 10s.")
	fs.DurationVar(&f.reloadEvery, "config.reload-interval", 5*time.Second, "How often the policy file is checked for a change and reloaded (0: only on SIGHUP).")
	f.retention = retention.Defaults
	fs.Var(durationFlag{&f.retention.Notifications}, "retention.notifications", "How long received notifications and the alert states they recorded are kept (0: forever).")
	fs.Var(durationFlag{&f.retention.Decisions}, "retention.decisions", "How long decision rows are kept (0: forever); a running action's decision is always kept.")
	fs.Var(durationFlag{&f.retention.Audit}, "retention.audit", "How long the admin API's audit trail is kept (0: forever).")
	fs.Var(durationFlag{&f.retention.Interval}, "retention.interval", "How often old rows are pruned.")
	fs.IntVar(&f.retention.BatchSize, "retention.batch-size", f.retention.BatchSize, "Rows one pruning statement deletes at most (short locks).")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	logger, err := f.logger(stderr)
	if err != nil {
		return err
	}
	if f.tokenFile == "" {
		return usageError{errors.New("--web.webhook-token-file is required: the webhook is never served without authentication")}
	}
	if err := f.retention.Validate(); err != nil {
		return usageError{err}
	}
	if f.evalTimeout < 0 || f.reloadEvery < 0 {
		return usageError{errors.New("--evaluation.timeout and --config.reload-interval must not be negative")}
	}
	token, err := config.Secret{File: f.tokenFile}.Resolve()
	if err != nil {
		return fmt.Errorf("--web.webhook-token-file: %w", err)
	}
	pol, st, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	promClient, err := api.NewClient(api.Config{Address: f.prometheusURL})
	if err != nil {
		return fmt.Errorf("--prometheus.url: %w", err)
	}
	planner := &capacity.Planner{Prom: promv1.NewAPI(promClient), Store: st, Policy: pol}
	acts, err := buildActuators(pol, logger)
	if err != nil {
		return err
	}
	// The lease is taken before anything acts: every event this replica
	// starts names it, and its heartbeat tells the others it is alive.
	keeper, err := lease.New(st, lease.Name(), lease.Config{TTL: f.leaseTTL, ActuatorTimeout: longestCall(acts)}, logger)
	if err != nil {
		return fmt.Errorf("--lease.ttl: %w", err)
	}
	leaseCtx, stopLease := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLease()
	if err := keeper.Start(leaseCtx); err != nil {
		return fmt.Errorf("take the lease: %w", err)
	}
	logger.Info("lease taken", "holder", keeper.Holder(), "ttl", f.leaseTTL)
	sc, err := buildScaler(pol, st, acts, keeper, f.prometheusURL, f.queryTimeout, f.alertmanagers, f.renewAlerts, f.externalURL, f.dryRun, logger,
		scaler.NewMetrics(reg), planner, func(c *scaler.Config) { c.EvalTimeout = f.evalTimeout })
	if err != nil {
		return err
	}
	// Caught before anything can send it: SIGHUP's default is to exit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watcher, err := reload.New(reload.Config{Path: f.configFile, Interval: f.reloadEvery, Trigger: hup, Apply: sc.Reload, Logger: logger, Reg: reg})
	if err != nil {
		return err
	}
	pruner, err := retention.New(f.retention, st, logger, reg)
	if err != nil {
		return err
	}
	hook, err := webhook.New(webhook.Config{Recorder: webhook.NewGroupCommit(st, 2, 64), Known: sc.Known, Notify: sc.Kick,
		Costs: st, OnCost: autoTransition(ctx, sc, logger), Token: token, Logger: logger, Reg: reg})
	if err != nil {
		return err
	}

	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoop()
	rc := &record.Recorder{Store: st, Logger: logger}
	if len(f.alertmanagers) > 0 {
		if rc.Alerter, err = record.NewAlertmanager(f.alertmanagers, f.externalURL); err != nil {
			return fmt.Errorf("--alertmanager.url: %w", err)
		}
	}
	// Its tests name the lease: cancels from other replicas reach them, and
	// the others rescue them if this replica dies.
	runner, err := loadrun.New(loopCtx, loadrun.Config{Recorder: rc, Limits: scenario.DefaultLimits, Holder: keeper.Holder(), Logger: logger})
	if err != nil {
		return err
	}
	admin := adminapi.New(adminapi.Config{Store: st, Scaler: sc, Growth: sc, Recommendations: st, LoadTestStore: st, LoadTests: runner, Costs: st,
		Planner: planner, Plans: st, Measurements: st,
		Prometheus: promv1.NewAPI(promClient), Logger: logger})

	mux := http.NewServeMux()
	mux.Handle("POST /webhook/alertmanager", hook)
	mux.Handle("POST /webhook/alertmanager/costs", hook.Costs())
	mux.Handle("/api/admin/", admin.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", readyz(st, f.prometheusURL))

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--web.listen-address: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	logger.Info("listening", "address", ln.Addr().String(), "services", len(pol.Services), "dry_run", f.dryRun)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc.Run(loopCtx) //nolint:errcheck // returns nil
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		watcher.Run(loopCtx)
	}()
	go func() {
		defer wg.Done()
		pruner.Run(loopCtx)
	}()
	if f.recommendEvery > 0 {
		// The scaler is the generator's Current and Bounds: a floor a phase
		// or an override raised is the one a recommendation starts from.
		gen := recommend.New(recommend.Config{Policy: pol, Store: st, Prom: promv1.NewAPI(promClient), Current: sc, Bounds: sc, Logger: logger})
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen.Run(loopCtx, f.recommendEvery)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopLoop() // cancels running load tests too; they are recorded as cancelled
	wg.Wait()
	runner.Wait()
	stopLease() // released last: its work is finished or left for the others
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// open loads the policy and opens the migrated store, as every command
// that acts does.
func (c *common) open(ctx context.Context) (*policy.File, *store.Store, error) {
	pol, err := policy.Load(c.configFile)
	if err != nil {
		return nil, nil, err
	}
	dsn, err := c.dsn()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("migrate database: %w", err)
	}
	return pol, st, nil
}

func buildActuators(pol *policy.File, logger *slog.Logger) (map[string]actuator.Actuator, error) {
	acts := map[string]actuator.Actuator{}
	for name, svc := range pol.Services {
		a, err := actuator.New(svc.Actuator, logger.With("service", name))
		if err != nil {
			return nil, fmt.Errorf("services.%s.actuator: %w", name, err)
		}
		acts[name] = a
	}
	return acts, nil
}

// longestCall is the longest one call of any of the actuators may run.
func longestCall(acts map[string]actuator.Actuator) time.Duration {
	var d time.Duration
	for _, a := range acts {
		d = max(d, actuator.CallTimeout(a, 30*time.Second))
	}
	return d
}

// buildScaler assembles the loop; lk is the replica's lease (nil for the
// one-shot commands, which own whatever they start).
func buildScaler(pol *policy.File, st scaler.Store, acts map[string]actuator.Actuator, lk scaler.Lease, promURL string, timeout time.Duration,
	alertmanagers []string, renew time.Duration, externalURL string, dryRun bool, logger *slog.Logger, m *scaler.Metrics, caps scaler.CapacityReader,
	opts ...func(*scaler.Config)) (*scaler.Scaler, error) {
	obs, err := observe.NewPrometheus(promURL, timeout)
	if err != nil {
		return nil, fmt.Errorf("--prometheus.url: %w", err)
	}
	cfg := scaler.Config{Policy: pol, Store: st, Observer: obs, History: obs, AlertCheck: obs, Actuators: acts, DryRun: dryRun,
		Logger: logger, Metrics: m, Capacities: caps, ActuatorTimeout: longestCall(acts),
		// A policy reload builds the actuators of added or changed services.
		NewActuator: func(name string, p *policy.Service) (actuator.Actuator, error) {
			return actuator.New(p.Actuator, logger.With("service", name))
		}}
	if lk != nil {
		cfg.Lease = lk
	}
	if bs, ok := st.(scaler.BudgetStore); ok {
		cfg.Budgets = bs
	}
	if ov, ok := st.(scaler.OverrideStore); ok {
		cfg.Overrides = ov
	}
	if len(alertmanagers) > 0 {
		am, err := alerting.NewAlertmanager(alertmanagers, externalURL, logger)
		if err != nil {
			return nil, fmt.Errorf("--alertmanager.url: %w", err)
		}
		if renew > 0 {
			if err := am.RenewEvery(renew); err != nil {
				return nil, fmt.Errorf("--alerts.renew-interval: %w", err)
			}
			cfg.RenewFailures = renew
		}
		cfg.Alerter = am
	}
	for _, o := range opts {
		o(&cfg)
	}
	return scaler.New(cfg)
}

// durationFlag reads a flag as a Prometheus duration ("30d", "0").
type durationFlag struct{ d *config.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	d, err := config.ParseDuration(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// readyz reports whether the database and Prometheus answer.
func readyz(st *store.Store, promURL string) http.HandlerFunc {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]string{"database": "ok", "prometheus": "ok"}
		status := http.StatusOK
		if err := st.Ping(r.Context()); err != nil {
			checks["database"], status = err.Error(), http.StatusServiceUnavailable
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, strings.TrimSuffix(promURL, "/")+"/-/ready", nil)
		resp, err := client.Do(req)
		if err != nil {
			checks["prometheus"], status = err.Error(), http.StatusServiceUnavailable
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				checks["prometheus"], status = resp.Status, http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(checks) //nolint:errcheck
	}
}

// transitionUsers is the user count a cost alert asks a phase transition
// for, if it asks one: a firing users_beyond_phase alert with a value
// stored exactly. A flagged alert (a value that was NaN, out of range, or
// any label outside the contract) never acts: it is recorded for people.
func transitionUsers(a store.CostAlert) (float64, bool) {
	if a.Type != "users_beyond_phase" || a.Status != "firing" || !a.CurrentValue.Valid || len(a.Flags) > 0 || a.CurrentValue.Decimal.IsNegative() {
		return 0, false
	}
	return a.CurrentValue.Decimal.InexactFloat64(), true
}

// autoTransition answers a firing users-beyond-phase alert by moving to the
// next growth phase when the active one allows it (the scaler checks).
func autoTransition(ctx context.Context, sc *scaler.Scaler, logger *slog.Logger) func([]store.CostAlert) {
	return func(alerts []store.CostAlert) {
		for _, a := range alerts {
			users, ok := transitionUsers(a)
			if !ok {
				continue
			}
			go func() {
				ev, err := sc.AutoTransition(context.WithoutCancel(ctx), users)
				if err != nil {
					logger.Info("no automatic growth phase transition", "users", users, "reason", err)
					return
				}
				logger.Info("automatic growth phase transition", "users", users, "event_id", ev.ID)
			}()
		}
	}
}
