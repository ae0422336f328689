package rules

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file owns the thresholds that adjust to how WedSync is used: service
// level objectives and their burn-rate alerts (the Google SRE workbook's
// multiwindow, multi-burn-rate alerts), learned baselines (adaptive bands
// with daily and weekly seasonality, after grafana/promql-anomaly-detection),
// latency degradation against its own baseline, predicted saturation, and
// the runbook every alert links to.

// SLO is one service's objectives. Zero means "no objective of this kind".
type SLO struct {
	Service string `yaml:"service"`
	// Availability: the share of requests not answered 5xx, in (0,1).
	Availability float64 `yaml:"availability"`
	// Latency: the share of requests answered within the profile's
	// latency_p95_high.threshold_seconds (the one "under 2 s" of the spec),
	// counted from the histogram buckets, in (0,1).
	Latency float64 `yaml:"latency"`
}

// SLOKind is one of the two SLIs.
type SLOKind struct {
	Name   string // the slo label: availability, latency
	Title  string // for alert names and text: Availability, Latency
	Reason string // the scaling reason of its fast-burn alert
}

// SLOKinds lists the SLIs in a stable order.
var SLOKinds = []SLOKind{
	{Name: "availability", Title: "Availability", Reason: "error_rate_degradation"},
	{Name: "latency", Title: "Latency", Reason: "latency_slo_burn"},
}

// Objective returns the objective of kind k, 0 when none.
func (s SLO) Objective(k string) float64 {
	if k == "latency" {
		return s.Latency
	}
	return s.Availability
}

// SLOTimings are a profile's SLO period and how often the long windows are
// evaluated.
type SLOTimings struct {
	// Period of the objectives (30d in production). The burn-rate windows
	// of the workbook (for 30 days) scale with it.
	Period Duration `yaml:"period"`
	// LongWindowInterval evaluates the windows of 6h (scaled) and more:
	// they read days of samples and change slowly.
	LongWindowInterval Duration `yaml:"long_window_interval"`
	// PeriodInterval evaluates the error budget over the whole period.
	PeriodInterval Duration `yaml:"period_interval"`
}

// workbookPeriod is the period the workbook's windows are written for.
const workbookPeriod = 30 * 24 * time.Hour

// BurnWindow is one multiwindow condition: the error ratio over both Long
// and Short above Factor × the error budget.
type BurnWindow struct {
	Long, Short Duration
	Factor      float64
}

// BurnAlert is one alert of the workbook: page or ticket.
type BurnAlert struct {
	Severity string // page, ticket
	Speed    string // Fast, Slow: the alert name's suffix
	Windows  []BurnWindow
}

// workbook lists the burn-rate alerts for a 30-day period: 2 % of the
// budget in an hour or 5 % in six hours pages; 10 % in three days is a
// ticket.
var workbook = []struct {
	severity, speed string
	windows         [][3]float64 // long hours, short hours, factor
}{
	{"page", "Fast", [][3]float64{{1, 5.0 / 60, 14.4}, {6, 0.5, 6}}},
	{"ticket", "Slow", [][3]float64{{72, 6, 1}}},
}

func (s SLOTimings) scale(hours float64) Duration {
	d := time.Duration(hours * float64(time.Hour) * float64(s.Period) / float64(workbookPeriod))
	return Duration(d.Round(time.Second))
}

// BurnAlerts returns the page and ticket alerts with windows scaled to the
// period.
func (s SLOTimings) BurnAlerts() []BurnAlert {
	out := make([]BurnAlert, 0, len(workbook))
	for _, w := range workbook {
		a := BurnAlert{Severity: w.severity, Speed: w.speed}
		for _, win := range w.windows {
			a.Windows = append(a.Windows, BurnWindow{Long: s.scale(win[0]), Short: s.scale(win[1]), Factor: win[2]})
		}
		out = append(out, a)
	}
	return out
}

// ShortestWindow is the window the SLI base rates are computed over.
func (s SLOTimings) ShortestWindow() Duration { return s.scale(5.0 / 60) }

// RawWindows are the windows computed from raw counters (every evaluation):
// the shortest, and those up to an hour (scaled).
func (s SLOTimings) RawWindows() []Duration {
	return s.windows(func(d Duration) bool { return d <= s.scale(1) })
}

// LongWindows are computed from the recorded shortest-window rates, at
// LongWindowInterval.
func (s SLOTimings) LongWindows() []Duration {
	return s.windows(func(d Duration) bool { return d > s.scale(1) })
}

