package replay

// The fixture traces model a wedding-planning SaaS API whose replicas each
// serve 100 req/s at 100 % busy, with a minimum fleet of 2 (200 req/s) and
// a policy that targets 60 % utilization with a 10 % tolerance (54–66 %).
// testdata/traces/README.md gives each shape's parameters and why;
// TestTraceFixtures keeps the committed files equal to GenerateTrace.
//
// Every generator draws its noise from its own PCG stream with a fixed
// seed, in row order, so a fixture is the same to the byte on every run.
// Explicit float64 conversions around products keep the compiler from
// fusing them into FMA instructions on the architectures that have them,
// which would change the last bit, and sometimes the third decimal.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// TraceNames are the fixture shapes, by file name without .csv.
var TraceNames = []string{"daily", "slow-ramp", "flash-spike", "sawtooth", "flat-noisy"}

// traceShapes is the generators' own list, so that a caller changing
// TraceNames cannot change what GenerateTrace knows.
var traceShapes = []struct {
	name string
	gen  func() Trace
}{
	{"daily", traceDaily},
	{"slow-ramp", traceSlowRamp},
	{"flash-spike", traceFlashSpike},
	{"sawtooth", traceSawtooth},
	{"flat-noisy", traceFlatNoisy},
}

// traceSeed is the first PCG seed of every shape (the fixtures' start
// date); the second is the shape's number in TraceNames, from 1.
const traceSeed = 20270301

// 2027-03-01 is a Monday, the start of engagement season.
var traceGenStart = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

// GenerateTrace builds the fixture shape of that name; the same name always
// gives the same trace, to the bit.
func GenerateTrace(name string) (Trace, error) {
	names := make([]string, len(traceShapes))
	for i, s := range traceShapes {
		if s.name == name {
			return s.gen(), nil
		}
		names[i] = s.name
	}
	return Trace{}, fmt.Errorf("no trace shape %q; the shapes are %s", name, strings.Join(names, ", "))
}

// traceBuild samples rate at the start of each of n steps and rounds it the
// way WriteCSV does, so that a generated trace equals its fixture read back.
func traceBuild(start time.Time, step time.Duration, n int, rate func(i int, elapsed time.Duration) float64) Trace {
	rates := make([]float64, n)
	for i := range rates {
		rates[i] = traceRound3(rate(i, time.Duration(i)*step))
	}
	return Trace{Start: start, Step: step, Rates: rates}
}

func traceRand(shape uint64) *rand.Rand { return rand.New(rand.NewPCG(traceSeed, shape)) }

// traceNoise is a multiplicative factor uniform in [1−a, 1+a).
func traceNoise(r *rand.Rand, a float64) float64 { return 1 + float64(a*(2*r.Float64()-1)) }

// traceLerp goes from a to b as elapsed goes from 0 to span.
func traceLerp(a, b float64, elapsed, span time.Duration) float64 {
	return a + float64((b-a)*(float64(elapsed)/float64(span)))
}

// Parameters of the daily shape, in req/s and hours of the day (UTC).
const (
	traceDailyDays       = 14
	traceDailyTrough     = 120.0 // the night, 02:00–06:00
	traceDailyPlateau    = 380.0 // above the trough: a daytime level of 500
	traceDailyRiseAt     = 8.0   // the morning rise's midpoint (07:00–09:00)
	traceDailyRiseWidth  = 0.4   // logistic scale: 8 % of the rise at 07:00, 92 % at 09:00
	traceDailyFallAt     = 23.0  // the night fall's midpoint
	traceDailyFallWidth  = 0.5   // 2 % of the plateau left at 01:00
	traceDailyLunch      = 80.0  // the lunch bump, at 12:30
	traceDailyLunchAt    = 12.5
	traceDailyLunchSigma = 0.6
	traceDailyEvening    = 340.0 // each of two Gaussians, 20:00 and 21:30: a peak of ≈ 900
	traceDailyEveningA   = 20.0
	traceDailyEveningB   = 21.5
	traceDailyEveSigma   = 0.75
	traceDailyWeekend    = 1.5  // Saturday and Sunday, above the trough
	traceDailyCycleFrom  = 4.0  // a day's shape runs 04:00–04:00, so the weekend factor switches in the trough
	traceDailySurgeAt    = 19   // the reminder e-mail and push, o'clock
	traceDailySurgeRise  = 3    // minutes to +100 %
	traceDailySurgeTau   = 25.0 // minutes, the surge's decay time constant
	traceDailySeason     = 0.25 // growth over the fortnight
	traceDailyNoise      = 0.04
	traceDailyStepsInDay = 24 * 60
)

