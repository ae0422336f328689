package plugin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// growthPhases lists the phases in order, the active one marked, with the
// performance targets each holds the platform to.
func (d *Datasource) growthPhases(ctx context.Context, q query) (data.Frames, error) {
	var m models.GrowthQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	phases, err := st.ListPhases(ctx)
	if err != nil {
		return nil, err
	}
	n := len(phases)
	name, desc, cfg := strs(n), strs(n), strs(n)
	order, minU := make([]int64, n), make([]int64, n)
	maxU := make([]*int64, n)
	active, auto := make([]bool, n), make([]bool, n)
	activated := make([]*time.Time, n)
	p95, errRate := make([]*float64, n), make([]*float64, n)
	for i, p := range phases {
		name[i], desc[i], cfg[i] = p.Name, p.Description, compactJSON(p.ScalingConfig)
		order[i], minU[i], active[i], auto[i], activated[i] = int64(p.Order), int64(p.MinUsers), p.Active, p.AutoTransitionEnabled, utcPtr(p.ActivatedAt)
		if p.MaxUsers != nil {
			v := int64(*p.MaxUsers)
			maxU[i] = &v
		}
		var t struct {
			P95   *float64 `json:"api_p95_ms"`
			Error *float64 `json:"error_rate"`
		}
		_ = json.Unmarshal(p.PerformanceTargets, &t)
		p95[i], errRate[i] = t.P95, t.Error
	}
	f := data.NewFrame("growth_phases",
		data.NewField("phase", nil, name),
		data.NewField("order", nil, order),
		data.NewField("min_users", nil, minU),
		data.NewField("max_users", nil, maxU),
		data.NewField("active", nil, active),
		data.NewField("auto_transition", nil, auto),
		data.NewField("activated_at", nil, activated),
		data.NewField("target_p95_ms", nil, p95).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("target_error_rate", nil, errRate).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("scaling_config", nil, cfg),
		data.NewField("description", nil, desc),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}

// growthProgress is one row: the active phase, the users counted and how
// far they are through it (above 1 once beyond it). Users come from the
// newest "users" capacity sample (the exporter records it), else from the
// control-plane API, which reads Prometheus.
func (d *Datasource) growthProgress(ctx context.Context, q query) (data.Frames, error) {
	var m models.GrowthQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	phases, err := st.ListPhases(ctx)
	if err != nil {
		return nil, err
	}
	var phase, next string
	var minU int64
	var maxU *int64
	found := false
	for _, p := range phases {
		if found && next == "" {
			next = p.Name
		}
		if p.Active {
			phase, minU, found = p.Name, int64(p.MinUsers), true
			if p.MaxUsers != nil {
				v := int64(*p.MaxUsers)
				maxU = &v
			}
		}
	}
	if !found {
		return nil, badQueryf("no growth phase is active")
	}
	var users *float64
	source := ""
	samples, err := st.LatestCapacitySamples(ctx, "users", "")
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		if users == nil || s.Used > *users {
			v := s.Used
			users, source = &v, "capacity_metrics"
		}
	}
	if users == nil {
		if api, err := d.controlPlane(); err == nil {
			var cur struct {
				Users *float64 `json:"users"`
			}
			if err := api.getJSON(ctx, "/api/admin/growth/current-phase", &cur); err == nil && cur.Users != nil {
				users, source = cur.Users, "control-plane API"
			}
		}
	}
	var progress *float64
	if users != nil && maxU != nil && *maxU > minU {
		v := max(0, (*users-float64(minU))/float64(*maxU-minU))
		progress = &v
	}
	f := data.NewFrame("growth_progress",
		data.NewField("phase", nil, []string{phase}),
		data.NewField("users", nil, []*float64{users}),
		data.NewField("min_users", nil, []int64{minU}),
		data.NewField("max_users", nil, []*int64{maxU}),
		data.NewField("progress", nil, []*float64{progress}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("next_phase", nil, []string{next}),
		data.NewField("users_source", nil, []string{source}),
	)
	return data.Frames{f}, nil
}
