package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
)

// Growth is what the growth routes act through (the scaler).
type Growth interface {
	ActivePhase(ctx context.Context) (store.Phase, error)
	Transition(ctx context.Context, to store.Phase, user string, dryRun bool) (store.Event, scaler.Plan, error)
	ValidatePhaseConfig(raw []byte) error
	ReloadPhase(ctx context.Context) error
}

var _ Growth = (*scaler.Scaler)(nil)

// usersQuery reads the user count the exporter publishes.
const usersQuery = `max(wedsync_users{state="total"})`

func (s *Server) currentPhase(r *request) (int, any, error) {
	ph, err := s.cfg.Growth.ActivePhase(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	phases, err := s.cfg.Store.ListPhases(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"phase": viewPhase(ph)}
	for _, p := range phases {
		if p.Order > ph.Order {
			out["next_phase"] = viewPhase(p)
			break
		}
	}
	// Users and progress through the phase, when Prometheus has the count.
	if p, err := s.prometheus(); err == nil {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		defer cancel()
		if v, _, _, err := p.Query(ctx, usersQuery, s.cfg.Now()); err == nil {
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
				users := float64(vec[0].Value)
				out["users"] = users
				if ph.MaxUsers != nil && *ph.MaxUsers > ph.MinUsers {
					out["progress"] = min(1, max(0, (users-float64(ph.MinUsers))/float64(*ph.MaxUsers-ph.MinUsers)))
				}
			}
		}
	}
	return http.StatusOK, out, nil
}

type transitionRequest struct {
	To     string `json:"to"`
	DryRun bool   `json:"dry_run"`
}

func (s *Server) transition(r *request) (int, any, error) {
	var req transitionRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.To == "" {
		return 0, nil, errBadRequest("to", "to: required (a phase name or id)")
	}
	if e := checkLen("to", req.To, maxNameLen); e != nil {
		return 0, nil, e
	}
	return s.transitionTo(r, req.To, req.DryRun)
}

func (s *Server) activatePhase(r *request) (int, any, error) {
	var req struct {
		DryRun bool `json:"dry_run"`
	}
	if len(r.body) > 0 {
		if err := r.decode(&req); err != nil {
			return 0, nil, err
		}
	}
	return s.transitionTo(r, r.PathValue("id"), req.DryRun)
}

func (s *Server) transitionTo(r *request, phase string, dryRun bool) (int, any, error) {
	r.resourceID = phase
	to, err := s.cfg.Store.GetPhase(r.ctx, phase)
	if err != nil {
		return 0, nil, err
	}
	ev, plan, err := s.cfg.Growth.Transition(r.ctx, to, r.actor.Name, dryRun)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"plan": plan, "event": viewEvent(ev, false)}
	if dryRun {
		return http.StatusOK, out, nil
	}
	return http.StatusAccepted, out, nil
}

type configurationRequest struct {
	Phase string `json:"phase"`
	// The phase's JSON columns, stored as sent once they have decoded
	// strictly into the types that read them (scaler.PhaseConfig, targets).
	ScalingConfig         json.RawMessage `json:"scaling_config"`
	PerformanceTargets    json.RawMessage `json:"performance_targets"`
	AutoTransitionEnabled *bool           `json:"auto_transition_enabled"`
	MinUsers              *int            `json:"min_users"`
	MaxUsers              *int            `json:"max_users"`
}

// maxPhaseReplicas bounds any count in a phase configuration; the policy's
// bounds still apply on top (a phase narrows them, never widens them).
const maxPhaseReplicas = 100000

// validate checks the request on its own: strict shapes, ranges, names,
// the users range where both ends are given. The field path is named.
func (req configurationRequest) validate() error {
	if req.Phase == "" {
		return errBadRequest("phase", "phase: required (a phase name or id)")
	}
	if e := checkLen("phase", req.Phase, maxNameLen); e != nil {
		return e
	}
	for field, raw := range map[string]json.RawMessage{"scaling_config": req.ScalingConfig, "performance_targets": req.PerformanceTargets} {
		if len(raw) > 0 && raw[0] != '{' {
			return errBadRequest(field, "%s: must be a JSON object", field)
		}
	}
	if len(req.ScalingConfig) > 0 {
		var cfg scaler.PhaseConfig
		if err := decodeStrict(req.ScalingConfig, &cfg, "scaling_config"); err != nil {
			return err
		}
		if err := validatePhaseConfig(cfg); err != nil {
			return err
		}
	}
	if len(req.PerformanceTargets) > 0 {
		var tg targets
		if err := decodeStrict(req.PerformanceTargets, &tg, "performance_targets"); err != nil {
			return err
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"api_p95_ms", tg.P95Ms}, {"api_p99_ms", tg.P99Ms}, {"error_rate", tg.ErrorRate}} {
			if f.v < 0 {
				return errBadRequest("performance_targets."+f.name, "performance_targets.%s: must not be negative, got %g", f.name, f.v)
			}
		}
		if tg.ErrorRate > 1 {
			return errBadRequest("performance_targets.error_rate", "performance_targets.error_rate: a ratio from 0 to 1, got %g", tg.ErrorRate)
		}
	}
	if req.MinUsers != nil && *req.MinUsers < 0 {
		return errBadRequest("min_users", "min_users: must not be negative, got %d", *req.MinUsers)
	}
	if req.MaxUsers != nil && *req.MaxUsers < 1 {
		return errBadRequest("max_users", "max_users: must be positive, got %d", *req.MaxUsers)
	}
	return nil
}