// traceDailyAbove is the weekday curve above the trough at hour x of the
// 04:00–04:00 cycle (x = 0 at 04:00). Every term is below 0.02 req/s at
// both ends of the cycle, so the curve is continuous from day to day.
func traceDailyAbove(x float64) float64 {
	logistic := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	gauss := func(x, mu, sigma float64) float64 {
		d := (x - mu) / sigma
		return math.Exp(-float64(d*d) / 2)
	}
	c := traceDailyCycleFrom
	plateau := float64(traceDailyPlateau * (logistic((x-(traceDailyRiseAt-c))/traceDailyRiseWidth) - logistic((x-(traceDailyFallAt-c))/traceDailyFallWidth)))
	lunch := float64(traceDailyLunch * gauss(x, traceDailyLunchAt-c, traceDailyLunchSigma))
	evening := float64(traceDailyEvening * (gauss(x, traceDailyEveningA-c, traceDailyEveSigma) + gauss(x, traceDailyEveningB-c, traceDailyEveSigma)))
	return plateau + lunch + evening
}

// traceDailySurge is the factor of the 19:00 surge, m minutes after it
// started: a linear rise to ×2 in the steps 19:00, 19:01 and 19:02, then
// an exponential decay. It is never switched off, only decays: a day
// later it is e^-57.5, nothing.
func traceDailySurge(m int) float64 {
	if m < traceDailySurgeRise {
		return 1 + float64(m+1)/traceDailySurgeRise
	}
	return 1 + math.Exp(-float64(m-(traceDailySurgeRise-1))/traceDailySurgeTau)
}

func traceDaily() Trace {
	r := traceRand(1)
	n := traceDailyDays * traceDailyStepsInDay
	return traceBuild(traceGenStart, time.Minute, n, func(i int, _ time.Duration) float64 {
		day, minute := i/traceDailyStepsInDay, i%traceDailyStepsInDay
		hour := float64(minute) / 60
		cycleDay, x := day, hour-traceDailyCycleFrom
		if x < 0 {
			cycleDay, x = day-1, x+24
		}
		above := traceDailyAbove(x)
		if wd := traceGenStart.AddDate(0, 0, cycleDay).Weekday(); wd == time.Saturday || wd == time.Sunday {
			above = float64(above * traceDailyWeekend)
		}
		v := traceDailyTrough + above
		sinceSurge := (minute - traceDailySurgeAt*60 + traceDailyStepsInDay) % traceDailyStepsInDay
		v = float64(v * traceDailySurge(sinceSurge))
		v = float64(v * (1 + float64(traceDailySeason*(float64(i)/float64(n)))))
		return float64(v * traceNoise(r, traceDailyNoise))
	})
}

func traceSlowRamp() Trace {
	r := traceRand(2)
	const low, high = 150.0, 1500.0
	return traceBuild(traceGenStart.Add(8*time.Hour), 10*time.Second, 4*360, func(_ int, el time.Duration) float64 {
		var v float64
		switch {
		case el < time.Hour:
			v = low
		case el < 3*time.Hour:
			v = traceLerp(low, high, el-time.Hour, 2*time.Hour)
		default:
			v = high
		}
		return float64(v * traceNoise(r, 0.03))
	})
}

func traceFlashSpike() Trace {
	r := traceRand(3)
	const base, peak = 200.0, 2000.0
	const on, up, hold, down = 20 * time.Minute, time.Minute, 10 * time.Minute, 5 * time.Minute
	return traceBuild(traceGenStart.Add(12*time.Hour), 10*time.Second, 360, func(_ int, el time.Duration) float64 {
		var v float64
		switch {
		case el < on:
			v = base
		case el < on+up:
			v = traceLerp(base, peak, el-on, up)
		case el < on+up+hold:
			v = peak
		case el < on+up+hold+down:
			v = traceLerp(peak, base, el-on-up-hold, down)
		default:
			v = base
		}
		return float64(v * traceNoise(r, 0.03))
	})
}

// traceSawtooth has no noise, so no random stream: its edges must be exact.
func traceSawtooth() Trace {
	const warmUp = 2 * time.Minute
	return traceBuild(traceGenStart.Add(12*time.Hour), 5*time.Second, 12*12, func(_ int, el time.Duration) float64 {
		if el >= warmUp && (el-warmUp)/time.Minute%2 == 0 {
			return 600 // 3× the minimum fleet's capacity
		}
		return 100 // 0.5×
	})
}

func traceFlatNoisy() Trace {
	r := traceRand(5)
	return traceBuild(traceGenStart.Add(12*time.Hour), 10*time.Second, 2*360, func(int, time.Duration) float64 {
		return float64(240 * traceNoise(r, 0.04))
	})
}
