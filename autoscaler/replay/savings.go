package replay

// The savings replay measures the "recommendations save 15 %" on a
// fleet with idle capacity (docs/savings.md): the same synthetic weeks run
// twice, once as the fleet is configured and once with the
// recommendations of recommend.Decide — the Generator's own decision —
// made every week from the previous week's usage and applied the way an
// implemented recommendation is, as bounds in force (a DB-held override
// within the policy file's hard bounds). Cost comes from daily cost rows
// priced from the policy; latency from the fleet model.
//
// The fleet (SavingsScenario):
//   - api: the replayed fleet — the real controller and decision code,
//     second by second on fleetsim, level-controlled — under a floor
//     of 8 replicas (an earlier override) its nights and mornings do not need;
//   - database: a vertical service whose CPU is the API's work (vCPU per
//     req/s) over its tier's capacity, left on the xlarge tier a launch
//     needed; a minute at or above 100 % CPU is saturated and counts as
//     violating the SLO (its queries queue without bound);
//   - search: a small fleet with 2 % of the API's traffic under a floor of
//     3 replicas, sized per minute as its controller settles (its load never
//     leaves the floor's capacity, so the second-by-second dynamics change
//     nothing); a minute whose p95 (fleetsim, Poisson) is above the SLO
//     violates it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/recommend"
	"github.com/wedsync/scaling/autoscaler/replay/fleetsim"
	"github.com/wedsync/scaling/core/config"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/rules"
)

// HoursPerMonth converts monthly prices to what a replica or a tier costs
// while it runs: 8760 / 12, the convention of cloud price lists.
const HoursPerMonth = 730

// CacheOffload is the share of the database's work a read cache takes
// once a caching recommendation is applied (an assumption: a cache of
// query results and sessions in front of a read-heavy API).
const CacheOffload = 0.4

// costScale is the rounding of a daily cost row (the only rounding: the
// units are counted exactly, price × units is exact, the division by the
// seconds of a month is not finite).
const costScale = 10

// SavingsConfig is one savings replay.
type SavingsConfig struct {
	// Policy is the policy file: hard bounds, prices, recommendations.
	Policy  *policy.File
	Profile *rules.Profile
	// Trace is the API's load; the other services' follows from it.
	Trace      Trace
	ReadyAfter time.Duration
	// ReviewEvery is how often recommendations are made, each from the
	// usage since the last (default 7 days, the Generator's lookback).
	ReviewEvery time.Duration
	// API, Search and Database name the three services of the policy.
	API, Search, Database string
	// In force at the start (earlier overrides: the replay runs no growth
	// phase, so its hard limits are the file's), within the file's bounds.
	APIFloor, SearchFloor int
	DatabaseTier          string
	// APICapacity and SearchCapacity: req/s one replica serves at 100 %.
	APICapacity, SearchCapacity float64
	// SearchShare is the search service's load as a share of the API's.
	SearchShare float64
	// DatabaseWork is the database CPU (in tier capacity units, vCPUs) one
	// API request per second costs.
	DatabaseWork float64
}

// CostRow is one day's cost of one service, as the exporter would write
// it (one row per day and service).
type CostRow struct {
	Day     string          `json:"day"`
	Service string          `json:"service"`
	Amount  decimal.Decimal `json:"amount"`
}

// Applied is one recommendation applied in the replay (recorded before
// it takes effect).
type Applied struct {
	At          time.Time               `json:"at"`
	Service     string                  `json:"service"`
	Type        string                  `json:"type"`
	Title       string                  `json:"title"`
	Current     store.RecommendedConfig `json:"current_config"`
	Recommended store.RecommendedConfig `json:"recommended_config"`
	// Estimated is the monthly impact Decide estimated; null when unknown.
	Estimated decimal.NullDecimal `json:"estimated_monthly_impact"`
}

