package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/live"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// healthPath is the Grafana Live channel path of the health summary.
const healthPath = "health"

// healthSummary is what the live channel carries, one row per tick.
type healthSummary struct {
	At               time.Time
	HealthScore      *float64
	P95Ms            *float64
	ErrorRate        *float64
	Unfinished       *int64
	Events1h         *int64
	FiringCostAlerts *int64
	Phase            string
	Database         string // "ok" or what is wrong
	ControlPlane     string
}

func (h healthSummary) frame() *data.Frame {
	return data.NewFrame("health",
		data.NewField("time", nil, []time.Time{h.At}),
		data.NewField("health_score", nil, []*float64{h.HealthScore}).SetConfig(&data.FieldConfig{Unit: "none", Min: ptr(data.ConfFloat64(0)), Max: ptr(data.ConfFloat64(100))}),
		data.NewField("api_p95_ms", nil, []*float64{h.P95Ms}).SetConfig(&data.FieldConfig{Unit: "ms"}),
		data.NewField("error_rate", nil, []*float64{h.ErrorRate}).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("unfinished_events", nil, []*int64{h.Unfinished}),
		data.NewField("scaling_events_1h", nil, []*int64{h.Events1h}),
		data.NewField("firing_cost_alerts", nil, []*int64{h.FiringCostAlerts}),
		data.NewField("phase", nil, []string{h.Phase}),
		data.NewField("database", nil, []string{h.Database}),
		data.NewField("control_plane", nil, []string{h.ControlPlane}),
	)
}

func ptr[T any](v T) *T { return &v }

// summarize reads the database and the API side by side, each bounded by
// budget, so that one tick never takes longer than the stream's period.
func (d *Datasource) summarize(ctx context.Context, budget time.Duration) healthSummary {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	now := d.now().UTC()
	h := healthSummary{At: now}
	var wg sync.WaitGroup
	wg.Go(func() {
		st, err := d.db()
		if err != nil {
			h.Database = err.Error()
			return
		}
		un, err := st.UnfinishedEvents(ctx)
		if err != nil {
			h.Database = err.Error()
			return
		}
		n1h, err := st.CountScalingEvents(ctx, now.Add(-time.Hour), now.Add(time.Second))
		if err != nil {
			h.Database = err.Error()
			return
		}
		alerts, err := st.ListCostAlerts(ctx, store.CostAlertFilter{Status: "firing", Limit: 1000})
		if err != nil {
			h.Database = err.Error()
			return
		}
		if p, err := st.ActivePhase(ctx); err == nil {
			h.Phase = p.Name
		}
		h.Unfinished, h.Events1h, h.FiringCostAlerts = ptr(int64(len(un))), &n1h, ptr(int64(len(alerts)))
		h.Database = "ok"
	})
	wg.Go(func() {
		api, err := d.controlPlane()
		if err != nil {
			h.ControlPlane = err.Error()
			return
		}
		var m struct {
			HealthScore *float64 `json:"health_score"`
			Services    map[string]struct {
				P95Ms     *float64 `json:"api_p95_ms"`
				ErrorRate *float64 `json:"error_rate"`
			} `json:"services"`
		}
		if err := api.getJSON(ctx, "/api/admin/scaling/metrics", &m); err != nil {
			h.ControlPlane = err.Error()
			return
		}
		h.HealthScore = m.HealthScore
		for _, s := range m.Services {
			if s.P95Ms != nil && !math.IsNaN(*s.P95Ms) && (h.P95Ms == nil || *s.P95Ms > *h.P95Ms) {
				h.P95Ms = s.P95Ms
			}
			if s.ErrorRate != nil && !math.IsNaN(*s.ErrorRate) && (h.ErrorRate == nil || *s.ErrorRate > *h.ErrorRate) {
				h.ErrorRate = s.ErrorRate
			}
		}
		h.ControlPlane = "ok"
	})
	wg.Wait()
	return h
}

// channel is the Live address of this instance's health stream.
func (d *Datasource) channel() string {
	return live.Channel{Scope: live.ScopeDatasource, Namespace: d.uid, Path: healthPath}.String()
}

// healthQuery answers with the summary now and the channel that carries
// the next ones: Grafana subscribes to it and appends each row.
func (d *Datasource) healthQuery(ctx context.Context, q query) (data.Frames, error) {
	var m models.HealthQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	f := d.summarize(ctx, d.settings.StreamInterval()).frame()
	f.SetMeta(&data.FrameMeta{Channel: d.channel()})
	return data.Frames{f}, nil
}

// SubscribeStream allows the health channel only.
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if req.Path != healthPath {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	initial, err := backend.NewInitialFrame(d.summarize(ctx, d.settings.StreamInterval()).frame(), data.IncludeAll)
	if err != nil {
		return nil, err
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK, InitialData: initial}, nil
}

// PublishStream refuses: the channel is the plugin's to write.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream sends the summary every StreamInterval (≤ 5 s) until Grafana
// has no subscriber left and cancels ctx.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	if req.Path != healthPath {
		return fmt.Errorf("unknown stream %q", req.Path)
	}
	every := d.settings.StreamInterval()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := sender.SendFrame(d.summarize(ctx, every).frame(), data.IncludeDataOnly); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("send health frame: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// CheckHealth tests both halves: the database (a read of the control
// plane's schema, not just a ping) and the control-plane API (its health
// route, with the token). The message names exactly what is wrong.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: d.settingsErr.Error()}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var db, api string
	var wg sync.WaitGroup
	wg.Go(func() { db = d.checkDatabase(ctx) })
	wg.Go(func() { api = d.checkAPI(ctx) })
	wg.Wait()
	details := map[string]string{"database": db, "controlPlane": api}
	var problems []string
	for _, k := range []string{"database", "controlPlane"} {
		if !strings.HasPrefix(details[k], "ok") {
			problems = append(problems, details[k])
		}
	}
	problems = append(problems, d.settings.OtherProblems()...)
	body, _ := json.Marshal(details)
	if len(problems) > 0 {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: strings.Join(problems, "; "), JSONDetails: body}, nil
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk,
		Message: "Database " + strings.TrimPrefix(details["database"], "ok: ") + "; control-plane API " + strings.TrimPrefix(details["controlPlane"], "ok: "), JSONDetails: body}, nil
}

func (d *Datasource) checkDatabase(ctx context.Context) string {
	st, err := d.db()
	if err != nil {
		return "database: " + err.Error()
	}
	if err := st.Ping(ctx); err != nil {
		return fmt.Sprintf("database %s:%d/%s: %v", d.settings.Host, d.settings.Port, d.settings.Database, err)
	}
	p, err := st.ActivePhase(ctx)
	if err != nil {
		return fmt.Sprintf("database %s:%d/%s answers but the control plane's schema does not (run wedsync-autoscaler migrate): %v",
			d.settings.Host, d.settings.Port, d.settings.Database, err)
	}
	return fmt.Sprintf("ok: connected, growth phase %s", p.Name)
}

func (d *Datasource) checkAPI(ctx context.Context) string {
	api, err := d.controlPlane()
	if err != nil {
		return err.Error()
	}
	var h struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := api.getJSON(ctx, "/api/admin/scaling/health", &h); err != nil {
		return err.Error()
	}
	if h.Status != "ok" {
		var bad []string
		for _, k := range sortedKeys(h.Checks) {
			if h.Checks[k] != "ok" {
				bad = append(bad, k+": "+h.Checks[k])
			}
		}
		return fmt.Sprintf("ok: reachable, reports %s (%s)", h.Status, strings.Join(bad, "; "))
	}
	return "ok: reachable, token accepted"
}
