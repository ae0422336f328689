package forecast

import (
	"errors"
	"fmt"
	"math"
)

// SeasonalNaive forecasts a point as the mean of the same point of the last
// Seasons seasons, scaled by how the recent level compares with the same
// stretch of those seasons: "like last week at this time, but as much
// busier as today has been". It is the strongest simple baseline for loads
// with a weekly rhythm and slow growth, and needs one season of history.
type SeasonalNaive struct {
	Period  int
	Seasons int // how many past seasons are averaged
	// Factor is the level adjustment (recent level ÷ the same stretch one
	// or more seasons before), clamped to [0.5, 2] so that one odd day (an
	// outage, a holiday) cannot double or halve the forecast.
	Factor float64
	y      []float64
}

// FitSeasonalNaive fits the method with level window w (in steps; ≤ 0
// means a seventh of the period — one day of a weekly season — or what the
// series holds beyond its seasons, if less).
func FitSeasonalNaive(y []float64, period, seasons, w int) (*SeasonalNaive, error) {
	if period < 2 {
		return nil, fmt.Errorf("seasonal naive: period %d: %w", period, ErrTooShort)
	}
	if seasons < 1 {
		seasons = 1
	}
	if w <= 0 {
		w = max(1, min(period/7, len(y)-seasons*period))
	}
	w = min(w, period)
	if len(y) < seasons*period+w {
		return nil, fmt.Errorf("seasonal naive fit of %d points with %d seasons of %d: %w", len(y), seasons, period, ErrTooShort)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("seasonal naive: point %d is %v", i, v)
		}
	}
	n := len(y)
	recent := mean(y[n-w:])
	var past float64
	for k := 1; k <= seasons; k++ {
		past += mean(y[n-w-k*period : n-k*period])
	}
	past /= float64(seasons)
	factor := 1.0
	if past > 0 && recent >= 0 {
		factor = min(max(recent/past, 0.5), 2)
	}
	return &SeasonalNaive{Period: period, Seasons: seasons, Factor: factor, y: y}, nil
}

func (s *SeasonalNaive) Method() string {
	if s.Seasons > 1 {
		return fmt.Sprintf("seasonal_naive_%d", s.Seasons)
	}
	return "seasonal_naive"
}

func (s *SeasonalNaive) Forecast(h int) []float64 {
	out := make([]float64, h)
	n, p := len(s.y), s.Period
	for i := range out {
		// Beyond one season ahead the season repeats itself.
		at := n + i%p
		var sum float64
		for k := 1; k <= s.Seasons; k++ {
			sum += s.y[at-k*p]
		}
		out[i] = s.Factor * sum / float64(s.Seasons)
	}
	return out
}

// SeasonalOptions tune ChooseSeasonal.
type SeasonalOptions struct {
	// Period of the season in steps (2016 for a week at 5-minute steps).
	Period int
	// Holdout is how many of the last points the back-test forecasts
	// (default a seventh of the period: the last day of a weekly season).
	Holdout int
}

// ChooseSeasonal is Choose for loads with a strong season: it back-tests
// seasonal-naive (one and two seasons averaged) and Holt-Winters (additive
// and on logarithms, when the training part holds two seasons) on the last
// Holdout points, picks the smallest MAPE and refits it on the whole
// series. At least one season, a point and the holdout are needed.
func ChooseSeasonal(y []float64, opts SeasonalOptions) (Result, error) {
	p := opts.Period
	if p < 2 {
		return Result{}, fmt.Errorf("choose a seasonal method: period %d: %w", p, ErrTooShort)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Result{}, fmt.Errorf("point %d is %v", i, v)
		}
	}
	// The back-test holds out a day of a weekly season, or half of what
	// the series has beyond one season when that is less: a week and an
	// hour of history already gives a seasonal-naive forecast.
	hold := opts.Holdout
	if hold <= 0 {
		hold = max(1, min(p/7, (len(y)-p)/2))
	}
	if len(y) < p+1+hold {
		return Result{}, fmt.Errorf("choose a seasonal method for %d points (season %d, holdout %d): %w", len(y), p, hold, ErrTooShort)
	}
	fits := []struct {
		name string
		fit  func([]float64) (Model, error)
	}{
		{"seasonal_naive", func(y []float64) (Model, error) { return FitSeasonalNaive(y, p, 1, 0) }},
		{"seasonal_naive_2", func(y []float64) (Model, error) { return FitSeasonalNaive(y, p, 2, 0) }},
		{"holt_winters", func(y []float64) (Model, error) { return FitHoltWinters(y, p) }},
		{"holt_winters_log", func(y []float64) (Model, error) { return FitHoltWintersLog(y, p) }},
	}
	train, test := y[:len(y)-hold], y[len(y)-hold:]
	scores := map[string]float64{}
	best := -1
	for i, c := range fits {
		m, err := c.fit(train)
		if err != nil {
			continue // too short for this method, or not positive
		}
		scores[c.name] = MAPE(test, m.Forecast(hold))
		if best < 0 || scores[c.name] < scores[fits[best].name] {
			best = i
		}
	}
	if best < 0 {
		return Result{}, errors.New("no seasonal method fits the series")
	}
	m, err := fits[best].fit(y)
	if err != nil {
		// Holt-Winters on logarithms can meet a zero in the holdout.
		if m, err = fits[0].fit(y); err != nil {
			return Result{}, err
		}
	}
	return Result{Model: m, Confidence: clamp01(1 - scores[fits[best].name]), Backtest: scores}, nil
}