// SavingsRun is one run of the fleet.
type SavingsRun struct {
	Rows []CostRow `json:"cost_rows"`
	// Cost is the sum of the rows, per service and in total.
	Cost      map[string]decimal.Decimal `json:"cost"`
	CostTotal decimal.Decimal            `json:"cost_total"`
	// SLOViolationMinutes per service (api and search: p95 above the SLO;
	// database: saturated minutes) and in total.
	SLOViolationMinutes map[string]int `json:"slo_violation_minutes"`
	SLOTotal            int            `json:"slo_violation_minutes_total"`
	APIReplicaHours     float64        `json:"api_replica_hours"`
	Applied             []Applied      `json:"applied,omitempty"`
}

// Period is the saving over a span of days.
type Period struct {
	Name     string          `json:"name"`
	FromDay  int             `json:"from_day"` // 1-based, inclusive
	ToDay    int             `json:"to_day"`
	Before   decimal.Decimal `json:"cost_before"`
	After    decimal.Decimal `json:"cost_after"`
	Saving   decimal.Decimal `json:"saving"`
	SharePct decimal.Decimal `json:"saving_share_percent"`
	// Monthly is the saving scaled to 30 days.
	Monthly decimal.Decimal `json:"monthly_saving"`
}

// SavingsReport compares the two runs.
type SavingsReport struct {
	Start       time.Time   `json:"start"`
	Days        int         `json:"days"`
	ReviewEvery string      `json:"review_every"`
	SLOSeconds  float64     `json:"slo_p95_seconds"`
	Before      *SavingsRun `json:"without_recommendations"`
	After       *SavingsRun `json:"with_recommendations"`
	// Periods: the whole run, then each 30 days, then the last full
	// review period (every recommendation in force, none pending).
	Periods []Period `json:"periods"`
	// Realized compares, per service, what Decide estimated with what the
	// cost rows show from the day it was applied on.
	Realized []Realized `json:"realized"`
}

// Realized is one service's estimated and realized monthly saving.
type Realized struct {
	Service string `json:"service"`
	// Estimated is the sum of the applied recommendations' estimates
	// (negative = saving); null when one was unknown.
	Estimated decimal.NullDecimal `json:"estimated_monthly_impact"`
	FromDay   int                 `json:"from_day"`
	// Monthly is after − before over [FromDay, the end], scaled to 30 days.
	Monthly decimal.Decimal `json:"realized_monthly_impact"`
}

// Validate returns every problem at once.
func (c *SavingsConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Policy == nil {
		return errors.New("policy: required")
	}
	for _, s := range []struct {
		field, name string
		mode        policy.Mode
	}{{"api", c.API, policy.Horizontal}, {"search", c.Search, policy.Horizontal}, {"database", c.Database, policy.Vertical}} {
		if p := c.Policy.Services[s.name]; p == nil {
			add("%s: service %q is not in the policy", s.field, s.name)
		} else if p.Mode != s.mode {
			add("%s: service %q must scale %s", s.field, s.name, s.mode)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if lo, hi := c.Policy.Services[c.API].Bounds(); c.APIFloor < lo || c.APIFloor > hi {
		add("api_floor: %d is outside the file's bounds [%d, %d]", c.APIFloor, lo, hi)
	}
	if lo, hi := c.Policy.Services[c.Search].Bounds(); c.SearchFloor < lo || c.SearchFloor > hi {
		add("search_floor: %d is outside the file's bounds [%d, %d]", c.SearchFloor, lo, hi)
	}
	if c.Policy.Services[c.Database].TierIndex(c.DatabaseTier) < 0 {
		add("database_tier: %q is not a tier of %s", c.DatabaseTier, c.Database)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"api_capacity", c.APICapacity}, {"search_capacity", c.SearchCapacity}, {"search_share", c.SearchShare}, {"database_work", c.DatabaseWork}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			add("%s: must be a positive number, got %v", f.name, f.v)
		}
	}
	if c.ReviewEvery < 0 || c.ReviewEvery > 0 && c.ReviewEvery%time.Minute != 0 {
		add("review_every: must be a positive whole number of minutes, got %s", c.ReviewEvery)
	}
	if c.Trace.Duration()%(24*time.Hour) != 0 || len(c.Trace.Rates) == 0 {
		add("trace: must cover whole days, got %s", c.Trace.Duration())
	}
	if c.Profile == nil {
		add("profile: required")
	}
	return errors.Join(errs...)
}

