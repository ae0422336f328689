// Package fleet owns the simulated WedSync API fleet used by the demo and the end-to-end
// tests: a pool of worker slots whose size follows the ready replica count, the workload
// endpoints served from it, the admin API that changes the replica count, and the
// Prometheus metrics an autoscaler needs to see the fleet saturate and recover.
//
// The simulation is deliberately physical rather than scripted: capacity is
// replicas × slots per replica / service time, so overload produces real queueing, real
// latency and real utilization, and scaling out really brings them back down.
package fleet

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Simulated memory defaults. Chosen so that an idle fleet reports 25 % of its limit,
// a fleet with every slot busy but nothing queued stays just under 30 % (so it is not
// mistaken for being under memory pressure), and queueing pushes it well above 30 %.
const (
	DefaultMemoryBaseBytes       = 128 << 20 // per ready replica, idle
	DefaultMemoryPerRequestBytes = 4 << 20   // per in-flight or queued request
	DefaultMemoryLimitBytes      = 512 << 20 // per ready replica
)

// MaxAdminBodyBytes bounds the PUT /admin/replicas body; the real payload is ~20 bytes.
const MaxAdminBodyBytes = 4 << 10

// Errors returned by the fleet; check them with errors.Is.
var (
	// ErrQueueFull means the request found every slot busy and the wait queue full.
	ErrQueueFull = errors.New("queue full")
	// ErrReplicasOutOfRange means a replica count outside 1…MaxReplicas was asked for.
	ErrReplicasOutOfRange = errors.New("replicas out of range")
)

// Config describes the simulated fleet. Start from DefaultConfig.
type Config struct {
	Replicas        int           // initial replicas, ready at start
	MaxReplicas     int           // upper bound accepted by the admin API
	SlotsPerReplica int           // concurrent requests one replica serves
	ServiceTime     time.Duration // time a request holds its slot
	ServiceJitter   time.Duration // service time is drawn uniformly from ServiceTime ± ServiceJitter
	ProvisionDelay  time.Duration // time from a scale-up request until the new replicas are ready
	MaxQueue        int           // requests that may wait for a slot; beyond it the answer is 503
	AdminToken      string        // bearer token for /admin/; empty disables the check

	MemoryBaseBytes       int64 // simulated memory of an idle ready replica
	MemoryPerRequestBytes int64 // simulated memory of each in-flight or queued request
	MemoryLimitBytes      int64 // memory limit of one ready replica

	// now is the clock for busy time and latency; tests replace it to get exact values.
	now func() time.Time
}

// DefaultConfig returns the defaults of wedsync-demo-api: 2 replicas of 5 slots at 50 ms,
// i.e. 100 req/s per replica.
func DefaultConfig() Config {
	return Config{
		Replicas:              2,
		MaxReplicas:           20,
		SlotsPerReplica:       5,
		ServiceTime:           50 * time.Millisecond,
		ProvisionDelay:        2 * time.Second,
		MaxQueue:              2000,
		MemoryBaseBytes:       DefaultMemoryBaseBytes,
		MemoryPerRequestBytes: DefaultMemoryPerRequestBytes,
		MemoryLimitBytes:      DefaultMemoryLimitBytes,
	}
}

// Validate returns every problem of the configuration at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.MaxReplicas < 1 {
		add("max_replicas", "must be >= 1, got %d", c.MaxReplicas)
	}
	if c.Replicas < 1 || (c.MaxReplicas >= 1 && c.Replicas > c.MaxReplicas) {
		add("replicas", "must be between 1 and max_replicas (%d), got %d", c.MaxReplicas, c.Replicas)
	}
	if c.SlotsPerReplica < 1 {
		add("slots_per_replica", "must be >= 1, got %d", c.SlotsPerReplica)
	}
	if c.ServiceTime <= 0 {
		add("service_time", "must be > 0, got %s", c.ServiceTime)
	}
	if c.ServiceJitter < 0 || (c.ServiceTime > 0 && c.ServiceJitter >= c.ServiceTime) {
		add("service_jitter", "must be >= 0 and < service_time (%s), got %s", c.ServiceTime, c.ServiceJitter)
	}
	if c.ProvisionDelay < 0 {
		add("provision_delay", "must be >= 0, got %s", c.ProvisionDelay)
	}
	if c.MaxQueue < 0 {
		add("max_queue", "must be >= 0, got %d", c.MaxQueue)
	}
	if c.MemoryBaseBytes < 0 {
		add("memory_base_bytes", "must be >= 0, got %d", c.MemoryBaseBytes)
	}
	if c.MemoryPerRequestBytes < 0 {
		add("memory_per_request_bytes", "must be >= 0, got %d", c.MemoryPerRequestBytes)
	}
	if c.MemoryLimitBytes <= 0 {
		add("memory_limit_bytes", "must be > 0, got %d", c.MemoryLimitBytes)
	}
	return errors.Join(errs...)
}

// State is a consistent snapshot of the fleet.
type State struct {
	Ready       int     // ready replicas
	Desired     int     // replicas asked for
	Slots       int     // worker slots of the ready replicas
	Busy        int     // slots serving a request (may exceed Slots right after a scale-down)
	Queued      int     // requests waiting for a slot
	BusySeconds float64 // accumulated busy time of all slots, in-flight work included
	MemoryUsed  int64   // simulated memory in use
	MemoryLimit int64   // memory limit of the ready replicas
}

// Fleet is the simulated API fleet. It is safe for concurrent use.
type Fleet struct {
	cfg      Config
	log      *slog.Logger
	pool     *pool
	registry *prometheus.Registry
	http     *httpMetrics
}

// New validates cfg and builds a fleet whose initial replicas are ready at once.
func New(cfg Config, logger *slog.Logger) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fleet config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	f := &Fleet{
		cfg:      cfg,
		log:      logger,
		pool:     newPool(cfg, logger),
		registry: prometheus.NewRegistry(),
		http:     newHTTPMetrics(),
	}
	f.registry.MustRegister(
		newCollector(f.pool),
		f.http.requests,
		f.http.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return f, nil
}

// Gatherer exposes the fleet's private registry, e.g. for tests or an extra endpoint.
func (f *Fleet) Gatherer() prometheus.Gatherer { return f.registry }

// State returns a snapshot of replicas, slots, queue, busy time and memory.
func (f *Fleet) State() State { return f.pool.state() }

// SetReplicas asks for n replicas. Scale-down takes effect at once (requests already on
// the removed slots finish); scale-up is ready after the provisioning delay. It returns
// the state right after the request, so Ready may still be below n.
func (f *Fleet) SetReplicas(n int) (State, error) {
	if n < 1 || n > f.cfg.MaxReplicas {
		return f.pool.state(), fmt.Errorf("set replicas to %d (allowed 1…%d): %w", n, f.cfg.MaxReplicas, ErrReplicasOutOfRange)
	}
	return f.pool.setDesired(n), nil
}

// Close stops pending provisioning timers. Requests still in the pool are unaffected.
func (f *Fleet) Close() { f.pool.close() }

// Handler returns every endpoint of the fleet: workload, admin, health and metrics.
func (f *Fleet) Handler() http.Handler { return f.routes() }