// validatePhaseConfig checks the ranges of a phase configuration; the
// scaler checks it against the policy (tiers on the ladder).
func validatePhaseConfig(cfg scaler.PhaseConfig) error {
	count := func(field string, v *int) error {
		if v != nil && (*v < 0 || *v > maxPhaseReplicas) {
			return errBadRequest(field, "%s: %d is not a count from 0 to %d", field, *v, maxPhaseReplicas)
		}
		return nil
	}
	for _, name := range sortedKeys(cfg.Services) {
		ps, at := cfg.Services[name], "scaling_config.services."+name
		if !serviceNameRE.MatchString(name) {
			return errBadRequest(at, "%s: %q is not a service name", at, name)
		}
		for _, c := range []struct {
			field string
			v     *int
		}{{".min_replicas", ps.MinReplicas}, {".max_replicas", ps.MaxReplicas}, {".replicas", ps.Replicas}} {
			if err := count(at+c.field, c.v); err != nil {
				return err
			}
		}
		if ps.MinReplicas != nil && ps.MaxReplicas != nil && *ps.MinReplicas > *ps.MaxReplicas {
			return errBadRequest(at+".min_replicas", "%s.min_replicas: %d above max_replicas %d", at, *ps.MinReplicas, *ps.MaxReplicas)
		}
		if e := checkLen(at+".tier", ps.Tier, maxNameLen); e != nil {
			return e
		}
	}
	if db := cfg.Database; db != nil {
		if err := count("scaling_config.database.read_replicas", db.ReadReplicas); err != nil {
			return err
		}
		if e := checkLen("scaling_config.database.compute_tier", db.ComputeTier, maxNameLen); e != nil {
			return e
		}
	}
	for _, name := range sortedKeys(cfg.Workers) {
		at := "scaling_config.workers." + name
		if !serviceNameRE.MatchString(name) {
			return errBadRequest(at, "%s: %q is not a service name", at, name)
		}
		n := cfg.Workers[name]
		if err := count(at, &n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) configuration(r *request) (int, any, error) {
	var req configurationRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := req.validate(); err != nil {
		return 0, nil, err
	}
	r.resourceID = req.Phase
	if len(req.ScalingConfig) > 0 {
		if err := s.cfg.Growth.ValidatePhaseConfig(req.ScalingConfig); err != nil {
			field, _, _ := strings.Cut(err.Error(), ":")
			if strings.ContainsAny(field, " \"") {
				field = "scaling_config"
			}
			return 0, nil, errBadRequest(field, "%v", err)
		}
	}
	ph, err := s.cfg.Store.GetPhase(r.ctx, req.Phase)
	if err != nil {
		return 0, nil, err
	}
	// The users range as it will be, against the stored end not given.
	lo, hi := ph.MinUsers, ph.MaxUsers
	if req.MinUsers != nil {
		lo = *req.MinUsers
	}
	if req.MaxUsers != nil {
		hi = req.MaxUsers
	}
	if hi != nil && *hi <= lo {
		field := "min_users"
		if req.MaxUsers != nil {
			field = "max_users"
		}
		return 0, nil, errBadRequest(field, "%s: phase %s would have min_users %d and max_users %d; max_users must be above min_users", field, ph.Name, lo, *hi)
	}
	updated, err := s.cfg.Store.UpdatePhase(r.ctx, ph.ID, store.PhaseUpdate{ScalingConfig: req.ScalingConfig,
		PerformanceTargets: req.PerformanceTargets, AutoTransitionEnabled: req.AutoTransitionEnabled,
		MinUsers: req.MinUsers, MaxUsers: req.MaxUsers})
	if err != nil {
		return 0, nil, err
	}
	if err := s.cfg.Growth.ReloadPhase(r.ctx); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPhase(updated), nil
}
