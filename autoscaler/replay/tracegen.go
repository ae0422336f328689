package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The fixture traces model a wedding-planning SaaS API whose replicas each
// serve 100 req/s at 100 % busy, with a minimum fleet of 2 and a target of
// 60 % utilization (±10 %). testdata/traces/README.md explains each shape;
// TestTraceFixtures keeps the committed files equal to GenerateTrace.

// TraceNames are the fixture shapes, by file name without .csv.
var TraceNames = []string{"daily", "slow-ramp", "flash-spike", "sawtooth", "flat-noisy"}

var traceStart = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC) // a Monday, the start of engagement season

// GenerateTrace builds a fixture shape; the same name always gives the
// same trace, to the byte.
func GenerateTrace(name string) (Trace, error) {
	switch name {
	case "daily":
		return daily(), nil
	case "slow-ramp":
		r := rand.New(rand.NewPCG(2, 20))
		return build(traceStart.Add(8*time.Hour), 10*time.Second, 4*time.Hour, func(t time.Duration) float64 {
			var v float64
			switch {
			case t < time.Hour:
				v = 150
			case t < 3*time.Hour:
				v = 150 + (1500-150)*(t-time.Hour).Hours()/2
			default:
				v = 1500
			}
			return v * noise(r, 0.03)
		}), nil
	case "flash-spike":
		r := rand.New(rand.NewPCG(3, 30))
		return build(traceStart.Add(12*time.Hour), 10*time.Second, time.Hour, func(t time.Duration) float64 {
			on, up, hold, down := 20*time.Minute, time.Minute, 10*time.Minute, 5*time.Minute
			var v float64
			switch {
			case t < on:
				v = 200
			case t < on+up:
				v = 200 + 1800*(t-on).Seconds()/up.Seconds()
			case t < on+up+hold:
				v = 2000
			case t < on+up+hold+down:
				v = 2000 - 1800*(t-on-up-hold).Seconds()/down.Seconds()
			default:
				v = 200
			}
			return v * noise(r, 0.03)
		}), nil
	case "sawtooth":
		return build(traceStart.Add(12*time.Hour), 5*time.Second, 12*time.Minute, func(t time.Duration) float64 {
			if t < 2*time.Minute {
				return 100
			}
			if int((t-2*time.Minute)/time.Minute)%2 == 0 {
				return 600 // 3× the minimum fleet's capacity
			}
			return 100 // 0.5×
		}), nil
	case "flat-noisy":
		r := rand.New(rand.NewPCG(5, 50))
		return build(traceStart.Add(12*time.Hour), 10*time.Second, 2*time.Hour, func(time.Duration) float64 {
			return 240 * noise(r, 0.04)
		}), nil
	}
	return Trace{}, fmt.Errorf("no trace shape %q (have %s)", name, strings.Join(TraceNames, ", "))
}

func build(start time.Time, step, length time.Duration, f func(time.Duration) float64) Trace {
	t := Trace{Start: start, Step: step}
	for at := time.Duration(0); at < length; at += step {
		t.Rates = append(t.Rates, math.Round(f(at)*1000)/1000)
	}
	return t
}

// noise is a multiplicative factor uniform in [1−a, 1+a].
func noise(r *rand.Rand, a float64) float64 { return 1 + a*(2*r.Float64()-1) }

// daily is two weeks at one-minute steps: a night trough, a morning rise, a
// daytime plateau with a lunch bump, an evening peak; weekends busier (couples
// plan together); a daily 19:00 surge (the reminder e-mail and push); growth
// of a quarter over the fortnight (engagement season); ±4 % noise.
func daily() Trace {
	r := rand.New(rand.NewPCG(1, 10))
	gauss := func(h, mu, sigma float64) float64 {
		// Circular in the day, so the evening peak wraps past midnight.
		d := math.Mod(h-mu+36, 24) - 12
		return math.Exp(-d * d / (2 * sigma * sigma))
	}
	return build(traceStart, time.Minute, 14*24*time.Hour, func(t time.Duration) float64 {
		h := math.Mod(t.Hours(), 24)
		day := int(t.Hours()/24) % 7 // 0 = Monday
		base := 120.0
		active := 330*smoothstep(h, 6.5, 9)*(1-smoothstep(h, 23, 25.5)) + 60*gauss(h, 12.75, 0.7) + 420*gauss(h, 20.75, 1.2)
		if day >= 5 {
			active *= 1.5
		}
		v := base + active
		if h >= 19 {
			since := (h - 19) * 60 // minutes since 19:00
			v *= 1 + 1.0*math.Min(since/3, 1)*math.Exp(-math.Max(since-3, 0)/25)
		}
		v *= 1 + 0.25*t.Hours()/(14*24)
		return v * noise(r, 0.04)
	})
}

// smoothstep rises from 0 at a to 1 at b.
func smoothstep(x, a, b float64) float64 {
	u := math.Min(math.Max((x-a)/(b-a), 0), 1)
	return u * u * (3 - 2*u)
}
