package api

import (
	"context"
	"encoding/json"
	"net/http"
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
	RecommendationImpact(ctx context.Context) ([]store.ImpactSummary, error)
}

func (s *Server) listRecommendations(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 90*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	limit, err := r.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	status, err := r.oneOf("status", "pending", "approved", "implemented", "rejected", "expired")
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

// implementRecommendation applies an approved recommendation through the
// actuators, as an `optimization` scaling event under the usual limits. A
// recommendation no actuator can carry out (a cache) is marked implemented
// by the operator's word.
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
	if rec.Status != "approved" {
		return 0, nil, errConflict(rec.Status, "recommendation %s is %s; only an approved one is implemented", id, rec.Status)
	}
	var cfg struct {
		Replicas *int   `json:"replicas"`
		Tier     string `json:"tier"`
		Cache    bool   `json:"cache"`
	}
	if err := json.Unmarshal(rec.RecommendedConfig, &cfg); err != nil {
		return 0, nil, err
	}
	eventID := ""
	status := http.StatusOK
	if !cfg.Cache && (cfg.Replicas != nil || cfg.Tier != "") {
		target := actuator.State{Tier: cfg.Tier}
		if cfg.Replicas != nil {
			target.Replicas = *cfg.Replicas
		}
		ev, err := s.cfg.Scaler.Trigger(r.ctx, rec.Service, scaler.Trigger{Target: &target, Optimization: true, User: r.actor.Name,
			Reason: rec.Title})
		if err != nil {
			return 0, nil, err
		}
		eventID, status = ev.ID, http.StatusAccepted
	}
	rec, err = s.cfg.Recommendations.MoveRecommendation(r.ctx, id, []string{"approved"}, "implemented", r.actor.Name, eventID)
	if err != nil {
		return 0, nil, err
	}
	return status, rec, nil
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
