// Package rules owns every threshold of the WedSync scaling loop and renders
// them into Prometheus recording and alerting rules and an Alertmanager
// configuration, one set per profile (production, demo).
//
// thresholds.yml is the only place a threshold is written down; the
// templates under templates/ turn it into files, and dist/<profile>/ holds
// the rendered files that are committed and unit-tested with promtool.
package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/config"
)

//go:embed thresholds.yml
var embeddedThresholds []byte

// RequiredProfiles are the profiles every thresholds file must define: the
// rest of the system (compose stack, demo runner, e2e tests) asks for them
// by name.
var RequiredProfiles = []string{"production", "demo"}

// Thresholds is the parsed thresholds.yml.
// Duration is a Prometheus-style duration (see config.Duration), shared with
// every other config of the system.
type Duration = config.Duration

type Thresholds struct {
	// RunbookURLTemplate is every alert's runbook_url; {alertname} is
	// replaced by the alert's name.
	RunbookURLTemplate string `yaml:"runbook_url"`
	// SLOs are the services' objectives, shared by every profile (which
	// differ in the period).
	SLOs     []SLO               `yaml:"slos"`
	Profiles map[string]*Profile `yaml:"profiles"`
}

// Profile is one consistent set of thresholds and timings.
type Profile struct {
	// EvaluationInterval of every rule group; it also bounds the scrape lag
	// (sources are assumed to be scraped at least as often).
	EvaluationInterval Duration `yaml:"evaluation_interval"`
	// RateWindow of every rate() in the adapter rules.
	RateWindow Duration `yaml:"rate_window"`
	// LongWindow of the *_avg1h series (one hour in production).
	LongWindow Duration `yaml:"long_window"`
	// LongWindowCoverage is the share of LongWindow that must hold samples
	// before an *_avg1h series is recorded at all.
	LongWindowCoverage float64 `yaml:"long_window_coverage"`

	// ScalingTarget is the utilization the autoscaler aims at and its
	// tolerance. Policies' utilization and load targets must equal it (a
	// test checks the repository's policies), and no scaling alert may fire
	// inside the band target × (1 ± tolerance): an alert and the decision
	// it triggers never disagree.
	ScalingTarget ScalingTarget `yaml:"scaling_target"`

	CPUHigh           Alert        `yaml:"cpu_high"`
	CPUSustainedHigh  Alert        `yaml:"cpu_sustained_high"`
	DBCPUHigh         Alert        `yaml:"db_cpu_high"`
	DBConnectionsHigh Alert        `yaml:"db_connections_high"`
	LatencyP95High    LatencyAlert `yaml:"latency_p95_high"`
	LatencyP99High    LatencyAlert `yaml:"latency_p99_high"`
	// Underutilized applies one threshold to CPU and memory alike.
	Underutilized Alert `yaml:"underutilized"`

	Alertmanager AlertmanagerTimings `yaml:"alertmanager"`

	// Cost holds the thresholds of the cost and capacity alerts
	// (cost.rules.yml), fed by wedsync-exporter.
	Cost CostThresholds `yaml:"cost"`

	// Early warnings (early.go): SLO timings, learned bands, latency
	// degradation against its baseline, predicted saturation, targets down.
	SLO                 SLOTimings  `yaml:"slo"`
	Baselines           *Baselines  `yaml:"baselines"` // nil: the defaults
	LatencyDegradation  Degradation `yaml:"latency_degradation"`
	PredictedSaturation Saturation  `yaml:"predicted_saturation"`
	TargetDown          Hold        `yaml:"target_down"`

	// AutoscalerAlerts: the autoscaler's own alerts to people (autoscaler.go).
	AutoscalerAlerts AutoscalerAlertTimings `yaml:"autoscaler_alerts"`
}

// CostThresholds are the thresholds of the cost and capacity alerts. The
// budget thresholds themselves are data (cost_budgets.alert_thresholds,
// exported by wedsync-exporter); here is only how severe a crossing is.
type CostThresholds struct {
	// For is how long a cost condition must hold. Cost series change once
	// a day; this only rides out an exporter restart.
	For Duration `yaml:"for"`
	// BudgetWarningPercent and BudgetCriticalPercent: a crossed threshold
	// below the first is info, below the second warning, else critical.
	BudgetWarningPercent  int `yaml:"budget_warning_percent"`
	BudgetCriticalPercent int `yaml:"budget_critical_percent"`
	// SpikeRatio: a day's cost above this multiple of its baseline is a
	// spike, if it is also SpikeMinIncrease (dollars) above it.
	SpikeRatio       float64 `yaml:"spike_ratio"`
	SpikeMinIncrease float64 `yaml:"spike_min_increase"`
	// UsageSpikeRatio: a day's usage above this multiple of its baseline.
	UsageSpikeRatio float64 `yaml:"usage_spike_ratio"`
	// ProjectionMinConfidence: a projected overrun alerts only when the
	// projection is at least this confident (0…1).
	ProjectionMinConfidence float64 `yaml:"projection_min_confidence"`
	// ExhaustionWithin: alert when a capacity resource runs out sooner.
	ExhaustionWithin Duration `yaml:"exhaustion_within"`
	// UsersBeyondPhaseFor: how long the user count must exceed the phase's
	// maximum (counts move both ways around a boundary).
	UsersBeyondPhaseFor Duration `yaml:"users_beyond_phase_for"`
	// SourceDownFor: how long a billing source may fail before people are
	// told. A source is retried with backoff and billing data arrives once
	// a day, so a few failed refreshes lose nothing; a day of them leaves
	// every cost figure, budget and projection silently stale.
	SourceDownFor Duration `yaml:"source_down_for"`
	// Alertmanager timings of the cost routes: people do not want a
	// reminder every quarter of an hour.
	Alertmanager AlertmanagerTimings `yaml:"alertmanager"`
}

