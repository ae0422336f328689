// Package lease keeps an autoscaler replica's lease alive: a row in
// PostgreSQL renewed every interval. The holder's name goes on everything
// the replica owns (unfinished scaling events, running load tests), and
// other replicas take that work over only once the lease has expired.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// Store is the part of the store a Keeper uses.
type Store interface {
	Heartbeat(ctx context.Context, holder string, ttl, actuatorTimeout time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, holder string) error
}

// Config is a Keeper's settings.
type Config struct {
	// TTL is how long a lease lives without a heartbeat: long enough to
	// ride out a database blip (the replica keeps working meanwhile), short
	// enough that a dead replica's work is taken over soon.
	TTL time.Duration
	// Interval is the heartbeat period (default TTL/3).
	Interval time.Duration
	// ActuatorTimeout is the longest an actuator call may run; a taker-over
	// waits this long after the lease expired before it applies again.
	ActuatorTimeout time.Duration
}

// Validate checks the settings.
func (c Config) Validate() error {
	switch {
	case c.TTL <= 0:
		return errors.New("lease ttl: must be positive")
	case c.Interval < 0 || c.Interval >= c.TTL:
		return fmt.Errorf("lease interval (%s): must be shorter than the ttl (%s)", c.Interval, c.TTL)
	case c.ActuatorTimeout < 0:
		return errors.New("lease actuator timeout: must not be negative")
	}
	return nil
}

// Keeper holds one replica's lease.
type Keeper struct {
	cfg    Config
	st     Store
	holder string
	logger *slog.Logger

	mu      sync.Mutex
	expires time.Time // by the local clock: when the last renewal runs out
}

// Name makes a holder name unique to this process: host, pid and a random
// suffix (a restarted process is a new holder, whose predecessor's work is
// taken over like any other dead replica's).
func Name() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// New makes a keeper for holder; Start takes the lease.
func New(st Store, holder string, cfg Config, logger *slog.Logger) (*Keeper, error) {
	if cfg.Interval == 0 {
		cfg.Interval = cfg.TTL / 3
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Keeper{cfg: cfg, st: st, holder: holder, logger: logger}, nil
}

// Holder is the lease's name.
func (k *Keeper) Holder() string { return k.holder }

// Start takes the lease (retrying until ctx ends: without it this replica
// may own nothing), then renews it in the background until ctx ends, when
// it is released.
func (k *Keeper) Start(ctx context.Context) error {
	for {
		err := k.beat(ctx)
		if err == nil {
			break
		}
		k.logger.Warn("take the lease; retrying", "holder", k.holder, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	go k.run(ctx)
	return nil
}

func (k *Keeper) run(ctx context.Context) {
	t := time.NewTicker(k.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := k.st.ReleaseLease(rctx, k.holder); err != nil {
				k.logger.Warn("release the lease", "holder", k.holder, "err", err)
			}
			cancel()
			return
		case <-t.C:
			wasValid := k.Valid()
			err := k.beat(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				k.logger.Warn("renew the lease", "holder", k.holder, "err", err, "valid_for", time.Until(k.Expires()).Round(time.Millisecond))
			case err == nil && !wasValid:
				// Expired meanwhile: events other replicas adopted are
				// theirs now; the rest are this replica's again.
				k.logger.Warn("lease renewed after it had expired", "holder", k.holder)
			}
		}
	}
}

func (k *Keeper) beat(ctx context.Context) error {
	sent := time.Now()
	bctx, cancel := context.WithTimeout(ctx, k.cfg.Interval)
	defer cancel()
	if _, err := k.st.Heartbeat(bctx, k.holder, k.cfg.TTL, k.cfg.ActuatorTimeout); err != nil {
		return err
	}
	k.mu.Lock()
	// Counted from when the renewal was sent: the database's expiry is at
	// least that late.
	k.expires = sent.Add(k.cfg.TTL)
	k.mu.Unlock()
	return nil
}

// Expires is when the lease runs out unless renewed, by the local clock.
func (k *Keeper) Expires() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.expires
}

// Valid reports whether the lease was renewed recently enough to still
// hold: a replica starts actuator calls only while it does.
func (k *Keeper) Valid() bool { return time.Now().Before(k.Expires()) }
