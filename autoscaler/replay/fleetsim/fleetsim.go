// Package fleetsim is a discrete-time model of the demo fleet
// (demo/fleet): replicas of a few worker slots each, one FIFO queue in front
// of them bounded by a maximum beyond which requests are refused at once,
// scale-down at once and scale-up ready after a provisioning delay. A replay
// runs weeks of simulated time for several strategies, so a tick is O(1):
// the queue is a fluid (exact for the demo's evenly spaced arrivals), and
// for Poisson traffic a stochastic wait is added below capacity from the
// M/M/c Erlang-C tail, halved for near-deterministic service (Allen–Cunneen).
// match_test.go checks the model against the real fleet under real load.
package fleetsim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults mirror demo/fleet.DefaultConfig.
const (
	DefaultCapacityPerReplica = 100 // 5 slots / 50 ms
	DefaultSlotsPerReplica    = 5
	DefaultMaxQueue           = 2000
)

// Arrivals is the arrival process of the simulated traffic.
type Arrivals int

const (
	// Poisson: independent users, as real traffic arrives.
	Poisson Arrivals = iota
	// Uniform: evenly spaced, as the demo's load driver sends them.
	Uniform
)

// Config describes the simulated fleet.
type Config struct {
	CapacityPerReplica float64       // req/s one replica serves at 100 % busy
	SlotsPerReplica    int           // concurrent requests per replica; service time = slots / capacity
	ReadyAfter         time.Duration // provisioning delay of a scale-up
	MaxQueue           int           // waiting requests beyond which arrivals are refused
	Replicas           int           // ready at start
	MaxReplicas        int           // SetDesired outside 1..MaxReplicas is an error
	Arrivals           Arrivals
}

// Validate returns every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if !(c.CapacityPerReplica > 0) || math.IsInf(c.CapacityPerReplica, 0) {
		errs = append(errs, fmt.Errorf("capacity_per_replica: must be a positive number, got %v", c.CapacityPerReplica))
	}
	if c.SlotsPerReplica < 1 {
		errs = append(errs, fmt.Errorf("slots_per_replica: must be at least 1, got %d", c.SlotsPerReplica))
	}
	if c.ReadyAfter < 0 {
		errs = append(errs, fmt.Errorf("ready_after: must not be negative, got %s", c.ReadyAfter))
	}
	if c.MaxQueue < 0 {
		errs = append(errs, fmt.Errorf("max_queue: must not be negative, got %d", c.MaxQueue))
	}
	if c.MaxReplicas < 1 {
		errs = append(errs, fmt.Errorf("max_replicas: must be at least 1, got %d", c.MaxReplicas))
	}
	if c.Replicas < 1 || c.Replicas > c.MaxReplicas {
		errs = append(errs, fmt.Errorf("replicas: must be between 1 and max_replicas (%d), got %d", c.MaxReplicas, c.Replicas))
	}
	if c.Arrivals != Poisson && c.Arrivals != Uniform {
		errs = append(errs, fmt.Errorf("arrivals: unknown process %d", c.Arrivals))
	}
	return errors.Join(errs...)
}

// Fleet is the simulated fleet; not safe for concurrent use.
type Fleet struct {
	cfg     Config
	service float64 // seconds a request holds its slot
	ready   int
	desired int
	pending []batch // scale-ups not ready yet, oldest first
	queue   float64
}

type batch struct {
	readyAt time.Duration
	count   int
}