// RunSavings replays the fleet without and with recommendations,
// concurrently, and compares them.
func RunSavings(ctx context.Context, c SavingsConfig) (*SavingsReport, error) {
	if c.ReviewEvery == 0 {
		c.ReviewEvery = 7 * 24 * time.Hour
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rep := &SavingsReport{Start: c.Trace.Start, Days: int(c.Trace.Duration() / (24 * time.Hour)), ReviewEvery: config.Duration(c.ReviewEvery).String(),
		SLOSeconds: c.Profile.LatencyP95High.ThresholdSeconds}
	var wg sync.WaitGroup
	var errs [2]error
	for i, apply := range []bool{false, true} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := c.run(ctx, apply)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", map[bool]string{false: "without recommendations", true: "with recommendations"}[apply], err)
				return
			}
			if apply {
				rep.After = run
			} else {
				rep.Before = run
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	rep.Periods = append(rep.Periods, rep.period("whole run", 1, rep.Days))
	for from := 1; from+29 <= rep.Days && rep.Days > 30; from += 30 {
		rep.Periods = append(rep.Periods, rep.period(fmt.Sprintf("days %d–%d", from, from+29), from, from+29))
	}
	reviewDays := int(c.ReviewEvery / (24 * time.Hour))
	if reviewDays > 0 && rep.Days >= 2*reviewDays {
		// From the last review on, every recommendation is in force.
		last := (rep.Days - 1) / reviewDays * reviewDays
		rep.Periods = append(rep.Periods, rep.period(fmt.Sprintf("after the last review (days %d–%d)", last+1, rep.Days), last+1, rep.Days))
	}
	rep.realized()
	return rep, nil
}

// fleetState is what is in force for the side services, and what they
// have cost, during one run.
type fleetState struct {
	c            *SavingsConfig
	apply        bool
	searchFloor  int
	searchMax    int
	dbTier       int
	dbMin, dbMax int
	cache        bool
	search       *fleetsim.Fleet
	searchLevel  int
	searchWeek   []sideMinute
	dbWeek       []sideMinute
	slo          map[string]int
	// units[day][service] is price × seconds, exact.
	units   []map[string]decimal.Decimal
	applied []Applied
	minutes int // API minutes processed
}

type sideMinute struct {
	cpu      float64
	replicas int
}

func (c *SavingsConfig) run(ctx context.Context, apply bool) (*SavingsRun, error) {
	hard := c.Policy
	api := *hard.Services[c.API]
	floor := c.APIFloor
	api.MinReplicas = &floor
	inForce := &policy.File{SyncPeriod: hard.SyncPeriod, AlertTTL: hard.AlertTTL, Services: map[string]*policy.Service{c.API: &api}}
	inForce.ApplyDefaults()
	if err := inForce.Validate(); err != nil {
		return nil, fmt.Errorf("api in force: %w", err)
	}
	db := hard.Services[c.Database]
	_, dbMax := db.Bounds()
	_, searchMax := hard.Services[c.Search].Bounds()
	st := &fleetState{c: c, apply: apply, searchFloor: c.SearchFloor, searchMax: searchMax, dbTier: db.TierIndex(c.DatabaseTier),
		dbMax: dbMax, slo: map[string]int{c.API: 0, c.Search: 0, c.Database: 0}, units: make([]map[string]decimal.Decimal, int(c.Trace.Duration()/(24*time.Hour)))}
	// The tier a phase fixes is both its floor and its ceiling.
	st.dbMin, st.dbMax = st.dbTier, st.dbTier
	for i := range st.units {
		st.units[i] = map[string]decimal.Decimal{}
	}
	search, err := newSearchFleet(c, c.SearchFloor)
	if err != nil {
		return nil, err
	}
	st.search, st.searchLevel = search, c.SearchFloor
	rc := Config{Policy: inForce, Service: c.API, Trace: c.Trace, CapacityPerReplica: c.APICapacity, ReadyAfter: c.ReadyAfter, Profile: c.Profile,
		SLOLatency: time.Duration(c.Profile.LatencyP95High.ThresholdSeconds * float64(time.Second)), Strategies: []string{Level},
		ReviewEvery: c.ReviewEvery, Review: st.review}
	rep, err := Run(ctx, rc)
	if err != nil {
		return nil, err
	}
	res := rep.Strategies[Level]
	st.side(res.Minutes[st.minutes:])
	out := &SavingsRun{Cost: map[string]decimal.Decimal{}, SLOViolationMinutes: st.slo, APIReplicaHours: res.ReplicaHours, Applied: st.applied}
	out.SLOViolationMinutes[c.API] = int(res.SLOViolationMinutes)
	secondsPerMonth := decimal.NewFromInt(HoursPerMonth * 3600)
	for d, byService := range st.units {
		day := c.Trace.Start.AddDate(0, 0, d).Format(time.DateOnly)
		names := make([]string, 0, len(byService))
		for n := range byService {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			amount := byService[n].DivRound(secondsPerMonth, costScale)
			out.Rows = append(out.Rows, CostRow{Day: day, Service: n, Amount: amount})
			out.Cost[n] = out.Cost[n].Add(amount)
			out.CostTotal = out.CostTotal.Add(amount)
		}
	}
	for _, n := range out.SLOViolationMinutes {
		out.SLOTotal += n
	}
	return out, nil
}

func newSearchFleet(c *SavingsConfig, replicas int) (*fleetsim.Fleet, error) {
	_, hi := c.Policy.Services[c.Search].Bounds()
	return fleetsim.New(fleetsim.Config{CapacityPerReplica: c.SearchCapacity, Replicas: replicas, MaxReplicas: hi})
}

// review is the API replay's weekly hook: the side services live the week
// the API just did, then (with apply) every service's recommendations are
// made from that week and applied.
func (st *fleetState) review(now time.Time, week []Minute, in *policy.Service) (*policy.Service, error) {
	st.side(week)
	if !st.apply {
		st.searchWeek, st.dbWeek = st.searchWeek[:0], st.dbWeek[:0]
		return nil, nil
	}
	c := st.c
	hard := c.Policy
	prices := hard.Recommendations
	lookback := c.ReviewEvery
	// api: the fleet the controller runs.
	apiLo, apiHi := in.Bounds()
	u := recommend.Usage{History: time.Duration(len(week)) * time.Minute, Lookback: lookback, Min: apiLo, Max: apiHi,
		Level: int(math.Round(float64(week[len(week)-1].ReplicaSeconds) / 60))}
	var cpu, busy, mem []float64
	atFloor := 0
	for _, m := range week {
		cpu = append(cpu, m.CPU)
		busy = append(busy, m.CPU*float64(m.Replicas))
		mem = append(mem, memoryOf(m.CPU))
		if m.ReplicaSeconds <= apiLo*60 {
			atFloor++
		}
	}
	u.CPU, u.Busy, u.Memory = series(cpu), series(busy), series(mem)
	u.AtFloor, u.AtFloorOK = float64(atFloor)/float64(len(week)), true
	var next *policy.Service
	for _, r := range recommend.Decide(c.API, hard.Services[c.API], prices, u) {
		st.record(now, r)
		if r.Type == recommend.TypeRightsizing || r.Type == recommend.TypeIdle {
			lo, hi, err := replicaBounds(r)
			if err != nil {
				return nil, err
			}
			np, err := withBounds(hard, c.API, in, lo, hi)
			if err != nil {
				return nil, err
			}
			next = np
		}
	}
	// search.
	su := recommend.Usage{History: time.Duration(len(st.searchWeek)) * time.Minute, Lookback: lookback, Level: st.searchLevel,
		Min: st.searchFloor, Max: st.searchMax}
	cpu, mem = cpu[:0], mem[:0]
	busy, atFloor = busy[:0], 0
	for _, m := range st.searchWeek {
		cpu = append(cpu, m.cpu)
		mem = append(mem, memoryOf(m.cpu))
		busy = append(busy, m.cpu*float64(m.replicas))
		if m.replicas <= st.searchFloor {
			atFloor++
		}
	}
	su.CPU, su.Memory, su.Busy = series(cpu), series(mem), series(busy)
	su.AtFloor, su.AtFloorOK = float64(atFloor)/float64(max(1, len(st.searchWeek))), len(st.searchWeek) > 0
	sp := hard.Services[c.Search]
	for _, r := range recommend.Decide(c.Search, sp, prices, su) {
		st.record(now, r)
		if r.Type == recommend.TypeRightsizing || r.Type == recommend.TypeIdle {
			l, h, err := replicaBounds(r)
			if err != nil {
				return nil, err
			}
			lo, hi := sp.Bounds()
			st.searchFloor = min(max(l, lo), hi)
			st.searchMax = min(max(h, st.searchFloor), hi)
		}
	}
	// database.
	dp := hard.Services[c.Database]
	du := recommend.Usage{History: time.Duration(len(st.dbWeek)) * time.Minute, Lookback: lookback, Level: st.dbTier, Min: st.dbMin, Max: st.dbMax}
	cpu = cpu[:0]
	for _, m := range st.dbWeek {
		cpu = append(cpu, m.cpu)
	}
	du.CPU = series(cpu)
	for _, r := range recommend.Decide(c.Database, dp, prices, du) {
		st.record(now, r)
		lo, hi := dp.Bounds()
		switch r.Type {
		case recommend.TypeDatabaseTier:
			// An override lives within the file's tiers.
			st.dbTier = min(max(dp.TierIndex(r.Recommended.Tier), lo), hi)
			st.dbMin = min(max(dp.TierIndex(r.Recommended.MinTier), lo), st.dbTier)
			st.dbMax = max(min(dp.TierIndex(r.Recommended.MaxTier), hi), st.dbTier)
		case recommend.TypeCaching:
			st.cache = true
		}
	}
	st.searchWeek, st.dbWeek = st.searchWeek[:0], st.dbWeek[:0]
	return next, nil
}

func (st *fleetState) record(now time.Time, r recommend.Recommendation) {
	st.applied = append(st.applied, Applied{At: now, Service: r.Service, Type: r.Type, Title: r.Title, Current: r.Current,
		Recommended: r.Recommended, Estimated: r.Impact})
}

// replicaBounds is a horizontal recommendation's bounds as the
// implementation reads them (store.ParseRecommendedConfig): the replay
// applies what implementing it through the admin API would.
func replicaBounds(r recommend.Recommendation) (lo, hi int, err error) {
	c, err := store.ParseRecommendedConfig(r.Recommended.JSON())
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", r.Title, err)
	}
	if c.MinReplicas == nil {
		return 0, 0, fmt.Errorf("%s: %s has no replica bounds", r.Title, c.JSON())
	}
	return *c.MinReplicas, *c.MaxReplicas, nil
}

