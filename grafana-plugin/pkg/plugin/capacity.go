package plugin

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/wedsync/scaling/core/forecast"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// capacityHistory is how far back a forecast is fitted, whatever the range.
const capacityHistory = 90 * day

// capacityForecast shows each resource's utilization (use over limit) over
// the range and its forecast for the horizon (3 months by default), fitted
// on daily means by core/forecast; one frame per resource and service.
func (d *Datasource) capacityForecast(ctx context.Context, q query) (data.Frames, error) {
	var m models.CapacityQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	latest, err := st.LatestCapacitySamples(ctx, m.Resource, m.Service)
	if err != nil {
		return nil, err
	}
	end := d.now().UTC()
	if !q.To.IsZero() && q.To.Before(end) {
		end = q.To
	}
	since := end.Add(-capacityHistory)
	if !q.From.IsZero() && q.From.Before(since) {
		since = q.From
	}
	var frames data.Frames
	for _, l := range latest {
		hist, err := st.CapacityHistory(ctx, l.Resource, l.Service, since)
		if err != nil {
			return nil, err
		}
		var times []time.Time
		var util, fc []*float64
		days := map[int64][2]float64{} // day → sum, count
		var order []int64
		for _, h := range hist {
			if h.RecordedAt.After(end) || h.Max <= 0 {
				continue
			}
			u := h.Used / h.Max
			dk := h.RecordedAt.UTC().Truncate(day).Unix()
			if _, ok := days[dk]; !ok {
				order = append(order, dk)
			}
			s := days[dk]
			days[dk] = [2]float64{s[0] + u, s[1] + 1}
			if h.RecordedAt.Before(q.From) {
				continue
			}
			times, util, fc = append(times, h.RecordedAt.UTC()), append(util, &u), append(fc, nil)
		}
		y := make([]float64, len(order))
		for i, dk := range order {
			y[i] = days[dk][0] / days[dk][1]
		}
		f := data.NewFrame(l.Resource + "/" + l.Service)
		if res, err := forecast.Choose(y, forecast.Options{}); err == nil {
			lastDay := time.Unix(order[len(order)-1], 0).UTC()
			if len(fc) > 0 {
				fc[len(fc)-1] = util[len(util)-1]
			}
			for i, v := range res.Forecast(m.Horizon()) {
				v = math.Round(math.Max(0, v)*10000) / 10000
				times, util, fc = append(times, lastDay.AddDate(0, 0, i+1)), append(util, nil), append(fc, &v)
			}
			f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, Custom: map[string]any{"method": res.Method(), "confidence": math.Round(res.Confidence*1000) / 1000}})
		} else {
			f.SetMeta(&data.FrameMeta{Type: data.FrameTypeTimeSeriesWide})
			f.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: l.Resource + "/" + l.Service + ": no forecast: " + err.Error()})
		}
		labels := data.Labels{"resource": l.Resource, "service": l.Service}
		f.Fields = append(f.Fields,
			data.NewField("time", nil, times),
			data.NewField("utilization", labels, util).SetConfig(&data.FieldConfig{Unit: "percentunit", DisplayNameFromDS: l.Resource + " " + l.Service}),
			data.NewField("forecast", labels, fc).SetConfig(&data.FieldConfig{Unit: "percentunit", DisplayNameFromDS: l.Resource + " " + l.Service + " forecast"}),
		)
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		frames = data.Frames{data.NewFrame("capacity_forecast", data.NewField("time", nil, []time.Time{}))}
	}
	return frames, nil
}

// capacityExhaustion is a table of every resource: use, limit, and when
// the limit will be reached — the exporter's projection from the newest
// sample, or one fitted here on the last 90 days when it has none.
func (d *Datasource) capacityExhaustion(ctx context.Context, q query) (data.Frames, error) {
	var m models.CapacityQuery
	if err := decode(q, &m); err != nil {
		return nil, err
	}
	st, err := d.db()
	if err != nil {
		return nil, err
	}
	latest, err := st.LatestCapacitySamples(ctx, m.Resource, m.Service)
	if err != nil {
		return nil, err
	}
	now := d.now().UTC()
	type row struct {
		s      store.CapacitySample
		at     *time.Time
		method string
		conf   *float64
	}
	rows := make([]row, 0, len(latest))
	for _, l := range latest {
		r := row{s: l, at: utcPtr(l.ProjectedExhaustion), method: "exporter"}
		if r.at == nil {
			r.method = "none"
			hist, err := st.CapacityHistory(ctx, l.Resource, l.Service, now.Add(-capacityHistory))
			if err != nil {
				return nil, err
			}
			samples := make([]forecast.Sample, len(hist))
			for i, h := range hist {
				samples[i] = forecast.Sample{At: h.RecordedAt, Value: h.Used}
			}
			e, err := forecast.ExhaustionETA(samples, l.Max)
			switch {
			case err == nil && e.ETA != forecast.Never:
				t := l.RecordedAt.Add(e.ETA).UTC().Truncate(time.Second)
				c := math.Round(e.Confidence*1000) / 1000
				r.at, r.method, r.conf = &t, e.Method, &c
			case err == nil:
				r.method = e.Method
			case errors.Is(err, forecast.ErrTooShort):
				r.method = "too_little_history"
			}
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].at, rows[j].at
		return a != nil && (b == nil || a.Before(*b))
	})
	n := len(rows)
	res, svc, unit, method := strs(n), strs(n), strs(n), strs(n)
	used, limit, util := make([]float64, n), make([]float64, n), make([]float64, n)
	at := make([]*time.Time, n)
	daysLeft, conf := make([]*float64, n), make([]*float64, n)
	recorded := make([]time.Time, n)
	for i, r := range rows {
		res[i], svc[i], unit[i], method[i] = r.s.Resource, r.s.Service, r.s.Unit, r.method
		used[i], limit[i], util[i], recorded[i] = r.s.Used, r.s.Max, r.s.Used/r.s.Max, r.s.RecordedAt.UTC()
		at[i], conf[i] = r.at, r.conf
		if r.at != nil {
			v := math.Max(0, math.Round(r.at.Sub(now).Hours()/24*10)/10)
			daysLeft[i] = &v
		}
	}
	f := data.NewFrame("capacity_exhaustion",
		data.NewField("resource", nil, res),
		data.NewField("service", nil, svc),
		data.NewField("used", nil, used),
		data.NewField("limit", nil, limit),
		data.NewField("unit", nil, unit),
		data.NewField("utilization", nil, util).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("exhaustion_at", nil, at),
		data.NewField("days_left", nil, daysLeft).SetConfig(&data.FieldConfig{Unit: "d"}),
		data.NewField("method", nil, method),
		data.NewField("confidence", nil, conf).SetConfig(&data.FieldConfig{Unit: "percentunit"}),
		data.NewField("recorded_at", nil, recorded),
	)
	f.SetMeta(&data.FrameMeta{PreferredVisualization: data.VisTypeTable})
	return data.Frames{f}, nil
}
