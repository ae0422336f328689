package fleet

import "time"

// provision is a batch of replicas asked for by one scale-up, becoming ready together
// when its timer fires, like the pods a Deployment creates for one change of spec.replicas.
type provision struct {
	id    uint64
	count int
	timer *time.Timer
}

// setDesired records n as the desired replica count and moves ready replicas toward it:
// down at once, up through provisioning batches. Repeated calls with the same n are
// no-ops, so a retried admin request cannot double a scale-up.
func (p *pool) setDesired(n int) State {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := p.desired
	p.desired = n
	switch {
	case n <= p.ready:
		// Scale-down removes slots now; in-flight work on them finishes because busy
		// may exceed slots until it drains (dispatchLocked admits nobody meanwhile).
		for _, b := range p.pending {
			b.timer.Stop()
		}
		p.pending = nil
		p.ready = n
	default:
		need := n - p.ready
		have := 0
		for _, b := range p.pending {
			have += b.count
		}
		// Cancel the newest batches first, as a Deployment deletes its youngest
		// not-yet-ready pods first.
		for have > need {
			last := &p.pending[len(p.pending)-1]
			cut := min(last.count, have-need)
			last.count -= cut
			have -= cut
			if last.count == 0 {
				last.timer.Stop()
				p.pending = p.pending[:len(p.pending)-1]
			}
		}
		if have < need {
			p.startProvisionLocked(need - have)
		}
	}
	if from != n {
		p.log.Info("desired replicas changed", "from", from, "to", n, "ready", p.ready)
	}
	return p.stateLocked()
}

func (p *pool) startProvisionLocked(count int) {
	if p.delay == 0 {
		p.ready += count
		p.dispatchLocked()
		return
	}
	p.nextID++
	id := p.nextID
	p.pending = append(p.pending, provision{
		id:    id,
		count: count,
		timer: time.AfterFunc(p.delay, func() { p.provisioned(id) }),
	})
}

// provisioned promotes one batch to ready. The batch may have been trimmed or cancelled
// since its timer was set; then it is gone from pending and nothing happens.
func (p *pool) provisioned(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for i, b := range p.pending {
		if b.id != id {
			continue
		}
		p.pending = append(p.pending[:i], p.pending[i+1:]...)
		p.ready += b.count
		p.dispatchLocked()
		p.log.Info("replicas ready", "added", b.count, "ready", p.ready, "desired", p.desired)
		return
	}
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, b := range p.pending {
		b.timer.Stop()
	}
	p.pending = nil
}