// withBounds is the API's policy in force with new bounds, kept within the
// file's hard ones, validated as the loader would.
func withBounds(hard *policy.File, name string, in *policy.Service, lo, hi int) (*policy.Service, error) {
	hlo, hhi := hard.Services[name].Bounds()
	lo = min(max(lo, hlo), hhi)
	hi = min(max(hi, lo), hhi)
	p := *in
	p.MinReplicas, p.MaxReplicas = &lo, &hi
	f := &policy.File{SyncPeriod: hard.SyncPeriod, AlertTTL: hard.AlertTTL, Services: map[string]*policy.Service{name: &p}}
	f.ApplyDefaults()
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("bounds override [%d, %d]: %w", lo, hi, err)
	}
	return f.Services[name], nil
}

// side lives the API's minutes for the other services and counts every
// service's cost units.
func (st *fleetState) side(ms []Minute) {
	c := st.c
	db := c.Policy.Services[c.Database]
	searchPrice, _ := c.Policy.Services[c.Search].Price(1)
	apiPrice, _ := c.Policy.Services[c.API].Price(1)
	cachePrice, _ := c.Policy.Recommendations.CachePrice()
	target := 0.6
	if m := c.Policy.Services[c.Search].Metrics; len(m) > 0 {
		target = m[0].Target
	}
	slo := c.Profile.LatencyP95High.ThresholdSeconds
	sixty := decimal.NewFromInt(60)
	for _, m := range ms {
		day := int(m.At.Sub(c.Trace.Start) / (24 * time.Hour))
		units := st.units[day]
		units[c.API] = units[c.API].Add(apiPrice.Mul(decimal.NewFromInt(int64(m.ReplicaSeconds))))
		// search: sized as its controller settles, never below the floor.
		load := m.Load * c.SearchShare
		want := min(max(int(math.Ceil(load/(c.SearchCapacity*target)-1e-9)), st.searchFloor), st.searchMax)
		if want != st.searchLevel {
			_ = st.search.SetDesired(0, want) // within 1…searchMax by construction
			st.searchLevel = want
		}
		tk := st.search.Step(0, time.Minute, load)
		if q := fleetsim.Quantile([]fleetsim.Tick{tk}, 0.95, math.Inf(1)); q > slo {
			st.slo[c.Search]++
		}
		st.searchWeek = append(st.searchWeek, sideMinute{cpu: tk.CPU(), replicas: st.searchLevel})
		units[c.Search] = units[c.Search].Add(searchPrice.Mul(decimal.NewFromInt(int64(st.searchLevel))).Mul(sixty))
		// database: the API's work over the tier's capacity.
		work := m.Load * c.DatabaseWork
		if st.cache {
			work *= 1 - CacheOffload
			units["cache"] = units["cache"].Add(cachePrice.Mul(sixty))
		}
		util := work / db.Tiers[st.dbTier].Capacity
		if util >= 1 {
			st.slo[c.Database]++
		}
		st.dbWeek = append(st.dbWeek, sideMinute{cpu: math.Min(util, 1)})
		tierPrice, _ := db.Price(st.dbTier)
		units[c.Database] = units[c.Database].Add(tierPrice.Mul(sixty))
	}
	st.minutes += len(ms)
}