// BudgetBand is the range of thresholds, in percent of the limit, alerted
// at one severity.
type BudgetBand struct {
	Severity     string
	Lower, Upper int // Upper 0: unbounded
}

// BudgetBands lists the severities of budget crossings by threshold.
func (c CostThresholds) BudgetBands() []BudgetBand {
	w, cr := c.BudgetWarningPercent, c.BudgetCriticalPercent
	return []BudgetBand{{"info", 0, w}, {"warning", w, cr}, {"critical", cr, 0}}
}

// ScalingTarget is the autoscaler's utilization target and tolerance.
type ScalingTarget struct {
	Utilization float64 `yaml:"utilization"`
	Tolerance   float64 `yaml:"tolerance"`
}

// Band is the range of utilization inside which the decision holds.
func (s ScalingTarget) Band() (lo, hi float64) {
	return s.Utilization * (1 - s.Tolerance), s.Utilization * (1 + s.Tolerance)
}

// Upper is the top of the band: predicted-saturation alerts only fire
// above it.
func (s ScalingTarget) Upper() float64 {
	_, hi := s.Band()
	return math.Round(hi*1e9) / 1e9 // 0.6 × 1.1 prints as 0.66, not 0.6600000000000001
}

// Alert is a ratio threshold (0,1] and how long it must hold.
type Alert struct {
	Threshold float64  `yaml:"threshold"`
	For       Duration `yaml:"for"`
}

// LatencyAlert is a latency threshold in seconds, how long it must hold, and
// the time from a latency step to the alert firing that the profile promises.
type LatencyAlert struct {
	ThresholdSeconds float64  `yaml:"threshold_seconds"`
	For              Duration `yaml:"for"`
	FireWithin       Duration `yaml:"fire_within"`
}

// AlertmanagerTimings of the route tree.
type AlertmanagerTimings struct {
	GroupWait      Duration `yaml:"group_wait"`
	GroupInterval  Duration `yaml:"group_interval"`
	RepeatInterval Duration `yaml:"repeat_interval"`
}

// Defaults for fields a profile may leave out. The interval and Alertmanager
// values are those of Prometheus and Alertmanager themselves, so an omitted
// field means what it would mean to them.
const (
	defaultEvaluationInterval = Duration(60e9)
	defaultTargetUtilization  = 0.6 // the autoscaler policies' usual CPU target
	defaultTargetTolerance    = 0.1 // HPA's
	defaultRateWindowScrapes  = 4   // rate window = 4 evaluation intervals
	defaultLongWindow         = Duration(3600e9)
	defaultLongWindowCoverage = 0.9
	defaultFireWithin         = Duration(120e9)
	defaultGroupWait          = Duration(30e9)
	defaultGroupInterval      = Duration(300e9)
	defaultRepeatInterval     = Duration(4 * 3600e9)

	defaultCostFor                 = Duration(300e9)
	defaultBudgetWarningPercent    = 75
	defaultBudgetCriticalPercent   = 100
	defaultSpikeRatio              = 1.5 // the spec: more than 50 % over the baseline
	defaultSpikeMinIncrease        = 1.0
	defaultUsageSpikeRatio         = 2.0 // the spec: usage doubles
	defaultProjectionMinConfidence = 0.5
	defaultExhaustionWithin        = Duration(7 * 24 * 3600e9) // the spec: within 7 days
	defaultUsersBeyondPhaseFor     = Duration(900e9)
	defaultSourceDownFor           = Duration(3 * 3600e9)
	defaultCostGroupWait           = Duration(60e9)
	defaultCostGroupInterval       = Duration(600e9)
	defaultCostRepeatInterval      = Duration(12 * 3600e9)
)

// LoadThresholds decodes a thresholds file strictly (unknown fields are
// errors), applies defaults and validates it.
func LoadThresholds(r io.Reader) (*Thresholds, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var t Thresholds
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("decode thresholds: empty document")
		}
		return nil, fmt.Errorf("decode thresholds: %w", err)
	}
	// A second document would be silently ignored: refuse it instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode thresholds: more than one YAML document")
	}
	t.applyDefaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// ParseThresholds is LoadThresholds on a byte slice.
