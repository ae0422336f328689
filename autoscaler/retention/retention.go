// Package retention owns how long the autoscaler's growing tables keep
// their rows, and the job that prunes them: received notifications and the
// alert states they recorded, decisions, and the admin API's audit trail.
// Scaling events (the record of every action) are kept.
//
// A pruning job rather than monthly partitions: the tables exist unpartitioned,
// and webhook_notifications' deduplication needs a primary key on dedup_key
// alone, which a table partitioned by time cannot have (every unique index
// of a partitioned table must include the partition key) — partitions would
// let a re-delivery after a month boundary act twice. Deleting the oldest
// rows in small batches, with SKIP LOCKED, keeps every lock short, and the
// job can be swapped for partitions later without a schema change now.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
)

// Config is how long each kind of row is kept (0: forever) and how the job
// runs.
type Config struct {
	// Notifications covers webhook_notifications and scaling_alerts.
	Notifications config.Duration
	Decisions     config.Duration
	Audit         config.Duration
	// Interval between passes.
	Interval config.Duration
	// BatchSize is how many rows one DELETE removes at most.
	BatchSize int
}

// Defaults: a month of notifications (incidents are reviewed within it),
// a quarter of decisions (a quarter's capacity review reads them), and a
// little over a year of audit (a yearly access review with margin).
var Defaults = Config{
	Notifications: config.Duration(30 * 24 * time.Hour),
	Decisions:     config.Duration(90 * 24 * time.Hour),
	Audit:         config.Duration(400 * 24 * time.Hour),
	Interval:      config.Duration(time.Hour),
	BatchSize:     1000,
}

// minRetention is the shortest retention accepted: an alert row must
// outlive every alert TTL and Alertmanager repeat interval (hours), or a
// still-firing alert could be pruned between two deliveries.
const minRetention = 24 * time.Hour

// Validate returns every problem, each naming its flag.
func (c Config) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		d    config.Duration
	}{{"retention.notifications", c.Notifications}, {"retention.decisions", c.Decisions}, {"retention.audit", c.Audit}} {
		if r.d != 0 && r.d.D() < minRetention {
			errs = append(errs, fmt.Errorf("--%s: %s is shorter than %s (0 keeps rows forever)", r.name, r.d, config.Duration(minRetention)))
		}
	}
	if c.Interval.D() < time.Minute {
		errs = append(errs, fmt.Errorf("--retention.interval: %s, want at least 1m", c.Interval))
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		errs = append(errs, fmt.Errorf("--retention.batch-size: %d, want 1 to 100000", c.BatchSize))
	}
	return errors.Join(errs...)
}

// keep is the retention of each table (0: forever).
func (c Config) keep() map[store.PruneTable]time.Duration {
	return map[store.PruneTable]time.Duration{store.PruneNotifications: c.Notifications.D(), store.PruneAlerts: c.Notifications.D(),
		store.PruneDecisions: c.Decisions.D(), store.PruneAudit: c.Audit.D()}
}

// Pruner is the part of the store the job uses.
type Pruner interface {
	PruneBatch(ctx context.Context, table store.PruneTable, cutoff time.Time, limit int) (int64, error)
}

var _ Pruner = (*store.Store)(nil)

// Job prunes on a schedule.
type Job struct {
	cfg    Config
	st     Pruner
	logger *slog.Logger
	now    func() time.Time

	pruned      *prometheus.CounterVec
	errors      *prometheus.CounterVec
	lastSuccess prometheus.Gauge
}

// New builds a Job from a validated Config.
func New(cfg Config, st Pruner, logger *slog.Logger, reg prometheus.Registerer) (*Job, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	j := &Job{cfg: cfg, st: st, logger: logger, now: time.Now,
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "retention_pruned_rows_total",
			Help: "Rows deleted by the retention job, by table.",
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "retention_errors_total",
			Help: "Retention passes over a table that failed (the next pass tries again).",
		}, []string{"table"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "retention_last_success_timestamp_seconds",
			Help: "When a retention pass last finished without error, Unix seconds (0: none yet).",
		}),
	}
	for _, t := range store.PruneTables {
		j.pruned.WithLabelValues(string(t))
		j.errors.WithLabelValues(string(t))
	}
	if reg != nil {
		reg.MustRegister(j.pruned, j.errors, j.lastSuccess)
	}
	return j, nil
}

// Run prunes at once and then every Interval, until ctx ends.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTicker(j.cfg.Interval.D())
	defer t.Stop()
	for {
		j.Prune(ctx) //nolint:errcheck // logged and counted
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune runs one pass over every table with a retention: batches of at
// most BatchSize rows, oldest first, until a batch comes back short. It
// returns the rows deleted by table and every table's error.
func (j *Job) Prune(ctx context.Context) (map[store.PruneTable]int64, error) {
	now := j.now()
	keep := j.cfg.keep()
	out := map[store.PruneTable]int64{}
	var errs []error
	for _, table := range store.PruneTables {
		if keep[table] == 0 {
			continue
		}
		cutoff := now.Add(-keep[table])
		for ctx.Err() == nil {
			n, err := j.st.PruneBatch(ctx, table, cutoff, j.cfg.BatchSize)
			out[table] += n
			j.pruned.WithLabelValues(string(table)).Add(float64(n))
			if err != nil {
				j.errors.WithLabelValues(string(table)).Inc()
				errs = append(errs, err)
				break
			}
			if n < int64(j.cfg.BatchSize) {
				break
			}
		}
	}
	err := errors.Join(append(errs, ctx.Err())...)
	attrs := []any{"took", j.now().Sub(now).Round(time.Millisecond)}
	for _, t := range store.PruneTables {
		if out[t] > 0 {
			attrs = append(attrs, string(t), out[t])
		}
	}
	switch {
	case err != nil:
		j.logger.Warn("retention pass incomplete; the next pass goes on", append(attrs, "err", err)...)
	case len(attrs) > 2:
		j.lastSuccess.Set(float64(now.Unix()))
		j.logger.Info("retention: pruned old rows", attrs...)
	default:
		j.lastSuccess.Set(float64(now.Unix()))
	}
	return out, err
}
