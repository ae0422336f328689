package policy

import (
	"fmt"
	"slices"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// Predictive configures scaling ahead of the load: desired = max(reactive,
// predicted), where predicted is what the forecast load at now + lead needs
// (lead: the service's measured time to become ready plus one sync period,
// as GCP's predictive autoscaling uses the initialization period and AWS
// its scheduling buffer).
type Predictive struct {
	// Driver names the policy metric (of type load) whose forecast sizes the
	// service: a request or arrival rate, not a utilization.
	Driver string `yaml:"driver"`
	// Forecasters: trend (recent slope, for ramps) and/or seasonal (daily
	// and weekly rhythm from Prometheus history); their maximum counts.
	Forecasters []string `yaml:"forecasters,omitempty"`
	// ForecastOnly records what prediction would have done without letting
	// it act (AWS's ForecastOnly mode): evaluate before trusting it.
	ForecastOnly bool `yaml:"forecast_only,omitempty"`
	// Lead fixes the lead time; by default it is measured from past
	// scale-ups (time to become ready) plus one sync period.
	Lead config.Duration `yaml:"lead,omitempty"`
	// MinReadyTime is the floor of the measured time to become ready (and
	// the whole of it before any scale-up was measured).
	MinReadyTime *config.Duration `yaml:"min_ready_time,omitempty"`
	Trend        Trend            `yaml:"trend,omitempty"`
	Seasonal     Seasonal         `yaml:"seasonal,omitempty"`
}

// Trend is the short-term forecaster: a least-squares line through the
// driver's samples of the last Window, extended to now + lead, used only
// when its slope is significant (so noise never extrapolates).
type Trend struct {
	Window     config.Duration `yaml:"window,omitempty"`
	MinSamples int             `yaml:"min_samples,omitempty"`
}

// Seasonal is the forecaster of the platform's rhythm: weekly (and so
// daily) seasonality fitted on Prometheus history at Step resolution, the
// method (seasonal-naive, Holt-Winters) chosen by back-test.
type Seasonal struct {
	History    config.Duration `yaml:"history,omitempty"`
	MinHistory config.Duration `yaml:"min_history,omitempty"`
	Step       config.Duration `yaml:"step,omitempty"`
	RefitEvery config.Duration `yaml:"refit_every,omitempty"`
}

// Forecaster names.
const (
	ForecasterTrend    = "trend"
	ForecasterSeasonal = "seasonal"
)

// Defaults of predictive scaling.
const (
	DefaultMinReadyTime     = time.Minute
	DefaultTrendWindow      = 5 * time.Minute
	DefaultTrendMinSamples  = 6
	DefaultSeasonalHistory  = 14 * 24 * time.Hour // AWS: up to 14 days
	DefaultSeasonalMin      = 7 * 24 * time.Hour  // one whole week of every weekday
	DefaultSeasonalStep     = 5 * time.Minute
	DefaultSeasonalRefit    = time.Hour
	week                    = 7 * 24 * time.Hour
	maxSeasonalHistoryPoint = 20000 // query_range refuses more than 11,000 points per series by default; we split, but bound it
)

func (pr *Predictive) fill() {
	if len(pr.Forecasters) == 0 {
		pr.Forecasters = []string{ForecasterTrend, ForecasterSeasonal}
	}
	if pr.MinReadyTime == nil {
		pr.MinReadyTime = durPtr(DefaultMinReadyTime)
	}
	if pr.Trend.Window == 0 {
		pr.Trend.Window = config.Duration(DefaultTrendWindow)
	}
	if pr.Trend.MinSamples == 0 {
		pr.Trend.MinSamples = DefaultTrendMinSamples
	}
	if pr.Seasonal.History == 0 {
		pr.Seasonal.History = config.Duration(DefaultSeasonalHistory)
	}
	if pr.Seasonal.MinHistory == 0 {
		pr.Seasonal.MinHistory = config.Duration(DefaultSeasonalMin)
	}
	if pr.Seasonal.Step == 0 {
		pr.Seasonal.Step = config.Duration(DefaultSeasonalStep)
	}
	if pr.Seasonal.RefitEvery == 0 {
		pr.Seasonal.RefitEvery = config.Duration(DefaultSeasonalRefit)
	}
}

// Uses reports whether a forecaster is configured.
func (pr *Predictive) Uses(name string) bool {
	return pr != nil && slices.Contains(pr.Forecasters, name)
}

func (pr *Predictive) validate(p string, s *Service, sync time.Duration) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if pr.Driver == "" {
		add("%s.driver: required: the name of a metric of type load", p)
	} else if m := s.Metric(pr.Driver); m == nil {
		add("%s.driver: %q is not one of the service's metrics", p, pr.Driver)
	} else if m.Type != MetricLoad {
		add("%s.driver: metric %q is of type %s; the driver must be a load (a rate whose capacity per replica is known), not a symptom", p, pr.Driver, m.Type)
	}
	if s.Mode == Vertical {
		add("%s: predictive scaling sizes replicas from a load; vertical policies are not supported", p)
	}
	seen := map[string]bool{}
	for i, f := range pr.Forecasters {
		switch f {
		case ForecasterTrend, ForecasterSeasonal:
		default:
			add("%s.forecasters[%d]: %q is not trend or seasonal", p, i, f)
		}
		if seen[f] {
			add("%s.forecasters[%d]: %q listed twice", p, i, f)
		}
		seen[f] = true
	}
	if pr.Lead != 0 && pr.Lead.D() < sync {
		add("%s.lead: %s is shorter than the sync period (%s): capacity asked for now could not be ready at the next evaluation", p, pr.Lead, config.Duration(sync))
	}
	if pr.Lead < 0 {
		add("%s.lead: must not be negative", p)
	}
	if pr.MinReadyTime.D() < 0 {
		add("%s.min_ready_time: must not be negative", p)
	}
	if pr.Trend.Window.D() < 2*sync {
		add("%s.trend.window: %s holds fewer than two sync periods (%s)", p, pr.Trend.Window, config.Duration(sync))
	}
	if w := s.MetricWindow.D(); pr.Trend.Window.D() < 3*w {
		// A rate window turns a step of the load into a ramp as long as
		// itself; a trend window three times longer tells the two apart.
		add("%s.trend.window: %s is shorter than 3 × metric_window (%s): a step smoothed by the rate window would pass for a ramp", p, pr.Trend.Window, config.Duration(3*w))
	}
	if pr.Trend.MinSamples < 3 {
		add("%s.trend.min_samples: at least 3 (a line through two points has no error to judge it by), got %d", p, pr.Trend.MinSamples)
	}
	se, sp := pr.Seasonal, p+".seasonal"
	if se.Step.D() < time.Minute || se.Step.D() > time.Hour {
		add("%s.step: must be in [1m, 1h], got %s", sp, se.Step)
	} else if week%se.Step.D() != 0 {
		add("%s.step: %s does not divide a week: the weekly season would drift", sp, se.Step)
	}
	if se.MinHistory.D() < week {
		add("%s.min_history: at least 7d (a weekly season needs every weekday once), got %s", sp, se.MinHistory)
	}
	if se.History.D() < se.MinHistory.D() {
		add("%s.history: %s is shorter than min_history %s", sp, se.History, se.MinHistory)
	}
	if se.Step > 0 && se.History.D()/se.Step.D() > maxSeasonalHistoryPoint {
		add("%s.history: %s at step %s is more than %d points", sp, se.History, se.Step, maxSeasonalHistoryPoint)
	}
	if se.RefitEvery.D() < sync {
		add("%s.refit_every: must be at least the sync period (%s), got %s", sp, config.Duration(sync), se.RefitEvery)
	}
	return errs
}