// New builds a fleet; zero fields take the demo fleet's defaults (except
// Replicas and MaxReplicas, which are required).
func New(c Config) (*Fleet, error) {
	if c.CapacityPerReplica == 0 {
		c.CapacityPerReplica = DefaultCapacityPerReplica
	}
	if c.SlotsPerReplica == 0 {
		c.SlotsPerReplica = DefaultSlotsPerReplica
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return &Fleet{cfg: c, service: float64(c.SlotsPerReplica) / c.CapacityPerReplica, ready: c.Replicas, desired: c.Replicas}, nil
}

// ServiceTime is how long a request holds its slot.
func (f *Fleet) ServiceTime() time.Duration { return time.Duration(f.service * float64(time.Second)) }

// Ready is the ready replicas; Desired the replicas asked for.
func (f *Fleet) Ready() int   { return f.ready }
func (f *Fleet) Desired() int { return f.desired }

// SetDesired asks for n replicas at now, as the demo fleet's admin API
// does: down at once; up in a batch ready after the provisioning delay; a
// lower count cancels the newest pending batches first; the same n twice
// changes nothing.
func (f *Fleet) SetDesired(now time.Duration, n int) error {
	if n < 1 || n > f.cfg.MaxReplicas {
		return fmt.Errorf("set replicas to %d (allowed 1…%d)", n, f.cfg.MaxReplicas)
	}
	f.desired = n
	if n <= f.ready {
		f.pending = nil
		f.ready = n
		return nil
	}
	need, have := n-f.ready, 0
	for _, b := range f.pending {
		have += b.count
	}
	for have > need {
		last := &f.pending[len(f.pending)-1]
		cut := min(last.count, have-need)
		last.count -= cut
		have -= cut
		if last.count == 0 {
			f.pending = f.pending[:len(f.pending)-1]
		}
	}
	if have < need {
		if f.cfg.ReadyAfter == 0 {
			f.ready += need - have
		} else {
			f.pending = append(f.pending, batch{readyAt: now + f.cfg.ReadyAfter, count: need - have})
		}
	}
	return nil
}

// Tick is what happened in one step.
type Tick struct {
	At, Dt                   time.Duration
	Arrived, Served, Refused float64 // requests (fluid)
	Queue                    float64 // waiting at the end of the tick
	Ready, Desired           int
	BusySlotSeconds          float64 // work done: served × service time
	Slots                    int

	queue0  float64 // waiting at the start
	mu      float64 // service rate, req/s
	service float64 // seconds
	maxQ    float64
	// Stochastic wait below capacity: P(W > t) = waitProb · e^(−decay·t).
	waitProb, decay float64
}

// CPU is the busy share of the ready slots in the tick.
func (t Tick) CPU() float64 {
	if t.Slots == 0 || t.Dt <= 0 {
		return 0
	}
	return math.Min(t.BusySlotSeconds/(float64(t.Slots)*t.Dt.Seconds()), 1)
}

// Step advances [now, now+dt) with arrivals at rate (req/s).
func (f *Fleet) Step(now, dt time.Duration, rate float64) Tick {
	for len(f.pending) > 0 && f.pending[0].readyAt <= now {
		f.ready += f.pending[0].count
		f.pending = f.pending[1:]
	}
	rate = math.Max(rate, 0)
	secs := dt.Seconds()
	slots := f.ready * f.cfg.SlotsPerReplica
	mu := float64(slots) / f.service
	t := Tick{At: now, Dt: dt, Arrived: rate * secs, Ready: f.ready, Desired: f.desired, Slots: slots, queue0: f.queue, mu: mu,
		service: f.service, maxQ: float64(f.cfg.MaxQueue)}
	t.Served = math.Min(f.queue+t.Arrived, mu*secs)
	q := f.queue + t.Arrived - t.Served
	if q > t.maxQ {
		t.Refused, q = q-t.maxQ, t.maxQ
	}
	f.queue, t.Queue = q, q
	t.BusySlotSeconds = t.Served * f.service
	if f.cfg.Arrivals == Poisson && rate > 0 && rate < mu && f.queue < 1 {
		t.waitProb = erlangC(slots, rate*f.service)
		t.decay = 2 * (mu - rate)
	}
	return t
}

// erlangC is the probability that an arrival waits in an M/M/c queue with
// c servers and offered load a (in servers), through Erlang B's stable
// recursion.
func erlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(c) * b / (float64(c) - a*(1-b))
}

// subSlices: arrivals within a tick are spread over this many points, for
// the backlog each of them finds.
const subSlices = 4

// Quantile is the q-quantile (0 < q < 1) of request latency over the
// ticks, each weighted by its arrivals: service time + the FIFO wait for the
// backlog found on arrival + the stochastic wait. Refused requests count
// with refusedLatency: 0 mimics the fleet's own histogram (a 503 is
// answered at once), +Inf counts them as failures (SLO accounting). NaN
// when nothing arrived.
func Quantile(ticks []Tick, q float64, refusedLatency float64) float64 {
	var total, refused float64
	hi, lo := 0.0, math.Inf(1)
	queued, tail := false, 0.0
	for i := range ticks {
		t := &ticks[i]
		total += t.Arrived
		refused += t.Refused
		if t.Arrived == 0 {
			continue
		}
		lo = math.Min(lo, t.service)
		w := t.wait(0)
		w = math.Max(w, t.wait(1))
		hi = math.Max(hi, t.service+w)
		if w > 0 {
			queued = true
		}
		tail = math.Max(tail, t.waitProb)
	}
	if total == 0 {
		return math.NaN()
	}
	share := 1 - q // of requests above the quantile
	if refused/total >= share-1e-12 && refusedLatency > hi {
		return refusedLatency
	}
	if !queued && tail < share*1e-3 {
		// No backlog and a negligible stochastic tail: every answered
		// request takes the service time.
		if refused/total > share {
			return math.Min(refusedLatency, lo)
		}
		return lo
	}
	above := func(l float64) float64 {
		var n float64
		for i := range ticks {
			n += ticks[i].above(l)
		}
		if refusedLatency > l {
			n += refused
		}
		return n / total
	}
	// The tail beyond the largest deterministic latency is exponential.
	top := hi
	for _, t := range ticks {
		if t.waitProb > 0 && t.decay > 0 {
			top = math.Max(top, t.service+t.wait(1)+math.Log(math.Max(t.waitProb/(share*1e-3), 1))/t.decay)
		}
	}
	a, b := 0.0, top+1e-9
	if above(a) <= share {
		return a
	}
	for range 40 {
		m := (a + b) / 2
		if above(m) > share {
			a = m
		} else {
			b = m
		}
		if b-a < 1e-4 {
			break
		}
	}
	return b
}

// wait is the FIFO wait of a request arriving at fraction x of the tick.
func (t *Tick) wait(x float64) float64 {
	if t.mu <= 0 {
		return math.Inf(1)
	}
	q := t.queue0 + (t.Arrived-t.mu*t.Dt.Seconds())*x
	return math.Min(math.Max(q, 0), t.maxQ) / t.mu
}

// above counts the tick's answered requests slower than l.
func (t *Tick) above(l float64) float64 {
	answered := t.Arrived - t.Refused
	if answered <= 0 {
		return 0
	}
	var n float64
	w := answered / subSlices
	for k := range subSlices {
		base := t.service + t.wait((float64(k)+0.5)/subSlices)
		switch {
		case l < base:
			n += w
		case t.waitProb > 0:
			n += w * t.waitProb * math.Exp(-t.decay*(l-base))
		}
	}
	return n
}
