// Package reload owns reloading the policy file while the autoscaler runs:
// on SIGHUP (or any trigger) and when the file changes (its content hash
// polled, mtime logged — no inotify dependency, and it works on the
// ConfigMap volumes whose files are swapped by symlink). A new policy
// is parsed and validated before anything switches; a bad one is logged and
// counted and the policy in force stays, as Prometheus does with its
// configuration (prometheus_config_last_reload_successful).
package reload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/autoscaler/policy"
)

// Config assembles a Watcher.
type Config struct {
	Path string
	// Interval is how often the file is checked for a change (0: only on
	// a trigger).
	Interval time.Duration
	// Trigger forces a reload (SIGHUP), even of an unchanged file.
	Trigger <-chan os.Signal
	// Parse decodes, defaults and validates (default policy.Parse).
	Parse func([]byte) (*policy.File, error)
	// Apply switches to the new policy (the scaler's Reload); an error keeps
	// the old one, as a parse error does.
	Apply  func(*policy.File) error
	Logger *slog.Logger
	Reg    prometheus.Registerer
}

// Watcher reloads the policy file.
type Watcher struct {
	cfg Config

	mu   sync.Mutex
	last fileState // the file as last tried, applied or not

	errors      prometheus.Counter
	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

type fileState struct {
	mod  time.Time
	size int64
	sum  [sha256.Size]byte
}

// New builds a Watcher for a policy already loaded from cfg.Path (the one
// in force: it is not applied again until the file changes).
func New(cfg Config) (*Watcher, error) {
	if cfg.Path == "" || cfg.Apply == nil {
		return nil, errors.New("reload: a path and an Apply function are required")
	}
	if cfg.Parse == nil {
		cfg.Parse = policy.Parse
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{cfg: cfg,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "policy_reload_errors_total",
			Help: "Reloads of the policy file that failed (unreadable, invalid, or refused by the scaler); the policy in force was kept.",
		}),
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "policy_last_reload_successful",
			Help: "1 if the last reload of the policy file succeeded (or none was tried since start), 0 if it failed.",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "policy_last_reload_success_timestamp_seconds",
			Help: "When the policy in force was loaded (start-up or the last successful reload), Unix seconds.",
		}),
	}
	w.successful.Set(1)
	w.successTime.SetToCurrentTime()
	if cfg.Reg != nil {
		cfg.Reg.MustRegister(w.errors, w.successful, w.successTime)
	}
	// What is in force came from the file as it is now.
	if st, data, err := read(cfg.Path); err == nil {
		w.last = fileState{mod: st.ModTime(), size: st.Size(), sum: sha256.Sum256(data)}
	}
	return w, nil
}

// Run checks the file every Interval and reloads on a trigger, until ctx
// ends.
func (w *Watcher) Run(ctx context.Context) {
	var tick <-chan time.Time
	if w.cfg.Interval > 0 {
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.cfg.Trigger:
			w.Reload(true) //nolint:errcheck // logged and counted
		case <-tick:
			w.Reload(false) //nolint:errcheck // logged and counted
		}
	}
}

// Reload reads the file and, if it changed since it was last tried (or
// force), parses, validates and applies it. It reports whether a new policy
// is in force; on error the old one stays.
func (w *Watcher) Reload(force bool) (applied bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	log := w.cfg.Logger.With("file", w.cfg.Path)
	// Read and hashed at every check (a policy is a few KB): a rewrite
	// within the file system's time granularity keeps its mtime and maybe
	// its size, never its hash.
	st, data, err := read(w.cfg.Path)
	if err != nil {
		return false, w.failed(log, fmt.Errorf("reload policy: %w", err))
	}
	now := fileState{mod: st.ModTime(), size: st.Size(), sum: sha256.Sum256(data)}
	same := now.sum == w.last.sum
	// A failed content is tried once per change, not every poll: its error
	// was logged and counted. SIGHUP tries again.
	w.last = now
	if same && !force {
		return false, nil
	}
	pol, err := w.parse(data)
	if err == nil {
		err = w.cfg.Apply(pol)
	}
	if err != nil {
		return false, w.failed(log, fmt.Errorf("reload policy %s: %w", w.cfg.Path, err))
	}
	w.successful.Set(1)
	w.successTime.SetToCurrentTime()
	log.Info("policy file reloaded", "forced", force, "modified", now.mod, "sha256", fmt.Sprintf("%x", now.sum[:6]))
	return true, nil
}

// parse guards against a loader that panics on some input: a reload must
// never take the autoscaler down.
func (w *Watcher) parse(data []byte) (pol *policy.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			pol, err = nil, fmt.Errorf("the policy loader panicked: %v", r)
		}
	}()
	return w.cfg.Parse(data)
}

func (w *Watcher) failed(log *slog.Logger, err error) error {
	w.errors.Inc()
	w.successful.Set(0)
	log.Error("policy reload failed; the policy in force is kept", "err", err)
	return err
}

// read returns the file's content and the state it was read in.
func read(path string) (os.FileInfo, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	return st, data, err
}
