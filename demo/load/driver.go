package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Driver runs one schedule and can be observed while it does.
type Driver struct {
	cfg    Config
	sched  schedule
	client *http.Client
	owned  bool // client built here, so its idle connections are closed at the end

	ran      atomic.Bool
	started  atomic.Int64 // unix nanoseconds; 0 before Run
	finished atomic.Int64 // unix nanoseconds; 0 while running
	sent     atomic.Int64
	ok       atomic.Int64
	errs     atomic.Int64
	dropped  atomic.Int64
	inFlight atomic.Int64
}

// Snapshot is the driver's progress at one instant, e.g. for a terminal UI.
type Snapshot struct {
	Elapsed    time.Duration
	Stage      int     // index of the current stage
	TargetRate float64 // scheduled requests per second now
	Sent       int64
	OK         int64
	Errors     int64
	Dropped    int64
	InFlight   int64
	Done       bool
}

// New validates cfg and prepares a driver. A Driver runs once.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	cfg.Target = strings.TrimRight(cfg.Target, "/")
	d := &Driver{cfg: cfg, sched: newSchedule(cfg.Stages), client: cfg.Client}
	if d.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// The default keeps 2 idle connections per host; at hundreds of requests per
		// second the rest would be closed and redialled, exhausting ephemeral ports.
		t.MaxIdleConnsPerHost = cfg.MaxInFlight
		t.MaxIdleConns = cfg.MaxInFlight
		d.client = &http.Client{Timeout: 30 * time.Second, Transport: t}
		d.owned = true
	}
	return d, nil
}

// Run validates cfg and runs it to the end of its schedule or until ctx is done.
func Run(ctx context.Context, cfg Config) (Result, error) {
	d, err := New(cfg)
	if err != nil {
		return Result{}, err
	}
	return d.Run(ctx)
}

// Run fires requests on schedule until the last stage ends, then waits for the open
// ones. When ctx is cancelled it stops sending, the open requests fail (and count as
// errors), and it returns the counts so far with ctx's error.
func (d *Driver) Run(ctx context.Context) (Result, error) {
	if !d.ran.CompareAndSwap(false, true) {
		return Result{}, errors.New("load: driver already ran")
	}
	if d.owned {
		defer d.client.CloseIdleConnections()
	}
	start := time.Now()
	d.started.Store(start.UnixNano())

	slots := make(chan struct{}, d.cfg.MaxInFlight)
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var runErr error
loop:
	for k := int64(1); ; k++ {
		at, ok := d.sched.arrival(k)
		if !ok {
			break
		}
		if wait := time.Until(start.Add(at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				runErr = ctx.Err()
				break loop
			case <-timer.C:
			}
		} else if err := ctx.Err(); err != nil {
			runErr = err
			break loop
		}
		select {
		case slots <- struct{}{}:
		default:
			// Open-loop: a request that cannot be sent on time is not sent late.
			d.dropped.Add(1)
			continue
		}
		d.sent.Add(1)
		d.inFlight.Add(1)
		path := d.cfg.Paths[int((k-1)%int64(len(d.cfg.Paths)))]
		wg.Go(func() {
			defer func() { <-slots; d.inFlight.Add(-1) }()
			if d.do(ctx, path) {
				d.ok.Add(1)
			} else {
				d.errs.Add(1)
			}
		})
	}
	wg.Wait()
	d.finished.Store(time.Now().UnixNano())
	return Result{
		Sent:    d.sent.Load(),
		OK:      d.ok.Load(),
		Errors:  d.errs.Load(),
		Dropped: d.dropped.Load(),
		Elapsed: time.Since(start),
	}, runErr
}

// do sends one request and reports whether it got a 2xx answer.
func (d *Driver) do(ctx context.Context, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.cfg.Target+path, nil)
	if err != nil {
		return false
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return false
	}
	// Drain (bounded) so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Snapshot reads the progress counters without stopping the run. Counters are read one
// by one, so a snapshot taken mid-run may be off by the requests finishing meanwhile.
func (d *Driver) Snapshot() Snapshot {
	s := Snapshot{
		Sent:     d.sent.Load(),
		OK:       d.ok.Load(),
		Errors:   d.errs.Load(),
		Dropped:  d.dropped.Load(),
		InFlight: d.inFlight.Load(),
	}
	started := d.started.Load()
	if started == 0 {
		return s
	}
	end := time.Now().UnixNano()
	if f := d.finished.Load(); f != 0 {
		end = f
		s.Done = true
	}
	s.Elapsed = time.Duration(end - started)
	if s.Done {
		s.Stage = len(d.cfg.Stages) - 1
	} else {
		s.TargetRate, s.Stage = d.sched.rateAt(s.Elapsed)
	}
	return s
}