func (s SLOTimings) windows(keep func(Duration) bool) []Duration {
	var out []Duration
	for _, a := range s.BurnAlerts() {
		for _, w := range a.Windows {
			for _, d := range []Duration{w.Long, w.Short} {
				if keep(d) && !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Baselines configure the learned bands.
type Baselines struct {
	// Window is the history the band's reference and deviation are
	// computed over (an hour in production), now and at each seasonal
	// offset.
	Window Duration `yaml:"window"`
	// Smoothing: the deviation is averaged over this span, so one noisy
	// hour does not widen the band for the next.
	Smoothing Duration `yaml:"smoothing"`
	// Seasonality lists the offsets whose same-time window is a reference
	// too: 1d and 1w for a platform that peaks at the same hours and on the
	// same week days.
	Seasonality []Duration `yaml:"seasonality"`
	// SeasonalInterval evaluates the seasonal references.
	SeasonalInterval Duration `yaml:"seasonal_interval"`
	// Deviations: the band is reference ± Deviations × deviation (at least).
	Deviations float64         `yaml:"deviations"`
	Signals    BaselineSignals `yaml:"signals"`
}

// BaselineSignals are the four series with a band.
type BaselineSignals struct {
	RequestRate BandSignal `yaml:"request_rate"`
	LatencyP95  BandSignal `yaml:"latency_p95"`
	ErrorRatio  BandSignal `yaml:"error_ratio"`
	CPU         BandSignal `yaml:"cpu"`
}

// BandSignal is one series' variability floor and alert duration.
type BandSignal struct {
	// FloorRatio: the band is at least ± this share of its reference.
	FloorRatio float64 `yaml:"floor_ratio"`
	// Floor: and at least ± this much, in the series' unit, so that a
	// series that is almost always 0 (errors) is not an alarm at 0.1 %.
	// 0 means the default; a band with no absolute floor is not offered,
	// as noise at 0 would alarm.
	Floor float64 `yaml:"floor"`
	// For: how long the series must stay outside before the anomaly alert.
	For Duration `yaml:"for"`
}

// Signal is a band's series and what leaving it means.
type Signal struct {
	Name     string // the signal label
	Series   string // the normalized series (docs/contracts.md)
	Alert    string
	What     string // for alert text
	Both     bool   // an anomaly both ways (a traffic drop is news), else only above
	Humanize string
	BandSignal
}

// BandSignals lists the profile's bands in a stable order.
func (p *Profile) BandSignals() []Signal {
	var s BaselineSignals
	if p.Baselines != nil {
		s = p.Baselines.Signals
	}
	return []Signal{
		{Name: "request_rate", Series: "service:http_requests:rate", Alert: "RequestRateAnomaly", What: "request rate", Both: true, Humanize: "humanize", BandSignal: s.RequestRate},
		{Name: "latency_p95", Series: "service:http_request_duration_seconds:p95", Alert: "LatencyAnomaly", What: "p95 latency", Humanize: "humanizeDuration", BandSignal: s.LatencyP95},
		{Name: "error_ratio", Series: "service:http_errors:ratio_rate", Alert: "ErrorRatioAnomaly", What: "error ratio", Humanize: "humanizePercentage", BandSignal: s.ErrorRatio},
		{Name: "cpu", Series: "service:cpu_utilization:ratio", Alert: "CPUAnomaly", What: "CPU utilization", Humanize: "humanizePercentage", BandSignal: s.CPU},
	}
}

// SeasonOffset is the offset of a seasonal window centred on now − season.
func (b Baselines) SeasonOffset(season Duration) Duration { return season - b.Window/2 }

// Degradation: p95 above Ratio × its expected value for For, while still
// under the fixed threshold.
type Degradation struct {
	Ratio float64  `yaml:"ratio"`
	For   Duration `yaml:"for"`
}

// Saturation: predict_linear over Window says the series reaches 100 %
// within Lead, for For.
type Saturation struct {
	Window Duration `yaml:"window"`
	Lead   Duration `yaml:"lead"`
	For    Duration `yaml:"for"`
}

// Hold is an alert with only a duration.
type Hold struct {
	For Duration `yaml:"for"`
}

// DefaultRunbookURL points at the runbooks of this repository.
const DefaultRunbookURL = "https://github.com/wedsync/scaling/blob/main/docs/runbooks/{alertname}.md"

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// RunbookPlaceholders are the placeholders runbook_url may use.
var RunbookPlaceholders = []string{"{alertname}"}

// RunbookURL returns the runbook of the named alert.
func (t *Thresholds) RunbookURL(alertname string) string {
	return strings.ReplaceAll(t.RunbookURLTemplate, "{alertname}", alertname)
}

func validateRunbookURL(s string, ps *problems) {
	for _, m := range placeholder.FindAllString(s, -1) {
		if !slices.Contains(RunbookPlaceholders, m) {
			ps.add("runbook_url", "unknown placeholder %s (known: %s)", m, strings.Join(RunbookPlaceholders, ", "))
		}
	}
	if strings.ContainsAny(placeholder.ReplaceAllString(s, ""), "{}") {
		ps.add("runbook_url", "unbalanced braces in %q", s)
	}
	if !strings.Contains(s, "{alertname}") {
		ps.add("runbook_url", "must contain {alertname}, or every alert would link to the same page")
	}
	u, err := url.Parse(strings.ReplaceAll(s, "{alertname}", "X"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.add("runbook_url", "must be an absolute http or https URL, got %q", s)
	}
}

var serviceName = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func validateSLOs(slos []SLO, ps *problems) {
	seen := map[string]int{}
	for i, s := range slos {
		path := fmt.Sprintf("slos[%d]", i)
		switch j, dup := seen[s.Service]; {
		case s.Service == "":
			ps.add(path+".service", "required")
		case !serviceName.MatchString(s.Service):
			ps.add(path+".service", "%q may only contain letters, digits, '_', '.' and '-'", s.Service)
		case dup:
			ps.add(path+".service", "%q already has objectives at slos[%d]", s.Service, j)
		default:
			seen[s.Service] = i
		}
		if s.Availability == 0 && s.Latency == 0 {
			ps.add(path, "set availability, latency or both (objectives in (0,1), e.g. 0.999)")
		}
		for _, k := range SLOKinds {
			if o := s.Objective(k.Name); o != 0 && !(o > 0 && o < 1) {
				ps.add(path+"."+k.Name, "must be in (0,1) (0.999 is 99.9 %%), got %s", formatFloat(o))
			}
		}
	}
}

func (s SLOTimings) validate(path string, p *Profile, ps *problems) {
	if !positive(ps, path+".period", s.Period) {
		return
	}
	switch sh := s.ShortestWindow(); {
	case sh < p.EvaluationInterval:
		ps.add(path+".period", "%s scales the workbook's 5m window to %s, shorter than the evaluation interval %s", s.Period, sh, p.EvaluationInterval)
	case sh < p.RateWindow:
		ps.add(path+".period", "%s scales the workbook's 5m window to %s, shorter than rate_window %s: a burn rate needs two samples", s.Period, sh, p.RateWindow)
	}
	long := s.LongWindows()
	if positive(ps, path+".long_window_interval", s.LongWindowInterval) {
		if s.LongWindowInterval < p.EvaluationInterval {
			ps.add(path+".long_window_interval", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, s.LongWindowInterval)
		}
		if len(long) > 0 && s.LongWindowInterval > long[0]/4 {
			ps.add(path+".long_window_interval", "must be at most a quarter of the shortest long window %s, got %s", long[0], s.LongWindowInterval)
		}
	}
	if positive(ps, path+".period_interval", s.PeriodInterval) && s.PeriodInterval < p.EvaluationInterval {
		ps.add(path+".period_interval", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, s.PeriodInterval)
	}
}

func (b Baselines) validate(path string, p *Profile, ps *problems) {
	switch {
	case b.Window == 0 && len(b.Seasonality) == 0:
		ps.add(path, "a band needs a history window (window: 1h) and optionally seasonality ([1d, 1w]); neither is set")
	case b.Window == 0:
		ps.add(path+".window", "required: the history the band averages over, now and at each seasonal offset")
	case b.Window < 2*p.EvaluationInterval:
		ps.add(path+".window", "must be at least 2 × evaluation_interval (%s), got %s", 2*p.EvaluationInterval, b.Window)
	}
	if b.Smoothing < b.Window {
		ps.add(path+".smoothing", "must be at least window (%s), got %s", b.Window, b.Smoothing)
	}
	for i, s := range b.Seasonality {
		sp := fmt.Sprintf("%s.seasonality[%d]", path, i)
		switch {
		case s <= b.Window:
			ps.add(sp, "must be longer than window (%s), got %s: the seasonal window would overlap now", b.Window, s)
		case slices.Index(b.Seasonality, s) != i:
			ps.add(sp, "%s is listed twice", s)
		}
	}
	if len(b.Seasonality) > 0 && positive(ps, path+".seasonal_interval", b.SeasonalInterval) && b.SeasonalInterval < p.EvaluationInterval {
		ps.add(path+".seasonal_interval", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, b.SeasonalInterval)
	}
	if !(b.Deviations > 0) || math.IsInf(b.Deviations, 0) {
		ps.add(path+".deviations", "must be a finite number above 0, got %s", formatFloat(b.Deviations))
	}
	for _, s := range p.BandSignals() {
		sp := path + ".signals." + s.Name
		if !(s.FloorRatio > 0 && s.FloorRatio < 1) {
			ps.add(sp+".floor_ratio", "must be in (0,1), got %s", formatFloat(s.FloorRatio))
		}
		if !(s.Floor > 0) || math.IsInf(s.Floor, 0) {
			ps.add(sp+".floor", "must be a finite number above 0, got %s", formatFloat(s.Floor))
		}
		if positive(ps, sp+".for", s.For) && s.For < p.EvaluationInterval {
			ps.add(sp+".for", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, s.For)
		}
	}
}

func (d Degradation) validate(path string, ps *problems) {
	if !(d.Ratio > 1) || math.IsInf(d.Ratio, 0) {
		ps.add(path+".ratio", "must be a finite number above 1, got %s", formatFloat(d.Ratio))
	}
	nonNegative(ps, path+".for", d.For)
}

func (s Saturation) validate(path string, p *Profile, ps *problems) {
	if positive(ps, path+".window", s.Window) && s.Window < p.RateWindow {
		ps.add(path+".window", "must not be shorter than rate_window %s, got %s", p.RateWindow, s.Window)
	}
	if positive(ps, path+".lead", s.Lead) && s.Lead < p.EvaluationInterval {
		ps.add(path+".lead", "must not be shorter than evaluation_interval %s, got %s", p.EvaluationInterval, s.Lead)
	}
	nonNegative(ps, path+".for", s.For)
}

// Defaults of the early-warning settings.
const (
	defaultSLOPeriod          = Duration(workbookPeriod)
	defaultLongWindowInterval = Duration(60e9)
	defaultPeriodInterval     = Duration(300e9)
	defaultSeasonalInterval   = Duration(60e9)
	defaultBaselineWindow     = Duration(3600e9)
	defaultSmoothingWindows   = 26 // promql-anomaly-detection's 26h for a 1h window
	defaultDeviations         = 2
	defaultDegradationRatio   = 1.5
	defaultSaturationWindow   = Duration(900e9)
	defaultSaturationLead     = Duration(1800e9)
	defaultTargetDownFor      = Duration(300e9)
)

func (p *Profile) applyEarlyDefaults() {
	atLeastInterval := func(d Duration) Duration { return max(d, p.EvaluationInterval) }
	s := &p.SLO
	if s.Period == 0 {
		s.Period = defaultSLOPeriod
	}
	if s.LongWindowInterval == 0 {
		s.LongWindowInterval = atLeastInterval(defaultLongWindowInterval)
	}
	if s.PeriodInterval == 0 {
		s.PeriodInterval = atLeastInterval(defaultPeriodInterval)
	}
	if p.Baselines == nil {
		// Left out: the production bands. Written out, a band must say what
		// it learns from (validate).
		p.Baselines = &Baselines{Window: defaultBaselineWindow, Seasonality: []Duration{Duration(24 * time.Hour), Duration(7 * 24 * time.Hour)}}
	}
	b := p.Baselines
	for _, d := range []struct {
		s    *BandSignal
		dflt BandSignal
	}{
		{&b.Signals.RequestRate, BandSignal{FloorRatio: 0.5, Floor: 1, For: Duration(15 * time.Minute)}},
		{&b.Signals.LatencyP95, BandSignal{FloorRatio: 0.2, Floor: 0.05, For: Duration(5 * time.Minute)}},
		{&b.Signals.ErrorRatio, BandSignal{FloorRatio: 0.5, Floor: 0.01, For: Duration(10 * time.Minute)}},
		{&b.Signals.CPU, BandSignal{FloorRatio: 0.25, Floor: 0.05, For: Duration(15 * time.Minute)}},
	} {
		if d.s.FloorRatio == 0 {
			d.s.FloorRatio = d.dflt.FloorRatio
		}
		if d.s.Floor == 0 {
			d.s.Floor = d.dflt.Floor
		}
		if d.s.For == 0 {
			d.s.For = d.dflt.For
		}
	}
	if b.Smoothing == 0 {
		b.Smoothing = defaultSmoothingWindows * b.Window
	}
	if b.SeasonalInterval == 0 {
		b.SeasonalInterval = atLeastInterval(defaultSeasonalInterval)
	}
	if b.Deviations == 0 {
		b.Deviations = defaultDeviations
	}
	if p.LatencyDegradation.Ratio == 0 {
		p.LatencyDegradation.Ratio = defaultDegradationRatio
	}
	if p.PredictedSaturation.Window == 0 {
		p.PredictedSaturation.Window = defaultSaturationWindow
	}
	if p.PredictedSaturation.Lead == 0 {
		p.PredictedSaturation.Lead = defaultSaturationLead
	}
	if p.TargetDown.For == 0 {
		p.TargetDown.For = defaultTargetDownFor
	}
}
