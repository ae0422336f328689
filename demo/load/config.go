// Package load is the demo's small open-loop load driver: it sends requests on a
// schedule of rate stages whether or not earlier ones have answered, as real users do,
// so an overloaded target shows queueing instead of slowing the generator down. The full
// load-testing tool lives in the loadtest module; this one only needs to push the demo
// fleet past its capacity and back.
package load

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultMaxInFlight bounds concurrent requests when Config.MaxInFlight is 0.
const DefaultMaxInFlight = 1024

// Stage is one segment of the schedule. The rate moves linearly from the previous
// stage's rate to Rate over Duration; the first stage holds Rate from the start (lead
// with a zero-rate stage to ramp up from nothing).
type Stage struct {
	Duration time.Duration
	Rate     float64 // requests per second at the end of the stage
}

// Config describes one run.
type Config struct {
	Target      string   // base URL, e.g. http://127.0.0.1:9683
	Paths       []string // requested round-robin, each starting with "/"
	Stages      []Stage
	Client      *http.Client // nil: a client with a 30 s timeout and pooled connections
	MaxInFlight int          // 0: DefaultMaxInFlight; requests due while this many are open are dropped
}

// Validate returns every problem at once, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Target == "" {
		add("target", "required")
	} else if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("target", "must be an http or https URL with a host, got %q", c.Target)
	}
	if len(c.Paths) == 0 {
		add("paths", "must not be empty")
	}
	for i, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			add(fmt.Sprintf("paths[%d]", i), "must start with \"/\", got %q", p)
		}
	}
	if len(c.Stages) == 0 {
		add("stages", "must not be empty")
	}
	for i, s := range c.Stages {
		if s.Duration <= 0 {
			add(fmt.Sprintf("stages[%d].duration", i), "must be > 0")
		}
		if s.Rate < 0 || math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
			add(fmt.Sprintf("stages[%d].rate", i), "must be a finite number >= 0, got %v", s.Rate)
		}
	}
	if c.MaxInFlight < 0 {
		add("max_in_flight", "must be >= 0, got %d", c.MaxInFlight)
	}
	return errors.Join(errs...)
}

// Result counts the requests of a run. After Run returns, Sent == OK + Errors.
type Result struct {
	Sent    int64         // requests started
	OK      int64         // 2xx answers
	Errors  int64         // non-2xx answers and transport failures (refused, timeout, cancelled)
	Dropped int64         // due by the schedule but not sent because MaxInFlight were open
	Elapsed time.Duration // wall time of the run
}