func ParseThresholds(b []byte) (*Thresholds, error) {
	return LoadThresholds(bytes.NewReader(b))
}

var embedded = sync.OnceValues(func() (*Thresholds, error) {
	t, err := ParseThresholds(embeddedThresholds)
	if err != nil {
		return nil, fmt.Errorf("embedded thresholds.yml: %w", err)
	}
	return t, nil
})

// EmbeddedThresholds returns the thresholds.yml compiled into this package.
func EmbeddedThresholds() (*Thresholds, error) { return embedded() }

// Profiles lists the profiles of the embedded thresholds.yml, sorted.
func Profiles() []string {
	t, err := embedded()
	if err != nil {
		// The golden and loader tests keep the embedded file valid; an
		// invalid one still yields the names callers must be able to ask for.
		return slices.Sorted(slices.Values(RequiredProfiles))
	}
	return t.ProfileNames()
}

// ProfileNames lists the profiles of t, sorted.
func (t *Thresholds) ProfileNames() []string {
	names := make([]string, 0, len(t.Profiles))
	for name := range t.Profiles {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (t *Thresholds) applyDefaults() {
	if t.RunbookURLTemplate == "" {
		t.RunbookURLTemplate = DefaultRunbookURL
	}
	for _, p := range t.Profiles {
		if p == nil {
			continue
		}
		p.applyDefaults()
	}
}

func (p *Profile) applyDefaults() {
	if p.ScalingTarget.Utilization == 0 {
		p.ScalingTarget.Utilization = defaultTargetUtilization
	}
	if p.ScalingTarget.Tolerance == 0 {
		p.ScalingTarget.Tolerance = defaultTargetTolerance
	}
	if p.EvaluationInterval == 0 {
		p.EvaluationInterval = defaultEvaluationInterval
	}
	if p.RateWindow == 0 {
		p.RateWindow = defaultRateWindowScrapes * p.EvaluationInterval
	}
	if p.LongWindow == 0 {
		p.LongWindow = defaultLongWindow
	}
	if p.LongWindowCoverage == 0 {
		p.LongWindowCoverage = defaultLongWindowCoverage
	}
	for _, l := range []*LatencyAlert{&p.LatencyP95High, &p.LatencyP99High} {
		if l.FireWithin == 0 {
			l.FireWithin = defaultFireWithin
		}
	}
	p.Alertmanager.applyDefaults(defaultGroupWait, defaultGroupInterval, defaultRepeatInterval)
	c := &p.Cost
	if c.For == 0 {
		c.For = defaultCostFor
	}
	if c.BudgetWarningPercent == 0 {
		c.BudgetWarningPercent = defaultBudgetWarningPercent
	}
	if c.BudgetCriticalPercent == 0 {
		c.BudgetCriticalPercent = defaultBudgetCriticalPercent
	}
	if c.SpikeRatio == 0 {
		c.SpikeRatio = defaultSpikeRatio
	}
	if c.SpikeMinIncrease == 0 {
		c.SpikeMinIncrease = defaultSpikeMinIncrease
	}
	if c.UsageSpikeRatio == 0 {
		c.UsageSpikeRatio = defaultUsageSpikeRatio
	}
	if c.ProjectionMinConfidence == 0 {
		c.ProjectionMinConfidence = defaultProjectionMinConfidence
	}
	if c.ExhaustionWithin == 0 {
		c.ExhaustionWithin = defaultExhaustionWithin
	}
	if c.UsersBeyondPhaseFor == 0 {
		c.UsersBeyondPhaseFor = defaultUsersBeyondPhaseFor
	}
	if c.SourceDownFor == 0 {
		c.SourceDownFor = defaultSourceDownFor
	}
	c.Alertmanager.applyDefaults(defaultCostGroupWait, defaultCostGroupInterval, defaultCostRepeatInterval)
	p.applyEarlyDefaults()
	p.AutoscalerAlerts.applyDefaults()
}

func (a *AlertmanagerTimings) applyDefaults(wait, interval, repeat Duration) {
	if a.GroupWait == 0 {
		a.GroupWait = wait
	}
	if a.GroupInterval == 0 {
		a.GroupInterval = interval
	}
	if a.RepeatInterval == 0 {
		a.RepeatInterval = repeat
	}
}

// LongWindowMinSamples is how many samples of a normalized series the long
// window must hold before its average is recorded.
func (p *Profile) LongWindowMinSamples() int {
	if p.EvaluationInterval <= 0 {
		return 1
	}
	// The epsilon keeps 0.9 × 240 from landing on 215.999….
	n := int(math.Floor(p.LongWindowCoverage*float64(p.LongWindow)/float64(p.EvaluationInterval) + 1e-9))
	return max(n, 1)
}
