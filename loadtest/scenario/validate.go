package scenario

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/wedsync/scaling/loadtest/threshold"
)

// ValidationError lists every problem of a scenario, each prefixed with the
// path of its field (scenarios.peak.stages[1].duration: required).
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid scenario: " + e.Problems[0]
	}
	return "invalid scenario:\n  " + strings.Join(e.Problems, "\n  ")
}

type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

// Defaults k6 applies.
const (
	DefaultGracefulStop     = 30 * time.Second
	DefaultGracefulRampDown = 30 * time.Second
	DefaultMaxDuration      = 10 * time.Minute
	DefaultTimeUnit         = time.Second
	DefaultRequestTimeout   = 60 * time.Second
)

// Validate expands k6's shortcuts (vus, duration, stages, iterations) into a
// "default" scenario, fills every default k6 would, and checks everything,
// returning a *ValidationError that lists all problems. It is idempotent.
func (s *Scenario) Validate() error {
	var p problems
	if s.Type == "" {
		s.Type = TypeCustom
	}
	if !validType(s.Type) {
		p.add("type", "unknown test type %q (one of %s)", s.Type, joinTypes())
	}
	if s.Name == "" {
		s.Name = string(s.Type)
	}
	if len(s.Name) > 200 {
		p.add("name", "longer than 200 characters")
	}
	s.expandShortcuts(&p)
	s.validateTarget(&p)
	s.validateRequests(&p)
	for _, name := range s.ExecutorNames() {
		path := "scenarios." + name
		if !validKey(name) {
			p.add(path, "scenario names are letters, digits, '-' and '_'")
		}
		e := s.Scenarios[name]
		if e == nil {
			p.add(path, "empty")
			continue
		}
		e.validate(path, &p)
	}
	s.validateThresholds(&p)
	for _, st := range s.SummaryTrendStats {
		if st == "avg" || st == "min" || st == "med" || st == "max" || st == "count" {
			continue
		}
		if e, err := threshold.Parse(st + "<0"); err != nil || !strings.HasPrefix(e.Agg, "p(") {
			p.add("summaryTrendStats", "%q is not avg, min, med, max, count or p(N)", st)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

func validType(t Type) bool {
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}

func joinTypes() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func validKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

func (s *Scenario) expandShortcuts(p *problems) {
	short := s.VUs != nil || s.Duration != nil || s.Iterations != nil || len(s.Stages) > 0
	if len(s.Scenarios) > 0 {
		if short {
			p.add("vus/duration/iterations/stages", "cannot be used together with scenarios (put them in a scenario)")
		}
		return
	}
	e := &Executor{}
	switch {
	case len(s.Stages) > 0:
		e.Executor, e.Stages, e.StartVUs = RampingVUs, s.Stages, s.VUs
		if s.Duration != nil || s.Iterations != nil {
			p.add("stages", "cannot be combined with duration or iterations")
		}
	case s.Iterations != nil:
		e.Executor, e.Iterations, e.VUs, e.MaxDuration = SharedIterations, s.Iterations, s.VUs, s.Duration
	case s.Duration != nil:
		e.Executor, e.Duration, e.VUs = ConstantVUs, s.Duration, s.VUs
	case s.VUs != nil:
		p.add("vus", "needs a duration, iterations or stages")
		return
	default:
		// k6 runs one iteration of one VU when nothing is said.
		e.Executor, e.VUs, e.Iterations = SharedIterations, ptr[int64](1), ptr[int64](1)
	}
	s.Scenarios = map[string]*Executor{"default": e}
	s.VUs, s.Duration, s.Iterations, s.Stages = nil, nil, nil, nil
}

func (s *Scenario) validateTarget(p *problems) {
	if s.Target == "" {
		return
	}
	u, err := url.Parse(s.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		p.add("target", "%q is not an http(s)://host[:port][/path] URL", s.Target)
	}
}

func (s *Scenario) validateRequests(p *problems) {
	if len(s.Requests) == 0 {
		if s.Target == "" {
			p.add("target", "required (or requests with absolute URLs)")
		}
		return
	}
	names := map[string]int{}
	for i := range s.Requests {
		r := &s.Requests[i]
		path := fmt.Sprintf("requests[%d]", i)
		if r.Method == "" {
			r.Method = "GET"
		}
		if !httpguts.ValidHeaderFieldName(r.Method) {
			p.add(path+".method", "%q is not an HTTP method", r.Method)
		}
		if r.Name == "" {
			r.Name = r.URL
		}
		if j, dup := names[r.Name]; dup {
			p.add(path+".name", "%q is also the name of requests[%d]", r.Name, j)
		}
		names[r.Name] = i
		switch u, err := url.Parse(r.URL); {
		case r.URL == "":
			p.add(path+".url", "required")
		case err != nil || strings.ContainsAny(r.URL, " \r\n\t"):
			p.add(path+".url", "%q is not a URL", r.URL)
		case u.IsAbs():
			if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				p.add(path+".url", "%q: want http(s)://host[:port]/path", r.URL)
			}
		case !strings.HasPrefix(r.URL, "/"):
			p.add(path+".url", "%q: want an absolute URL or a path starting with /", r.URL)
		case s.Target == "":
			p.add(path+".url", "%q is a path but no target is set", r.URL)
		}
		for k, v := range r.Headers {
			hp := path + ".headers." + k
			switch {
			case !httpguts.ValidHeaderFieldName(k):
				p.add(hp, "not a valid header name")
			case !httpguts.ValidHeaderFieldValue(v):
				p.add(hp, "value %q holds characters a header cannot", v)
			case strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") || strings.EqualFold(k, "Connection"):
				p.add(hp, "set by the load generator itself")
			}
		}
		if r.Weight == nil {
			r.Weight = ptr(1.0)
		}
		if w := *r.Weight; !(w > 0) || math.IsInf(w, 0) {
			p.add(path+".weight", "must be a positive number, got %v", w)
		}
		if r.Timeout == nil {
			r.Timeout = dur(DefaultRequestTimeout)
		}
		if *r.Timeout <= 0 {
			p.add(path+".timeout", "must be positive, got %s", *r.Timeout)
		}
		for k := range r.Tags {
			if !validKey(k) {
				p.add(path+".tags."+k, "tag names are letters, digits, '-' and '_'")
			}
		}
	}
}

// fields lists, per executor, the fields beyond the common ones.
var fields = map[string][]string{
	ConstantVUs:         {"vus", "duration", "thinkTime"},
	RampingVUs:          {"startVUs", "stages", "gracefulRampDown", "thinkTime"},
	SharedIterations:    {"vus", "iterations", "maxDuration", "thinkTime"},
	PerVUIterations:     {"vus", "iterations", "maxDuration", "thinkTime"},
	ConstantArrivalRate: {"rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"},
	RampingArrivalRate:  {"startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"},
}

func (e *Executor) set() map[string]bool {
	return map[string]bool{
		"vus": e.VUs != nil, "iterations": e.Iterations != nil, "maxDuration": e.MaxDuration != nil,
		"duration": e.Duration != nil, "startVUs": e.StartVUs != nil, "stages": e.Stages != nil,
		"gracefulRampDown": e.GracefulRampDown != nil, "rate": e.Rate != nil, "startRate": e.StartRate != nil,
		"timeUnit": e.TimeUnit != nil, "preAllocatedVUs": e.PreAllocatedVUs != nil, "maxVUs": e.MaxVUs != nil,
		"thinkTime": e.ThinkTime != nil,
	}
}

func (e *Executor) validate(path string, p *problems) {
	allowed, ok := fields[e.Executor]
	if !ok {
		if e.Executor == "" {
			p.add(path+".executor", "required (one of %s)", strings.Join(Executors, ", "))
		} else {
			p.add(path+".executor", "unknown executor %q (one of %s)", e.Executor, strings.Join(Executors, ", "))
		}
		return
	}
	var extra []string
	for f, isSet := range e.set() {
		if isSet && !contains(allowed, f) {
			extra = append(extra, f)
		}
	}
	sort.Strings(extra)
	for _, f := range extra {
		p.add(path+"."+f, "not a field of executor %s (its fields: %s)", e.Executor, strings.Join(allowed, ", "))
	}
	if e.StartTime == nil {
		e.StartTime = dur(0)
	}
	if *e.StartTime < 0 {
		p.add(path+".startTime", "must not be negative, got %s", *e.StartTime)
	}
	if e.GracefulStop == nil {
		e.GracefulStop = dur(DefaultGracefulStop)
	}
	if *e.GracefulStop < 0 {
		p.add(path+".gracefulStop", "must not be negative, got %s", *e.GracefulStop)
	}
	if e.ThinkTime != nil && *e.ThinkTime < 0 {
		p.add(path+".thinkTime", "must not be negative, got %s", *e.ThinkTime)
	}
	positive := func(f string, v **int64, def int64, min int64) {
		if *v == nil {
			if def < 0 {
				p.add(path+"."+f, "required")
				return
			}
			*v = ptr(def)
		}
		if **v < min {
			p.add(path+"."+f, "must be at least %d, got %d", min, **v)
		}
	}
	required := func(f string, d *Duration) {
		if d == nil {
			p.add(path+"."+f, "required")
		} else if *d <= 0 {
			p.add(path+"."+f, "must be positive, got %s", *d)
		}
	}
	switch e.Executor {
	case ConstantVUs:
		positive("vus", &e.VUs, 1, 1)
		required("duration", e.Duration)
	case RampingVUs:
		positive("startVUs", &e.StartVUs, 1, 0)
		if e.GracefulRampDown == nil {
			e.GracefulRampDown = dur(DefaultGracefulRampDown)
		}
		if *e.GracefulRampDown < 0 {
			p.add(path+".gracefulRampDown", "must not be negative, got %s", *e.GracefulRampDown)
		}
		validateStages(path, e.Stages, p)
	case SharedIterations, PerVUIterations:
		positive("vus", &e.VUs, 1, 1)
		positive("iterations", &e.Iterations, 1, 1)
		if e.MaxDuration == nil {
			e.MaxDuration = dur(DefaultMaxDuration)
		}
		required("maxDuration", e.MaxDuration)
		if e.Executor == SharedIterations && e.VUs != nil && e.Iterations != nil && *e.Iterations < *e.VUs && *e.Iterations >= 1 {
			p.add(path+".iterations", "%d is fewer than vus (%d): some VUs would never run", *e.Iterations, *e.VUs)
		}
	case ConstantArrivalRate, RampingArrivalRate:
		if e.TimeUnit == nil {
			e.TimeUnit = dur(DefaultTimeUnit)
		}
		if *e.TimeUnit <= 0 {
			p.add(path+".timeUnit", "must be positive, got %s", *e.TimeUnit)
		}
		if e.Executor == ConstantArrivalRate {
			positive("rate", &e.Rate, -1, 1)
			required("duration", e.Duration)
		} else {
			positive("startRate", &e.StartRate, 0, 0)
			validateStages(path, e.Stages, p)
		}
		positive("preAllocatedVUs", &e.PreAllocatedVUs, -1, 1)
		if e.MaxVUs == nil && e.PreAllocatedVUs != nil {
			e.MaxVUs = ptr(*e.PreAllocatedVUs)
		}
		if e.MaxVUs != nil && e.PreAllocatedVUs != nil && *e.MaxVUs < *e.PreAllocatedVUs {
			p.add(path+".maxVUs", "%d is fewer than preAllocatedVUs (%d)", *e.MaxVUs, *e.PreAllocatedVUs)
		}
	}
}

func validateStages(path string, stages []Stage, p *problems) {
	if len(stages) == 0 {
		p.add(path+".stages", "required: at least one {duration, target}")
		return
	}
	var total Duration
	for i, st := range stages {
		sp := fmt.Sprintf("%s.stages[%d]", path, i)
		if st.Duration == nil {
			p.add(sp+".duration", "required")
		} else if *st.Duration < 0 {
			p.add(sp+".duration", "must not be negative, got %s", *st.Duration)
		} else {
			total += *st.Duration
		}
		if st.Target == nil {
			p.add(sp+".target", "required")
		} else if *st.Target < 0 {
			p.add(sp+".target", "must not be negative, got %d", *st.Target)
		}
	}
	if total == 0 && len(*p) == 0 {
		p.add(path+".stages", "total duration is zero")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Scenario) validateThresholds(p *problems) {
	keys := make([]string, 0, len(s.Thresholds))
	for k := range s.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := "thresholds." + k
		m, err := threshold.ParseMetricName(k)
		if err != nil {
			p.add(path, "%v", err)
			continue
		}
		info, ok := threshold.Metrics[m.Name]
		if !ok {
			known := make([]string, 0, len(threshold.Metrics))
			for n := range threshold.Metrics {
				known = append(known, n)
			}
			sort.Strings(known)
			p.add(path, "metric %q is not measured by wedsync-load (one of %s)", m.Name, strings.Join(known, ", "))
			continue
		}
		if len(m.Tags) > 0 && !info.PerRequest {
			p.add(path, "tag filters apply only to http_reqs, http_req_duration and http_req_failed")
		}
		if len(s.Thresholds[k]) == 0 {
			p.add(path, "empty list")
		}
		for i, t := range s.Thresholds[k] {
			tp := fmt.Sprintf("%s[%d]", path, i)
			e, err := threshold.Parse(t.Threshold)
			if err != nil {
				p.add(tp, "%v", err)
				continue
			}
			if err := e.CheckType(info.Type); err != nil {
				p.add(tp, "%v", err)
			}
			if t.DelayAbortEval != nil && *t.DelayAbortEval < 0 {
				p.add(tp+".delayAbortEval", "must not be negative, got %s", *t.DelayAbortEval)
			}
		}
	}
}
