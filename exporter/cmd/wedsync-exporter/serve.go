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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/exporter/billing"
	"github.com/wedsync/scaling/exporter/collector"
	"github.com/wedsync/scaling/exporter/config"
	"github.com/wedsync/scaling/exporter/ingest"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger, err := f.logger(stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(f.configFile)
	if err != nil {
		return err
	}
	if f.check {
		fmt.Fprintf(stdout, "SUCCESS: %s is valid: %d sources\n", f.configFile, len(cfg.Sources))
		return nil
	}
	dsn, err := f.dsn()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	var app *store.AppDB
	if db := cfg.ApplicationDatabase; db != nil {
		url, err := db.URL.Resolve()
		if err != nil {
			return fmt.Errorf("application_database.url: %w", err)
		}
		if app, err = store.OpenAppDB(ctx, url, db.Timeout.D()); err != nil {
			return err
		}
		defer app.Close()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	entries := buildCollectors(cfg, st, app, logger)
	snap := collector.NewSnapshot(entries, reg, logger)
	runners, err := buildRunners(cfg, st, app, snap.CostsChanged, logger)
	if err != nil {
		return err
	}
	reg.MustRegister(ingest.Collector{Runners: runners})

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", snap)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", readyz(st, app, snap))
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--web.listen-address: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	logger.Info("listening", "address", ln.Addr().String(), "sources", len(runners))

	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { r.Run(loopCtx) })
	}
	wg.Go(func() { snap.Run(loopCtx, cfg.Metrics.SnapshotInterval.D()) })
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
	stopLoops()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// meter reads what Supabase bills for from the application database.
type meter struct {
	app    *store.AppDB
	active string
}

func (m meter) DatabaseSizeBytes(ctx context.Context) (int64, error) { return m.app.DatabaseSize(ctx) }
func (m meter) MonthlyActiveUsers(ctx context.Context) (int64, error) {
	if m.active == "" {
		return 0, nil
	}
	n, err := m.app.Number(ctx, m.active)
	return n.IntPart(), err
}

func buildRunners(cfg *config.File, st *store.Store, app *store.AppDB, onChange func(), logger *slog.Logger) ([]*ingest.Runner, error) {
	client := &http.Client{}
	var runners []*ingest.Runner
	for i, s := range cfg.Sources {
		var src billing.Source
		var err error
		switch s.Type {
		case "openai":
			src, err = billing.NewOpenAI(*s.OpenAI, s.Service, client)
		case "vercel":
			src, err = billing.NewVercel(*s.Vercel, s.Service, client)
		case "twilio":
			src, err = billing.NewTwilio(*s.Twilio, s.Service, client)
		case "supabase":
			var m billing.SupabaseMeter
			if app != nil {
				mm := meter{app: app}
				if cfg.Users != nil {
					mm.active = cfg.Users.ActiveQuery
				}
				m = mm
			}
			src, err = billing.NewSupabase(*s.Supabase, s.Service, m, client)
		case "focus":
			src = billing.NewFocusFiles(*s.Focus, s.Service)
		case "manual":
			src = billing.NewManual(*s.Manual)
		}
		if err != nil {
			return nil, fmt.Errorf("sources[%d] (%s): %w", i, s.Name, err)
		}
		runners = append(runners, &ingest.Runner{Name: s.Name, Source: src, Refresh: s.Refresh, Store: st,
			Rules: cfg.Attribution.Rules, Logger: logger, OnChange: onChange})
	}
	return runners, nil
}

func buildCollectors(cfg *config.File, st *store.Store, app *store.AppDB, logger *slog.Logger) []collector.Entry {
	m := cfg.Metrics
	invoices := map[string][]billing.Invoice{}
	for _, s := range cfg.Sources {
		if s.Supabase != nil && len(s.Supabase.Invoices) > 0 {
			invoices[s.Name] = s.Supabase.Invoices
		}
	}
	users := collector.Users{Phases: st}
	if app != nil && cfg.Users != nil {
		users.App, users.TotalQuery, users.ActiveQuery = app, cfg.Users.TotalQuery, cfg.Users.ActiveQuery
	}
	capacity := &collector.Capacity{Resources: cfg.Capacity.Resources, Store: st,
		RecordInterval: cfg.Capacity.RecordInterval.D(), History: cfg.Capacity.History.D()}
	if app != nil {
		capacity.App = app
	}
	return []collector.Entry{
		{Name: "costs", Kind: collector.OnCostChange, Collector: collector.Costs{Store: st, BaselineDays: m.BaselineDays}},
		{Name: "budgets", Kind: collector.OnCostChange, Collector: collector.Budgets{Store: st, Logger: logger}},
		{Name: "projections", Kind: collector.OnCostChange, Collector: collector.Projections{Store: st, Logger: logger}},
		{Name: "invoices", Kind: collector.OnCostChange, Collector: collector.Invoices{Store: st, Invoices: invoices}},
		{Name: "capacity", Kind: collector.EverySnapshot, Collector: capacity},
		{Name: "users", Kind: collector.EverySnapshot, Collector: users},
		{Name: "custom", Kind: collector.EverySnapshot, Collector: collector.Custom{Store: st, MaxAge: m.CustomMaxAge.D(), MaxSeries: m.CustomMaxSeries, Logger: logger}},
	}
}

// readyz reports whether the databases answer and a snapshot exists.
func readyz(st *store.Store, app *store.AppDB, snap *collector.Snapshot) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]string{"database": "ok", "snapshot": "ok"}
		status := http.StatusOK
		if err := st.Ping(r.Context()); err != nil {
			checks["database"], status = err.Error(), http.StatusServiceUnavailable
		}
		if app != nil {
			checks["application_database"] = "ok"
			if err := app.Ping(r.Context()); err != nil {
				checks["application_database"], status = err.Error(), http.StatusServiceUnavailable
			}
		}
		if !snap.Ready() {
			checks["snapshot"], status = "not built yet", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(checks) //nolint:errcheck
	}
}
