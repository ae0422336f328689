package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/autoscaler/capacity"
	"github.com/wedsync/scaling/core/store"
)

// Planner forecasts capacity (package capacity).
type Planner interface {
	Forecasts(ctx context.Context) ([]capacity.Forecast, error)
}

// Plans stores capacity plans.
type Plans interface {
	SaveCapacityPlan(ctx context.Context, p store.CapacityPlan) (store.CapacityPlan, error)
}

func (s *Server) capacityForecast(r *request) (int, any, error) {
	fs, err := s.cfg.Planner.Forecasts(r.ctx)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	return http.StatusOK, map[string]any{"horizon_days": 90, "forecasts": fs}, nil
}

type capacityAdvice struct {
	Resource   string   `json:"resource"`
	Service    string   `json:"service,omitempty"`
	Exhaustion *string  `json:"exhaustion_date"`
	ExhaustsIn *float64 `json:"exhausts_in_days,omitempty"`
	Priority   string   `json:"priority"`
	Advice     string   `json:"advice"`
}

// capacityRecommendations: what to buy, soonest first.
func (s *Server) capacityRecommendations(r *request) (int, any, error) {
	fs, err := s.cfg.Planner.Forecasts(r.ctx)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	out := []capacityAdvice{}
	for _, f := range fs {
		if f.Advice == "" {
			continue
		}
		a := capacityAdvice{Resource: f.Resource, Service: f.Service, Exhaustion: f.Exhaustion, ExhaustsIn: f.ExhaustsIn, Advice: f.Advice, Priority: "low"}
		if f.ExhaustsIn != nil {
			switch d := *f.ExhaustsIn; {
			case d < 14:
				a.Priority = "critical"
			case d < 30:
				a.Priority = "high"
			default:
				a.Priority = "medium"
			}
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return days(out[i].ExhaustsIn) < days(out[j].ExhaustsIn) })
	return http.StatusOK, page[capacityAdvice]{Items: out}, nil
}

func days(d *float64) float64 {
	if d == nil {
		return 1e9
	}
	return *d
}

type planRequest struct {
	Name string `json:"name"`
}

// capacityPlan stores the current forecasts and advice as a named plan.
func (s *Server) capacityPlan(r *request) (int, any, error) {
	var req planRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name == "" {
		return 0, nil, errBadRequest("name", "name: required")
	}
	if e := checkLen("name", req.Name, maxNameLen); e != nil {
		return 0, nil, e
	}
	fs, err := s.cfg.Planner.Forecasts(r.ctx)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	body, err := json.Marshal(map[string]any{"forecasts": fs})
	if err != nil {
		return 0, nil, err
	}
	p, err := s.cfg.Plans.SaveCapacityPlan(r.ctx, store.CapacityPlan{Name: req.Name, Horizon: "90d", Plan: body, CreatedBy: r.actor.Name})
	if err != nil {
		return 0, nil, err
	}
	r.resourceID = p.ID
	return http.StatusCreated, p, nil
}

// growthProjections: the users forecast, and when it reaches each next
// phase's threshold.
func (s *Server) growthProjections(r *request) (int, any, error) {
	fs, err := s.cfg.Planner.Forecasts(r.ctx)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	phases, err := s.cfg.Store.ListPhases(r.ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, f := range fs {
		if f.Resource != "users" {
			continue
		}
		type crossing struct {
			Phase    string  `json:"phase"`
			MinUsers int     `json:"min_users"`
			Date     *string `json:"date"` // within the horizon, else null
		}
		var cross []crossing
		for _, p := range phases {
			if float64(p.MinUsers) <= f.Current {
				continue
			}
			c := crossing{Phase: p.Name, MinUsers: p.MinUsers}
			for _, pt := range f.Points {
				if pt.Value >= float64(p.MinUsers) {
					d := pt.Date
					c.Date = &d
					break
				}
			}
			cross = append(cross, c)
		}
		return http.StatusOK, map[string]any{"users": f, "phase_crossings": cross}, nil
	}
	return 0, nil, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "no user history in Prometheus (wedsync_users from the exporter)"}
}

// scalingCapacity: current usage against limits, from the exporter's
// capacity series and the autoscaler's replicas.
func (s *Server) scalingCapacity(r *request) (int, any, error) {
	p, err := s.prometheus()
	if err != nil {
		return 0, nil, err
	}
	now := s.cfg.Now()
	type resource struct {
		Resource    string   `json:"resource"`
		Service     string   `json:"service"`
		Unit        string   `json:"unit"`
		Used        float64  `json:"used"`
		Limit       *float64 `json:"limit"`
		Utilization *float64 `json:"utilization"`
	}
	q := func(expr string) (model.Vector, error) {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		defer cancel()
		v, _, _, err := p.Query(ctx, expr, now)
		if err != nil {
			return nil, unavailable(err)
		}
		vec, _ := v.(model.Vector)
		return vec, nil
	}
	used, err := q(`max by (resource, service, unit) (wedsync_capacity_used)`)
	if err != nil {
		return 0, nil, err
	}
	limits, err := q(`max by (resource, service, unit) (wedsync_capacity_limit)`)
	if err != nil {
		return 0, nil, err
	}
	lim := map[string]float64{}
	for _, l := range limits {
		lim[l.Metric.String()] = float64(l.Value)
	}
	out := []resource{}
	for _, u := range used {
		x := resource{Resource: string(u.Metric["resource"]), Service: string(u.Metric["service"]), Unit: string(u.Metric["unit"]), Used: float64(u.Value)}
		if l, ok := lim[u.Metric.String()]; ok && l > 0 {
			util := x.Used / l
			x.Limit, x.Utilization = &l, &util
		}
		out = append(out, x)
	}
	reps, err := q(`max by (service) (wedsync_autoscaler_replicas)`)
	if err != nil {
		return 0, nil, err
	}
	for _, rv := range reps {
		svc := string(rv.Metric["service"])
		x := resource{Resource: "replicas", Service: svc, Unit: "replicas", Used: float64(rv.Value)}
		if hi, ok := s.cfg.Scaler.MaxReplicas(svc); ok {
			l := float64(hi)
			util := x.Used / l
			x.Limit, x.Utilization = &l, &util
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource+out[i].Service < out[j].Resource+out[j].Service })
	return http.StatusOK, page[resource]{Items: out}, nil
}

func unavailable(err error) error {
	if _, ok := err.(*apiError); ok {
		return err
	}
	msg := fmt.Sprintf("%v", err)
	if errors.Is(err, store.ErrUnavailable) || leaksDatabase(msg) {
		msg = "database unavailable, retry later" // never the database's own text
	}
	return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: msg}
}
