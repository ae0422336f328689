package predict

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wedsync/scaling/core/forecast"
)

// week is the season: a weekly model carries the daily rhythm too, and
// knows that a wedding platform's Saturday is not its Tuesday.
const week = 7 * 24 * time.Hour

// maxGapShare is the share of a history's points that may be missing and
// filled in before the history is refused as too patchy to learn from.
const maxGapShare = 0.1

// ErrTooLittleHistory says the seasonal forecaster cannot run yet.
var ErrTooLittleHistory = errors.New("too little history")

// HistoryError is ErrTooLittleHistory with the figures, worded for eval
// ("predictive: 2 days of history, need 7; reactive only").
type HistoryError struct{ Have, Need time.Duration }

func (e *HistoryError) Error() string {
	need := days(e.Need)
	if n := e.Need.Hours() / 24; n == math.Trunc(n) && n >= 1 {
		need = fmt.Sprintf("%.0f", n) // "2 days of history, need 7"
	}
	return fmt.Sprintf("predictive: %s of history, need %s; reactive only", days(e.Have), need)
}

func (e *HistoryError) Unwrap() error { return ErrTooLittleHistory }

func days(d time.Duration) string {
	n := d.Hours() / 24
	switch {
	case n < 1:
		return d.Round(time.Minute).String()
	case math.Round(n) == 1:
		return "1 day"
	}
	return fmt.Sprintf("%.0f days", math.Round(n))
}

// Seasonal is a fitted seasonal model of the driver. Each point of the
// history it was fitted on is the highest value of its step, so its
// forecast for a step is the load capacity must carry through that step.
type Seasonal struct {
	Method     string
	Confidence float64 // 1 − back-test MAPE (0…1)
	Backtest   map[string]float64
	History    time.Duration // span of the history it learned from
	End        time.Time     // end of the last step fitted
	Step       time.Duration
	forecast   []float64 // one season ahead of End, by step
}

// FitSeasonal fits the driver's weekly rhythm on history: points at
// End-aligned steps (the value at T covers (T−step, T]); missing points
// are filled from the same time a week before (or the previous point).
// At least minHistory of points are needed.
func FitSeasonal(points []Sample, end time.Time, step, minHistory time.Duration) (*Seasonal, error) {
	if step <= 0 || week%step != 0 {
		return nil, fmt.Errorf("seasonal: step %s does not divide a week", step)
	}
	period := int(week / step)
	start := end
	for _, p := range points {
		if p.At.Before(start) && !p.At.After(end) {
			start = p.At
		}
	}
	n := int(end.Sub(start)/step) + 1
	if len(points) == 0 || n < 2 {
		return nil, &HistoryError{Need: minHistory}
	}
	y := make([]float64, n)
	have := make([]bool, n)
	got := 0
	for _, p := range points {
		off := end.Sub(p.At)
		if off < 0 || off%step != 0 || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Value < 0 {
			continue
		}
		i := n - 1 - int(off/step)
		if i >= 0 && !have[i] {
			y[i], have[i] = p.Value, true
			got++
		}
	}
	span := time.Duration(n) * step
	// A season, and two more points: one to fit the level on, one to
	// back-test.
	if need := max(minHistory, week) + 2*step; span < need {
		return nil, &HistoryError{Have: span, Need: minHistory}
	}
	if missing := n - got; float64(missing) > maxGapShare*float64(n) {
		return nil, fmt.Errorf("seasonal: %d of %d steps of history are missing (more than %.0f %%): %w", missing, n,
			100*maxGapShare, &HistoryError{Have: time.Duration(got) * step, Need: minHistory})
	}
	for i := range y {
		if have[i] {
			continue
		}
		switch {
		case i >= period && have[i-period]:
			y[i] = y[i-period]
		case i > 0:
			y[i] = y[i-1]
		default:
			for j := range y {
				if have[j] {
					y[i] = y[j]
					break
				}
			}
		}
	}
	r, err := forecast.ChooseSeasonal(y, forecast.SeasonalOptions{Period: period})
	if err != nil {
		if errors.Is(err, forecast.ErrTooShort) {
			return nil, &HistoryError{Have: span, Need: minHistory}
		}
		return nil, fmt.Errorf("seasonal: %w", err)
	}
	return &Seasonal{Method: r.Method(), Confidence: r.Confidence, Backtest: r.Backtest, History: span, End: end,
		Step: step, forecast: r.Forecast(period)}, nil
}

// MaxOver is the highest forecast of the steps overlapping (from, to]; ok
// is false when that lies outside the season after End.
func (s *Seasonal) MaxOver(from, to time.Time) (float64, bool) {
	if s == nil || !to.After(s.End) {
		return 0, false
	}
	first := int(max(from.Sub(s.End), 0) / s.Step)
	last := int((to.Sub(s.End) - 1) / s.Step)
	if last >= len(s.forecast) {
		return 0, false
	}
	v := math.Inf(-1)
	for i := first; i <= last; i++ {
		v = math.Max(v, s.forecast[i])
	}
	return math.Max(v, 0), true
}
