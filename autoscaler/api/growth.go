package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
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
	Phase                 string          `json:"phase"`
	ScalingConfig         json.RawMessage `json:"scaling_config"`
	PerformanceTargets    json.RawMessage `json:"performance_targets"`
	AutoTransitionEnabled *bool           `json:"auto_transition_enabled"`
	MinUsers              *int            `json:"min_users"`
	MaxUsers              *int            `json:"max_users"`
}

func (s *Server) configuration(r *request) (int, any, error) {
	var req configurationRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Phase == "" {
		return 0, nil, errBadRequest("phase", "phase: required (a phase name or id)")
	}
	r.resourceID = req.Phase
	for field, raw := range map[string]json.RawMessage{"scaling_config": req.ScalingConfig, "performance_targets": req.PerformanceTargets} {
		if len(raw) > 0 && (raw[0] != '{') {
			return 0, nil, errBadRequest(field, "%s: must be a JSON object", field)
		}
	}
	if len(req.ScalingConfig) > 0 {
		if err := s.cfg.Growth.ValidatePhaseConfig(req.ScalingConfig); err != nil {
			return 0, nil, errBadRequest("scaling_config", "%v", err)
		}
	}
	if req.MinUsers != nil && *req.MinUsers < 0 {
		return 0, nil, errBadRequest("min_users", "min_users: must not be negative")
	}
	ph, err := s.cfg.Store.GetPhase(r.ctx, req.Phase)
	if err != nil {
		return 0, nil, err
	}
	updated, err := s.cfg.Store.UpdatePhase(r.ctx, ph.ID, store.PhaseUpdate{ScalingConfig: req.ScalingConfig,
		PerformanceTargets: req.PerformanceTargets, AutoTransitionEnabled: req.AutoTransitionEnabled,
		MinUsers: req.MinUsers, MaxUsers: req.MaxUsers})
	if errors.Is(err, store.ErrInvalid) {
		return 0, nil, errBadRequest("", "phase %s: %v", req.Phase, err)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := s.cfg.Growth.ReloadPhase(r.ctx); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPhase(updated), nil
}
