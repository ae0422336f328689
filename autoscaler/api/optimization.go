package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
)

// Recommendations is the store's part the optimization routes use.
type Recommendations interface {
	ListRecommendations(ctx context.Context, f store.RecommendationFilter) ([]store.Recommendation, error)
	GetRecommendation(ctx context.Context, id string) (store.Recommendation, error)
	MoveRecommendation(ctx context.Context, id string, from []string, to, by, eventID string) (store.Recommendation, error)
	RejectRecommendation(ctx context.Context, id, by, reason string) (store.Recommendation, error)
	CompleteRecommendation(ctx context.Context, id, by string) (store.Recommendation, error)
	RecommendationImpact(ctx context.Context) ([]store.ImpactSummary, error)
	PolicyOverrides(ctx context.Context) ([]store.PolicyOverride, error)
	DeletePolicyOverride(ctx context.Context, service string) (store.PolicyOverride, error)
}

var _ Recommendations = (*store.Store)(nil)

func (s *Server) listRecommendations(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 90*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	limit, err := r.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	status, err := r.oneOf("status", store.RecommendationStatuses...)
	if err != nil {
		return 0, nil, err
	}
	typ, err := r.oneOf("recommendation_type", "rightsizing", "idle_resource", "caching", "queue_workers", "database_tier", "reserved_capacity")
	if err != nil {
		return 0, nil, err
	}
	recs, err := s.cfg.Recommendations.ListRecommendations(r.ctx, store.RecommendationFilter{Status: status, Type: typ,
		Service: r.URL.Query().Get("service"), From: from, To: to, Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	if recs == nil {
		recs = []store.Recommendation{}
	}
	return http.StatusOK, page[store.Recommendation]{Items: recs}, nil
}

func (s *Server) approveRecommendation(r *request) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	if err := r.noBody(); err != nil {
		return 0, nil, err
	}
	if !isUUID(id) {
		return 0, nil, errNotFound("recommendation %s: not found", id)
	}
	rec, err := s.cfg.Recommendations.MoveRecommendation(r.ctx, id, []string{"pending"}, "approved", r.actor.Name, "")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

// implementRecommendation carries out an approved recommendation. One an
// actuator can carry out runs as an `optimization` scaling event under the
// usual limits (202); it becomes implemented only when that event completes
// at the recommended target — a failed or rate-limited action leaves it
// approved with the error in last_error (the event's close settles it, in
// the store). A rightsizing's bounds become the service's policy override
// then, so that the next evaluation keeps the change instead of undoing it.
// A cache, or a target the service is already at, is implemented at once
// (200). Implementing one already implemented, or being implemented,
// answers with it as it is: twice is once.
func (s *Server) implementRecommendation(r *request) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	if err := r.noBody(); err != nil {
		return 0, nil, err
	}
	if !isUUID(id) {
		return 0, nil, errNotFound("recommendation %s: not found", id)
	}
	rec, err := s.cfg.Recommendations.GetRecommendation(r.ctx, id)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case rec.Status == "implemented":
		return http.StatusOK, rec, nil
	case rec.Status == "approved" && rec.Implementing:
		return http.StatusAccepted, rec, nil
	case rec.Status != "approved":
		return 0, nil, errConflict(rec.Status, "recommendation %s is %s; only an approved one is implemented", id, rec.Status)
	}
	cfg, err := store.ParseRecommendedConfig(rec.RecommendedConfig)
	if err != nil {
		// The generator wrote something this cannot carry out: not the
		// caller's input, and not to be guessed at.
		return 0, nil, errConflict("unimplementable", "recommendation %s: %v", id, err)
	}
	if !cfg.Actionable() {
		rec, err = s.cfg.Recommendations.CompleteRecommendation(r.ctx, id, r.actor.Name)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rec, nil
	}
	target := actuator.State{Tier: cfg.Tier}
	if cfg.Replicas != nil {
		target.Replicas = *cfg.Replicas
	}
	t := scaler.Trigger{Target: &target, Optimization: true, User: r.actor.Name, Reason: rec.Title, Recommendation: id}
	if !cfg.Bounds.IsZero() {
		t.Bounds = &cfg.Bounds
	}
	ev, err := s.cfg.Scaler.Trigger(r.ctx, rec.Service, t)
	switch {
	case errors.Is(err, scaler.ErrAtTarget):
		rec, err = s.cfg.Recommendations.CompleteRecommendation(r.ctx, id, r.actor.Name)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rec, nil
	case errors.Is(err, scaler.ErrBadTarget):
		return 0, nil, errConflict("unimplementable", "recommendation %s: %v", id, err)
	case errors.Is(err, store.ErrBusy):
		// A concurrent implement of the same one won the race: the same.
		if cur, gerr := s.cfg.Recommendations.GetRecommendation(r.ctx, id); gerr == nil && cur.Implementing {
			return http.StatusAccepted, cur, nil
		}
		return 0, nil, err
	case err != nil:
		return 0, nil, err
	}
	// As of the event's write (in whose transaction it was linked): the
	// action may already have ended, which GET tells.
	rec.ScalingEventID, rec.Implementing = ev.ID, true
	return http.StatusAccepted, rec, nil
}

// rejectRecommendation dismisses a pending or approved recommendation; the
// reason is required, so that nobody re-argues it blind.
func (s *Server) rejectRecommendation(r *request) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	var req struct {
		Reason *string `json:"reason"`
	}
	if len(r.body) == 0 {
		return 0, nil, errBadRequest("reason", "reason: required (a JSON body {\"reason\": \"why\"})")
	}
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Reason == nil || strings.TrimSpace(*req.Reason) == "" {
		return 0, nil, errBadRequest("reason", "reason: required (why the recommendation is rejected)")
	}
	reason := strings.TrimSpace(*req.Reason)
	if e := checkText("reason", reason); e != nil {
		return 0, nil, e
	}
	if e := checkLen("reason", reason, maxReasonLen); e != nil {
		return 0, nil, e
	}
	if !isUUID(id) {
		return 0, nil, errNotFound("recommendation %s: not found", id)
	}
	rec, err := s.cfg.Recommendations.RejectRecommendation(r.ctx, id, r.actor.Name, reason)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

// listOverrides shows the bounds implemented rightsizings hold in force.
func (s *Server) listOverrides(r *request) (int, any, error) {
	ovs, err := s.cfg.Recommendations.PolicyOverrides(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, page[store.PolicyOverride]{Items: ovs}, nil
}

// deleteOverride reverts a service to its policy file's (and phase's)
// bounds. The recommendation stays implemented: the revert is its own act,
// in the audit trail.
func (s *Server) deleteOverride(r *request) (int, any, error) {
	svc := r.PathValue("service")
	r.resourceID = svc
	if err := r.noBody(); err != nil {
		return 0, nil, err
	}
	o, err := s.cfg.Recommendations.DeletePolicyOverride(r.ctx, svc)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, o, nil
}

func (s *Server) recommendationImpact(r *request) (int, any, error) {
	sum, err := s.cfg.Recommendations.RecommendationImpact(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	if sum == nil {
		sum = []store.ImpactSummary{}
	}
	return http.StatusOK, map[string]any{"by_status": sum}, nil
}