// memoryOf is the synthetic memory utilization of a replica: a resident
// share plus a working set growing with its CPU.
func memoryOf(cpu float64) float64 { return 0.25 + 0.25*cpu }

// series is a distribution the way Prometheus' quantile_over_time computes
// it (linear between the closest ranks).
func series(v []float64) recommend.Series {
	if len(v) == 0 {
		return recommend.Series{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		r := p * float64(len(s)-1)
		i := int(r)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (s[i+1]-s[i])*(r-float64(i))
	}
	return recommend.Series{P05: q(0.05), P10: q(0.1), P95: q(0.95), Max: s[len(s)-1], OK: true}
}

func (r *SavingsReport) period(name string, from, to int) Period {
	p := Period{Name: name, FromDay: from, ToDay: to}
	sum := func(run *SavingsRun) decimal.Decimal {
		var t decimal.Decimal
		for _, row := range run.Rows {
			d, _ := time.Parse(time.DateOnly, row.Day)
			n := int(d.Sub(r.Start.Truncate(24*time.Hour))/(24*time.Hour)) + 1
			if n >= from && n <= to {
				t = t.Add(row.Amount)
			}
		}
		return t
	}
	p.Before, p.After = sum(r.Before), sum(r.After)
	p.Saving = p.Before.Sub(p.After)
	if p.Before.IsPositive() {
		p.SharePct = p.Saving.Div(p.Before).Mul(decimal.NewFromInt(100)).Round(2)
	}
	p.Monthly = p.Saving.Mul(decimal.NewFromInt(30)).Div(decimal.NewFromInt(int64(to - from + 1))).Round(2)
	return p
}

func (r *SavingsReport) dayOf(t time.Time) int {
	return int(t.Sub(r.Start)/(24*time.Hour)) + 1
}

func (r *SavingsReport) realized() {
	bySvc := map[string]*Realized{}
	var order []string
	for _, a := range r.After.Applied {
		x := bySvc[a.Service]
		if x == nil {
			x = &Realized{Service: a.Service, FromDay: r.dayOf(a.At), Estimated: decimal.NewNullDecimal(decimal.Zero)}
			bySvc[a.Service] = x
			order = append(order, a.Service)
		}
		if !a.Estimated.Valid || !x.Estimated.Valid {
			x.Estimated = decimal.NullDecimal{}
		} else {
			x.Estimated.Decimal = x.Estimated.Decimal.Add(a.Estimated.Decimal)
		}
	}
	sort.Strings(order)
	for _, n := range order {
		x := bySvc[n]
		sum := func(run *SavingsRun) decimal.Decimal {
			var t decimal.Decimal
			for _, row := range run.Rows {
				d, _ := time.Parse(time.DateOnly, row.Day)
				if row.Service == n && r.dayOf(d) >= x.FromDay {
					t = t.Add(row.Amount)
				}
			}
			return t
		}
		days := r.Days - x.FromDay + 1
		if days > 0 {
			x.Monthly = sum(r.After).Sub(sum(r.Before)).Mul(decimal.NewFromInt(30)).Div(decimal.NewFromInt(int64(days))).Round(2)
		}
		r.Realized = append(r.Realized, *x)
	}
}

// WriteJSON writes the whole report, cost rows included.
func (r *SavingsReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the comparison for bench/results.
func (r *SavingsReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d days from %s, recommendations every %s from the previous period's usage; SLO: p95 ≤ %g s (the rules' latency_p95_high), database saturated (CPU ≥ 100 %%) counted as violating.\n\n",
		r.Days, r.Start.Format(time.DateOnly), r.ReviewEvery, r.SLOSeconds)
	fmt.Fprintln(&b, "| period | cost without | cost with | saving | share | saving per 30 days |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, p := range r.Periods {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %% | %s |\n", p.Name, p.Before.StringFixed(2), p.After.StringFixed(2), p.Saving.StringFixed(2),
			p.SharePct.StringFixed(2), p.Monthly.StringFixed(2))
	}
	fmt.Fprintln(&b, "\n| service | cost without | cost with | SLO-violation min without | with |")
	fmt.Fprintln(&b, "|---|---|---|---|---|")
	names := make([]string, 0, len(r.Before.Cost))
	for n := range r.Before.Cost {
		names = append(names, n)
	}
	for n := range r.After.Cost {
		if _, ok := r.Before.Cost[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", n, r.Before.Cost[n].StringFixed(2), r.After.Cost[n].StringFixed(2), r.Before.SLOViolationMinutes[n], r.After.SLOViolationMinutes[n])
	}
	fmt.Fprintf(&b, "| total | %s | %s | %d | %d |\n", r.Before.CostTotal.StringFixed(2), r.After.CostTotal.StringFixed(2), r.Before.SLOTotal, r.After.SLOTotal)
	fmt.Fprintf(&b, "\nAPI replica-hours: %.1f without, %.1f with.\n", r.Before.APIReplicaHours, r.After.APIReplicaHours)
	if len(r.Realized) > 0 {
		fmt.Fprintln(&b, "\n| service | estimated monthly impact | realized per 30 days (cost rows, from the day applied) |")
		fmt.Fprintln(&b, "|---|---|---|")
		for _, x := range r.Realized {
			est := "unknown"
			if x.Estimated.Valid {
				est = x.Estimated.Decimal.StringFixed(2)
			}
			fmt.Fprintf(&b, "| %s | %s | %s (from day %d) |\n", x.Service, est, x.Monthly.StringFixed(2), x.FromDay)
		}
	}
	fmt.Fprint(&b, "\nRecommendations applied:\n\n")
	for _, a := range r.After.Applied {
		est := "unknown"
		if a.Estimated.Valid {
			est = a.Estimated.Decimal.StringFixed(2)
		}
		fmt.Fprintf(&b, "- %s %s (%s): %s; recommended %s; estimated %s/month\n", a.At.Format("2006-01-02"), a.Service, a.Type, a.Title, a.Recommended.JSON(), est)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
