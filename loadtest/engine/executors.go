package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wedsync/scaling/loadtest/scenario"
)

// execRun is one entry of the scenarios map being run.
type execRun struct {
	r           *Run
	name        string
	ex          *scenario.Executor
	startOffset time.Duration
	think       time.Duration
	cum         []float64 // cumulative request weights
	groups      [][]int   // per request: sub-metric groups matched by fixed tags
	dyn         [][]int   // per request: groups with status/expected_response filters
	rateAt      func(elapsed time.Duration) float64
}

func (r *Run) newExecRun(name string, ex *scenario.Executor) *execRun {
	x := &execRun{r: r, name: name, ex: ex, startOffset: ex.StartTime.D(), rateAt: func(time.Duration) float64 { return 0 }}
	if ex.ThinkTime != nil {
		x.think = ex.ThinkTime.D()
	}
	total := 0.0
	for i, req := range r.reqs {
		w := 1.0
		if i < len(r.sc.Requests) && r.sc.Requests[i].Weight != nil {
			w = *r.sc.Requests[i].Weight
		}
		total += w
		x.cum = append(x.cum, total)
		tags := map[string]string{"scenario": name}
		for k, v := range r.sc.Tags {
			tags[k] = v
		}
		for k, v := range ex.Tags {
			tags[k] = v
		}
		for k, v := range req.tags {
			tags[k] = v
		}
		var st, dy []int
		for g, grp := range r.groups {
			if m, d := matchStatic(grp.tags, tags); m && d {
				dy = append(dy, g)
			} else if m {
				st = append(st, g)
			}
		}
		x.groups, x.dyn = append(x.groups, st), append(x.dyn, dy)
	}
	if ex.OpenModel() {
		unit := ex.TimeUnit.D().Seconds()
		if ex.Executor == scenario.ConstantArrivalRate {
			rate := float64(*ex.Rate) / unit
			d := ex.Duration.D()
			x.rateAt = func(t time.Duration) float64 {
				if t < 0 || t >= d {
					return 0
				}
				return rate
			}
		} else {
			x.rateAt = func(t time.Duration) float64 {
				if t < 0 {
					return 0
				}
				from := float64(*ex.StartRate)
				for _, st := range ex.Stages {
					d := st.Duration.D()
					to := float64(*st.Target)
					if t < d {
						return (from + (to-from)*float64(t)/float64(max(d, 1))) / unit
					}
					t -= d
					from = to
				}
				return 0
			}
		}
	}
	return x
}

