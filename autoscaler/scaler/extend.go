package scaler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/core/store"
)

// extendable is the loop's scale-up in flight on a service, if its target
// may still be raised: level control only — under alerts_only an action is
// one answer to one alert.
func (s *Scaler) extendable(name string) *running {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.running[name]
	if r == nil || !r.up {
		return nil
	}
	if p := s.service(name); p == nil || p.Control != policy.Level {
		return nil
	}
	return r
}

// extend evaluates a service whose scale-up is still provisioning, as HPA
// does with its desired count: the decision is taken at the level already
// asked for, and if it calls for more, the in-flight event's target is
// raised — in the event first, then at the actuator. Scale-downs wait for
// the action to finish; nothing is ever lowered in flight.
func (s *Scaler) extend(ctx context.Context, ss *svcState, name string, r *running, received time.Time) Result {
	res := Result{Service: name}
	if !s.leaseValid() {
		// No new actuator call while the lease may have lapsed.
		res.Output.Outcome = decision.InProgress
		return res
	}
	now := s.cfg.Now()
	g, err := s.gather(ctx, name)
	if err != nil {
		res.Err = err
		s.cfg.Metrics.evaluationErrors.WithLabelValues(name).Inc()
		return res
	}
	p := g.p
	res.Current, res.Observations = g.cur, g.obs
	s.mu.Lock()
	level := r.level
	s.mu.Unlock()
	in, notes := ss.ctl.Gather(p, now, level, g.obs, s.pol().SyncPeriod.D(), s.gapAfter())
	in.SLOBreached = sloBreached(g.alerts)
	in.Ready = g.level // what serves now; utilization is measured over it
	out := decision.Decide(p, in)
	if out.Outcome == decision.Scale && out.Target > level {
		if in, err = s.refresh(ctx, ss, p, name, in); err != nil {
			res.Err = err
			return res
		}
		out = decision.Decide(p, in)
	}
	ss.ctl.Record(p, now, out)
	s.cfg.Metrics.observe(name, p, g.level, out, notes, &ss.ctl.Tracker)
	res.Notes = notes
	if out.Outcome != decision.Scale || out.Target <= level || s.cfg.DryRun {
		res.Output = decision.Output{Outcome: decision.InProgress, Reactive: out.Reactive, Predicted: out.Predicted, Raw: out.Raw,
			Target: level, Reason: "action in progress to " + fmt.Sprint(level) + "; " + out.Reason}
		return res
	}
	if v := s.budgetCheck(ctx, p, name, level, &out, in.SLOBreached); out.Outcome != decision.Scale {
		res.Output = out
		return res
	} else if len(v.over) > 0 {
		out.Reason += " (over budget: SLO breached)"
	}
	var before actuator.State
	_ = json.Unmarshal(r.ev.Before, &before)
	from, _ := levelOf(p, before)
	target := s.state(p, out.Target)
	note := fmt.Sprintf("raised to %s while provisioning: %s", target, out.Reason)
	ev, err := s.cfg.Store.ExtendEvent(ctx, r.ev.ID, mustJSON(target), costDelta(p, from, out.Target), note)
	if err != nil {
		// Finished meanwhile (or the database is away): the next
		// evaluation decides afresh.
		res.Err = err
		res.Output.Outcome = decision.InProgress
		return res
	}
	s.mu.Lock()
	r.level = out.Target
	s.mu.Unlock()
	// Logged above; now the action's own goroutine applies it. The channel
	// holds the latest target only.
	select {
	case <-r.extend:
	default:
	}
	r.extend <- target
	ss.ctl.Acted(p, now, level, out.Target)
	s.cfg.Metrics.decisions.WithLabelValues(name, string(out.Outcome)).Inc()
	s.cfg.Logger.Info("scaling: target raised in flight", "service", name, "event_id", ev.ID, "from", level, "to", out.Target, "reason", out.Reason)
	inputs := mustJSON(map[string]any{"observations": g.obs, "decision": out, "forecasts": notes.Forecasts, "lead_seconds": notes.Lead.Seconds(),
		"extended_from": level})
	s.record(ctx, store.Decision{Service: name, Outcome: string(out.Outcome), Action: store.EventScaleUp, Current: mustJSON(s.state(p, level)),
		Desired: mustJSON(target), Inputs: inputs, Reason: note, EventID: ev.ID})
	if !received.IsZero() {
		s.cfg.Metrics.decisionLatency.Observe(time.Since(received).Seconds())
	}
	res.Output, res.Event = out, &ev
	return res
}