// run waits for the executor's start time, then drives it to its end.
func (x *execRun) run(ctx context.Context, runStart time.Time) {
	startAt := runStart.Add(x.startOffset)
	if !sleepUntil(ctx, startAt) {
		return
	}
	nominal := x.ex.NominalDuration()
	end := startAt.Add(nominal)
	hard, cancel := context.WithDeadline(ctx, end.Add(x.ex.GracefulStop.D()))
	defer cancel()
	switch x.ex.Executor {
	case scenario.ConstantVUs:
		x.constantVUs(hard, end)
	case scenario.RampingVUs:
		x.rampingVUs(hard, startAt, end)
	case scenario.SharedIterations:
		var left atomic.Int64
		left.Store(*x.ex.Iterations)
		x.iterationVUs(hard, end, func(*int64) bool { return left.Add(-1) >= 0 })
	case scenario.PerVUIterations:
		n := *x.ex.Iterations
		x.iterationVUs(hard, end, func(done *int64) bool { *done++; return *done <= n })
	case scenario.ConstantArrivalRate:
		interval := float64(x.ex.TimeUnit.D()) / float64(*x.ex.Rate)
		var k int64
		x.arrivals(hard, startAt, end, func() (time.Duration, bool) {
			off := time.Duration(float64(k) * interval)
			k++
			return off, true
		})
	case scenario.RampingArrivalRate:
		x.arrivals(hard, startAt, end, rampingSchedule(x.ex))
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// vu is a virtual user: its own connections, random source and shard.
type vu struct {
	x      *execRun
	conns  *conns
	rng    *rand.Rand
	shard  *shard
	sample sample
	timer  *time.Timer
	stop   func() bool
}

func (x *execRun) newVU(ctx context.Context) *vu {
	r := x.r
	seq := r.shardSeq.Add(1)
	v := &vu{x: x, conns: newConns(len(r.hosts)), rng: rand.New(rand.NewPCG(uint64(seq), uint64(time.Now().UnixNano()))),
		shard: r.shards[int(seq)%len(r.shards)]}
	v.sample.scenario = x.name
	v.stop = context.AfterFunc(ctx, v.conns.abort)
	return v
}

func (v *vu) close() {
	v.stop()
	v.conns.abort()
	if v.timer != nil {
		v.timer.Stop()
	}
}

func (v *vu) pick() int {
	cum := v.x.cum
	if len(cum) == 1 {
		return 0
	}
	f := v.rng.Float64() * cum[len(cum)-1]
	return sort.SearchFloat64s(cum, f)
}

// iterate sends one request and records it. Open models pass the scheduled
// time, closed ones the send time. An interrupted request (the run or the
// VU was stopped) is not recorded: it has no honest latency.
func (v *vu) iterate(ctx context.Context, from time.Time, withIteration bool) bool {
	i := v.pick()
	if i >= len(v.x.r.reqs) {
		i = len(v.x.r.reqs) - 1
	}
	req := v.x.r.reqs[i]
	o := v.x.r.client.do(ctx, v.conns, req)
	end := time.Now()
	if ctx.Err() != nil || o.err == errInterrupted {
		return false
	}
	sm := &v.sample
	sm.latencyUs = int64(end.Sub(from) / time.Microsecond)
	sm.status, sm.sent, sm.recv = o.status, o.sent, o.recv
	sm.failed = o.err != nil || o.status < 200 || o.status >= 400
	sm.groups, sm.dyn = v.x.groups[i], v.x.dyn[i]
	v.shard.record(sm, v.x.r.groups)
	if withIteration {
		v.shard.recordIteration(sm.latencyUs)
	}
	return true
}

// pause sleeps for the think time; false if the VU must stop meanwhile.
func (v *vu) pause(ctx context.Context, stop <-chan struct{}, end time.Time) bool {
	d := v.x.think
	if left := time.Until(end); left < d {
		return false
	}
	if v.timer == nil {
		v.timer = time.NewTimer(d)
	} else {
		v.timer.Reset(d)
	}
	select {
	case <-v.timer.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	return false
}

// loop is a closed-model VU: iterate, think, repeat, until end, stop, or
// its budget says no.
func (x *execRun) loop(ctx context.Context, v *vu, end time.Time, stop <-chan struct{}, budget func(*int64) bool) {
	var done int64
	for time.Now().Before(end) {
		select {
		case <-stop:
			return
		default:
		}
		if budget != nil && !budget(&done) {
			return
		}
		t0 := time.Now()
		if !v.iterate(ctx, t0, x.think == 0) {
			return
		}
		if x.think > 0 {
			if !v.pause(ctx, stop, end) {
				return
			}
			v.shard.recordIteration(int64(time.Since(t0) / time.Microsecond))
		}
	}
}

func (x *execRun) startVU(ctx context.Context, wg *sync.WaitGroup, fn func(v *vu)) {
	wg.Add(1)
	x.r.active.Add(1)
	go func() {
		defer wg.Done()
		defer x.r.active.Add(-1)
		v := x.newVU(ctx)
		defer v.close()
		fn(v)
	}()
}

func (x *execRun) constantVUs(ctx context.Context, end time.Time) {
	var wg sync.WaitGroup
	n := *x.ex.VUs
	x.r.allocated.Add(n)
	for range n {
		x.startVU(ctx, &wg, func(v *vu) { x.loop(ctx, v, end, nil, nil) })
	}
	wg.Wait()
}

func (x *execRun) iterationVUs(ctx context.Context, end time.Time, budget func(*int64) bool) {
	var wg sync.WaitGroup
	n := *x.ex.VUs
	x.r.allocated.Add(n)
	for range n {
		x.startVU(ctx, &wg, func(v *vu) { x.loop(ctx, v, end, nil, budget) })
	}
	wg.Wait()
}

// rampingVUs starts and stops VUs every 50 ms to follow the stages. A VU
// told to stop finishes its request within gracefulRampDown.
func (x *execRun) rampingVUs(ctx context.Context, startAt, end time.Time) {
	x.r.allocated.Add(x.ex.PeakVUs())
	type handle struct {
		stop   chan struct{}
		cancel context.CancelFunc
	}
	var wg sync.WaitGroup
	var active []handle
	ramp := x.ex.GracefulRampDown.D()
	target := func(t time.Duration) int64 {
		from := float64(*x.ex.StartVUs)
		for _, st := range x.ex.Stages {
			d := st.Duration.D()
			to := float64(*st.Target)
			if t < d {
				return int64(math.Floor(from + (to-from)*float64(t)/float64(max(d, 1))))
			}
			t -= d
			from = to
		}
		return int64(from)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		want := target(now.Sub(startAt))
		for int64(len(active)) < want {
			vctx, cancel := context.WithCancel(ctx)
			h := handle{stop: make(chan struct{}), cancel: cancel}
			active = append(active, h)
			x.startVU(vctx, &wg, func(v *vu) { defer cancel(); x.loop(vctx, v, end, h.stop, nil) })
		}
		for int64(len(active)) > want {
			h := active[len(active)-1]
			active = active[:len(active)-1]
			close(h.stop)
			time.AfterFunc(ramp, h.cancel)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			wg.Wait()
			return
		}
	}
	wg.Wait()
	for _, h := range active {
		h.cancel()
	}
}

// arrivals is the open model: iterations start on a timeline, whatever the
// target does. Each is handed to an idle VU; without one, a new VU is
// allocated up to maxVUs, and beyond that the iteration is dropped — never
// queued, so no latency is ever invented or hidden.
func (x *execRun) arrivals(ctx context.Context, startAt, end time.Time, next func() (time.Duration, bool)) {
	work := make(chan time.Time)
	var wg sync.WaitGroup
	var allocated int64
	maxVUs := *x.ex.MaxVUs
	spawn := func(first time.Time) {
		allocated++
		x.r.allocated.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := x.newVU(ctx)
			defer v.close()
			if !first.IsZero() {
				x.r.active.Add(1)
				v.iterate(ctx, first, true)
				x.r.active.Add(-1)
			}
			for at := range work {
				x.r.active.Add(1)
				v.iterate(ctx, at, true)
				x.r.active.Add(-1)
			}
		}()
	}
	for range *x.ex.PreAllocatedVUs {
		spawn(time.Time{})
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	dropShard := x.r.shards[0]
loop:
	for {
		off, ok := next()
		at := startAt.Add(off)
		if !ok || !at.Before(end) {
			break
		}
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case work <- at:
		default:
			if allocated < maxVUs {
				spawn(at)
			} else {
				dropShard.recordDropped()
			}
		}
	}
	close(work)
	wg.Wait()
}

// rampingSchedule yields the arrival times of a ramping-arrival-rate
// executor: the k-th arrival is when the integral of the piecewise-linear
// rate reaches k.
func rampingSchedule(ex *scenario.Executor) func() (time.Duration, bool) {
	unit := ex.TimeUnit.D().Seconds()
	type seg struct {
		start, dur, r0, r1, n0, n1 float64
	}
	var segs []seg
	t, n, r := 0.0, 0.0, float64(*ex.StartRate)/unit
	for _, st := range ex.Stages {
		d := st.Duration.D().Seconds()
		r1 := float64(*st.Target) / unit
		n1 := n + (r+r1)/2*d
		segs = append(segs, seg{t, d, r, r1, n, n1})
		t, n, r = t+d, n1, r1
	}
	k := 0.0
	if *ex.StartRate == 0 {
		k = 1
	}
	i := 0
	return func() (time.Duration, bool) {
		for i < len(segs) && k > segs[i].n1 {
			i++
		}
		if i >= len(segs) {
			return 0, false
		}
		s := segs[i]
		need := k - s.n0
		var tau float64
		a := (s.r1 - s.r0) / (2 * math.Max(s.dur, 1e-9))
		if math.Abs(a) < 1e-12 {
			if s.r0 > 0 {
				tau = need / s.r0
			}
		} else {
			disc := s.r0*s.r0 + 4*a*need
			tau = (-s.r0 + math.Sqrt(math.Max(disc, 0))) / (2 * a)
		}
		tau = math.Min(math.Max(tau, 0), s.dur)
		k++
		return time.Duration((s.start + tau) * float64(time.Second)), true
	}
}
