// Package schedule owns a service policy's scheduled scaling windows: the
// `schedules:` entries that raise a service's minimum replicas (and
// optionally its maximum) at known busy times, such as a weekly peak written
// as a cron expression plus a duration, or a one-off season written as a date
// range. It validates them against the policy's hard bounds, refuses windows
// that would contradict each other, and answers which windows are active at
// an instant and when that next changes.
//
// A cron window's occurrences are computed in its own time zone, so
// "0 18 * * 5" in Europe/London starts at 18:00 London time in summer and in
// winter. Its duration is elapsed time, not wall-clock time: a 54h window
// that spans a DST change ends an hour earlier or later on the wall clock.
// Occurrences follow github.com/robfig/cron/v3: a local time that does not
// exist (skipped by the spring change) does not fire that day, and one that
// happens twice (repeated by the autumn change) fires twice.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names must resolve the same on a scratch container as on a laptop

	"github.com/robfig/cron/v3"

	"github.com/wedsync/scaling/core/config"
)

const (
	// maxDuration keeps a cron window shorter than the longest year: a
	// longer window overlaps itself every year and is always active, which
	// a date range says more honestly.
	maxDuration = 366 * 24 * time.Hour

	// searchAhead is how far past ref contradictions are searched: a year
	// and a bit, so that every yearly pattern occurs at least once.
	searchAhead = 400 * 24 * time.Hour

	// maxIntervals bounds the occurrences enumerated per window and per
	// search, so that Compile stays fast for "* * * * *" style windows.
	maxIntervals = 1_000_000

	// changeHorizonYears is how far NextChange looks; past it the caller
	// will have reloaded its configuration anyway.
	changeHorizonYears = 2

	dateLayout        = "2006-01-02"
	minuteLayout      = "2006-01-02T15:04"
	secondLayout      = "2006-01-02T15:04:05"
	formatsForHumans  = "2006-01-02, 2006-01-02T15:04, 2006-01-02T15:04:05 or RFC 3339 (2006-01-02T15:04:05Z07:00)"
	contradictionHelp = "so the raised minimum would exceed the maximum"
)

// Window is one scheduled window of a policy's `schedules:` list.
type Window struct {
	Name        string          `yaml:"name"`                   // required, [a-z0-9_-]+, unique in the list
	Cron        string          `yaml:"cron,omitempty"`         // standard 5-field cron (minute hour dom month dow) or a descriptor such as @weekly: when each window starts
	Duration    config.Duration `yaml:"duration,omitempty"`     // length of each cron window; required with cron; > 0 and <= 366 days
	Start       string          `yaml:"start,omitempty"`        // fixed window start: 2006-01-02 (midnight), 2006-01-02T15:04, 2006-01-02T15:04:05 in TimeZone, or RFC 3339 with an offset
	End         string          `yaml:"end,omitempty"`          // same formats; a bare date means the end of that day (inclusive), i.e. the next midnight
	TimeZone    string          `yaml:"timezone,omitempty"`     // IANA name, default "UTC"
	MinReplicas int             `yaml:"min_replicas"`           // required, the raised minimum
	MaxReplicas *int            `yaml:"max_replicas,omitempty"` // optional raised maximum
}

// Set is a compiled, validated list of windows. It is immutable and safe for
// concurrent use. A nil *Set means the policy has no schedules; its methods
// work on nil.
type Set struct {
	windows []window
}

// Active says which windows are active at an instant and what they demand.
type Active struct {
	Names []string // active windows, in policy order
	Min   int      // max of the active windows' min_replicas; 0 when none active
	// Max is the max of the active windows' max_replicas that are set; 0
	// when none sets one. It is never below Min when non-zero: see At.
	Max int
}

// Any reports whether at least one window is active.
func (a Active) Any() bool { return len(a.Names) > 0 }

type window struct {
	name   string
	path   string
	min    int
	max    int // meaningful only when hasMax
	hasMax bool
	loc    *time.Location

	// A cron window has sched and dur; a date window has start and end.
	cronSpec string
	sched    cron.Schedule
	dur      time.Duration
	start    time.Time
	end      time.Time
}

// Len returns the number of windows.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.windows)
}

// At returns the windows active at t.
//
// Compile refuses windows whose minimum exceeds another's maximum while both
// are active, but it can only search a bounded span (see Compile); a clash
// outside it, such as a leap-day cron years ahead, would otherwise reach the
// caller as Min > Max. The minimum wins there because both values are
// already inside the policy's hard bounds and a window exists to guarantee
// capacity.
func (s *Set) At(t time.Time) Active {
	a := s.at(t)
	if a.Max > 0 && a.Max < a.Min {
		a.Max = a.Min
	}
	return a
}

// at is At without the clash guard, so tests can check that Compile's search
// leaves nothing for the guard to do inside the searched span.
func (s *Set) at(t time.Time) Active {
	var a Active
	if s == nil {
		return a
	}
	for i := range s.windows {
		w := &s.windows[i]
		if !w.activeAt(t) {
			continue
		}
		a.Names = append(a.Names, w.name)
		a.Min = max(a.Min, w.min)
		if w.hasMax {
			a.Max = max(a.Max, w.max)
		}
	}
	return a
}

// NextChange returns the first instant after t at which a window starts or
// ends, so the caller can sleep until then. It reports false when nothing
// changes within two years of t.
func (s *Set) NextChange(t time.Time) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	limit := t.AddDate(changeHorizonYears, 0, 0)
	var best time.Time
	found := false
	for i := range s.windows {
		c, ok := s.windows[i].nextChange(t, limit)
		if ok && !c.After(limit) && (!found || c.Before(best)) {
			best, found = c, true
		}
	}
	return best, found
}

func (w *window) activeAt(t time.Time) bool {
	if w.sched == nil {
		return !t.Before(w.start) && t.Before(w.end)
	}
	// t is inside an occurrence o exactly when o is in (t-dur, t]. Next is
	// strictly after its argument, so Next(t-dur) is the earliest candidate:
	// active at o itself, inactive at o+dur unless another occurrence
	// begins there.
	o := w.next(t.Add(-w.dur))
	return !o.IsZero() && !o.After(t)
}

// next returns the first occurrence strictly after t, or the zero time when
// there is none within robfig's five-year reach.
func (w *window) next(t time.Time) time.Time {
	// The schedule carries no location of its own, so robfig evaluates it
	// in the location of its argument.
	n := w.sched.Next(t.In(w.loc))
	if n.IsZero() || !n.After(t) {
		// Not after t would be a robfig bug around a DST change; stopping
		// is better than looping on it.
		return time.Time{}
	}
	return n
}

func (w *window) nextChange(t, limit time.Time) (time.Time, bool) {
	if w.sched == nil {
		switch {
		case t.Before(w.start):
			return w.start, true
		case t.Before(w.end):
			return w.end, true
		}
		return time.Time{}, false
	}
	o := w.next(t.Add(-w.dur))
	if o.IsZero() {
		return time.Time{}, false
	}
	if o.After(t) {
		// Inactive at t, so the next occurrence is a change.
		return o, true
	}
	// Active at t: the change is the end of the run of occurrences that
	// overlap or touch, which is where a self-overlapping window (duration
	// longer than its period) finally stops.
	end := o.Add(w.dur)
	for !end.After(limit) {
		n := w.next(end.Add(-w.dur))
		if n.IsZero() || n.After(end) {
			return end, true
		}
		end = n.Add(w.dur)
	}
	return time.Time{}, false
}

// Compile validates windows against the policy's hard bounds [policyMin,
// policyMax] and returns every problem at once (errors.Join), each error
// prefixed with the field path: path is e.g. "services.api.schedules", so an
// error reads `services.api.schedules[1].cron: "61 * * * *" is not a valid
// cron expression: ...`.
//
// ref is the time from which contradictions are searched (the caller passes
// time.Now()). Two windows contradict when one's min_replicas exceeds the
// other's max_replicas while both are active; the search covers
// [min(ref, earliest start), max(ref+400 days, latest end)], so that the
// answer depends only on the configuration and ref.
//
// An empty list compiles to a nil *Set.
func Compile(ws []Window, policyMin, policyMax int, path string, ref time.Time) (*Set, error) {
	return compile(ws, policyMin, policyMax, path, ref, maxIntervals)
}

// compile is Compile with the enumeration cap as a parameter, so tests can
// reach "fires too often" without spending seconds enumerating.
func compile(ws []Window, policyMin, policyMax int, path string, ref time.Time, limit int) (*Set, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	var errs []error
	firstUse := make(map[string]string, len(ws))
	compiled := make([]window, len(ws))
	usable := make([]bool, len(ws))
	for i := range ws {
		p := fmt.Sprintf("%s[%d]", path, i)
		name := ws[i].Name
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		case !validName(name):
			errs = append(errs, fmt.Errorf("%s.name: %q may only contain a-z, 0-9, '_' and '-'", p, name))
		case firstUse[name] != "":
			errs = append(errs, fmt.Errorf("%s.name: %q is already used by %s", p, name, firstUse[name]))
		default:
			firstUse[name] = p
		}
		var werrs []error
		compiled[i], usable[i], werrs = compileWindow(ws[i], p, policyMin, policyMax, ref)
		errs = append(errs, werrs...)
	}
	errs = append(errs, contradictions(compiled, usable, ref, limit)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Set{windows: compiled}, nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// compileWindow checks one window on its own. usable says whether its timing
// is sound enough to search for contradictions with others, which is worth
// doing even when, say, its min_replicas is out of bounds.
func compileWindow(in Window, p string, policyMin, policyMax int, ref time.Time) (w window, usable bool, errs []error) {
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	w = window{name: in.Name, path: p, min: in.MinReplicas, loc: time.UTC}
	if in.MaxReplicas != nil {
		w.max, w.hasMax = *in.MaxReplicas, true
	}

	usable = true
	switch in.TimeZone {
	case "":
	case "Local":
		// time.LoadLocation accepts it, but it would mean whatever zone the
		// autoscaler's machine happens to be set to.
		fail("%s.timezone: %q depends on the machine the autoscaler runs on; name a zone such as \"Europe/London\"", p, in.TimeZone)
		usable = false
	default:
		loc, err := time.LoadLocation(in.TimeZone)
		if err != nil {
			fail("%s.timezone: %w", p, err)
			usable = false
		} else {
			w.loc = loc
		}
	}

	hasDates := in.Start != "" || in.End != ""
	switch {
	case in.Cron != "":
		if in.Start != "" {
			fail("%s.start: not allowed with cron; use either cron and duration, or start and end", p)
		}
		if in.End != "" {
			fail("%s.end: not allowed with cron; use either cron and duration, or start and end", p)
		}
		usable = !hasDates && usable
		sched, err := parseCron(in.Cron)
		if err != nil {
			fail("%s.cron: %w", p, err)
			usable = false
		} else {
			w.cronSpec, w.sched = in.Cron, sched
			if w.next(ref).IsZero() {
				// Robfig accepts "0 0 30 2 *"; a window that never opens is
				// a typo, not a schedule.
				fail("%s.cron: %q never fires", p, in.Cron)
				usable = false
			}
		}
		switch d := in.Duration.D(); {
		case d == 0:
			fail("%s.duration: required with cron (how long each window lasts)", p)
			usable = false
		case d < 0:
			fail("%s.duration: %s must be positive", p, in.Duration)
			usable = false
		case d > maxDuration:
			fail("%s.duration: %s is longer than the maximum of %s", p, in.Duration, config.Duration(maxDuration))
			usable = false
		default:
			w.dur = d
		}
	case hasDates:
		if in.Duration != 0 {
			fail("%s.duration: given without cron (a start/end window lasts from start to end)", p)
		}
		var startOK, endOK bool
		switch in.Start {
		case "":
			fail("%s.start: required with end", p)
		default:
			var err error
			if w.start, err = parseTime(in.Start, w.loc, false); err != nil {
				fail("%s.start: %w", p, err)
			} else {
				startOK = true
			}
		}
		switch in.End {
		case "":
			fail("%s.end: required with start", p)
		default:
			var err error
			if w.end, err = parseTime(in.End, w.loc, true); err != nil {
				fail("%s.end: %w", p, err)
			} else {
				endOK = true
			}
		}
		if startOK && endOK && !w.end.After(w.start) {
			fail("%s.end: %q (%s) is not after start %q (%s)", p,
				in.End, w.end.In(w.loc).Format(time.RFC3339), in.Start, w.start.In(w.loc).Format(time.RFC3339))
			endOK = false
		}
		usable = usable && startOK && endOK
	default:
		if in.Duration != 0 {
			fail("%s.duration: given without cron (a start/end window lasts from start to end)", p)
		}
		fail("%s: set either cron and duration, or start and end", p)
		usable = false
	}

	switch {
	case in.MinReplicas == 0:
		fail("%s.min_replicas: required", p)
	case in.MinReplicas < policyMin:
		fail("%s.min_replicas: %d is below the policy's min_replicas %d; a schedule only raises the minimum", p, in.MinReplicas, policyMin)
	case in.MinReplicas < 1:
		fail("%s.min_replicas: %d must be at least 1", p, in.MinReplicas)
	case in.MinReplicas > policyMax:
		fail("%s.min_replicas: %d is above the policy's max_replicas %d; the policy's bounds are hard", p, in.MinReplicas, policyMax)
	}
	if w.hasMax {
		switch {
		case w.max < 1:
			fail("%s.max_replicas: %d must be at least 1", p, w.max)
		case w.max < in.MinReplicas:
			fail("%s.max_replicas: %d is below this window's min_replicas %d (a window with min > max)", p, w.max, in.MinReplicas)
		case w.max > policyMax:
			fail("%s.max_replicas: %d is above the policy's max_replicas %d; the policy's bounds are hard", p, w.max, policyMax)
		}
	}
	return w, usable, errs
}

func parseCron(spec string) (cron.Schedule, error) {
	trimmed := strings.TrimSpace(spec)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		// Robfig would honour it (and panics on "TZ=x" with no space); one
		// place for the zone keeps validation and display honest.
		return nil, fmt.Errorf("%q sets a time zone inside the expression; use timezone: instead", spec)
	}
	if strings.HasPrefix(trimmed, "@every") {
		// @every counts from whenever the schedule was evaluated, not from
		// the clock, so the window would drift with every restart.
		return nil, fmt.Errorf("%q repeats from whenever the autoscaler started, not at fixed times; write a cron expression such as \"0 * * * *\"", spec)
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid cron expression: %w", spec, err)
	}
	return sched, nil
}

// parseTime reads one of the accepted start/end forms. A bare date as an end
// means the end of that day, because "until 2027-09-30" includes the 30th.
func parseTime(s string, loc *time.Location, end bool) (time.Time, error) {
	switch {
	case len(s) == len(dateLayout):
		t, err := time.ParseInLocation(dateLayout, s, loc)
		if err != nil {
			return time.Time{}, err
		}
		if end {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		}
		return t, nil
	case len(s) == len(minuteLayout):
		return time.ParseInLocation(minuteLayout, s, loc)
	case len(s) == len(secondLayout):
		return time.ParseInLocation(secondLayout, s, loc)
	case len(s) > len(secondLayout):
		return time.Parse(time.RFC3339, s)
	}
	return time.Time{}, fmt.Errorf("%q is not a date or time; use %s", s, formatsForHumans)
}

// contradictions searches every pair of usable windows whose replica counts
// clash for an instant at which both are active.
func contradictions(ws []window, usable []bool, ref time.Time, limit int) []error {
	lo, hi := ref, ref.Add(searchAhead)
	for i := range ws {
		if usable[i] && ws[i].sched == nil {
			if ws[i].start.Before(lo) {
				lo = ws[i].start
			}
			if ws[i].end.After(hi) {
				hi = ws[i].end
			}
		}
	}
	var errs []error
	// A window that fires too often is reported once, not once per pair.
	tooOften := make([]bool, len(ws))
	for j := range ws {
		for i := 0; i < j; i++ {
			if !usable[i] || !usable[j] || tooOften[i] || tooOften[j] {
				continue
			}
			a, b := &ws[i], &ws[j]
			clash := a.hasMax && b.min > a.max || b.hasMax && a.min > b.max
			if !clash {
				// Only pairs that could clash are enumerated: most policies
				// have none, and Compile runs on every configuration reload.
				continue
			}
			at, found, err := firstOverlap(a, b, lo, hi, limit)
			switch {
			case err != nil:
				var often *tooOftenError
				if errors.As(err, &often) {
					if often.w == 0 {
						tooOften[i] = true
					} else {
						tooOften[j] = true
					}
				}
				errs = append(errs, err)
			case found:
				errs = append(errs, clashError(b, a, at))
			}
		}
	}
	return errs
}

// clashError is reported on the later window w, naming the earlier one.
func clashError(w, other *window, at time.Time) error {
	mine, theirs := fmt.Sprintf("min_replicas %d", w.min), fmt.Sprintf("max_replicas %d", other.max)
	if w.hasMax && other.min > w.max {
		mine, theirs = fmt.Sprintf("max_replicas %d", w.max), fmt.Sprintf("min_replicas %d", other.min)
	}
	return fmt.Errorf("%s: %q (%s) and %q (%s, %s) are both active at %s, %s",
		w.path, w.name, mine, other.name, other.path, theirs, at.In(w.loc).Format(time.RFC3339), contradictionHelp)
}

type tooOftenError struct {
	w   int // 0 for the first window of the pair, 1 for the second
	msg string
}

func (e *tooOftenError) Error() string { return e.msg }

// firstOverlap sweeps the two windows' runs in time order and returns the
// first instant, no earlier than lo, at which both are active.
func firstOverlap(a, b *window, lo, hi time.Time, limit int) (time.Time, bool, error) {
	ra := &runs{w: a, lo: lo, hi: hi, limit: limit}
	rb := &runs{w: b, lo: lo, hi: hi, limit: limit}
	as, ae, okA := ra.next()
	bs, be, okB := rb.next()
	for okA && okB {
		s, e := later(as, bs), earlier(ae, be)
		if s.Before(e) {
			// Adjacent runs, [x,y) and [y,z), never get here.
			return later(s, lo), true, nil
		}
		if ae.After(be) {
			bs, be, okB = rb.next()
		} else {
			as, ae, okA = ra.next()
		}
	}
	for k, r := range []*runs{ra, rb} {
		other := b
		if k == 1 {
			other = a
		}
		if r.exceeded {
			return time.Time{}, false, &tooOftenError{w: k, msg: fmt.Sprintf(
				"%s.cron: %q with duration %s fires too often to check against %q: more than %d windows from %s",
				r.w.path, r.w.cronSpec, config.Duration(r.w.dur), other.name, limit, lo.In(r.w.loc).Format(time.RFC3339))}
		}
	}
	return time.Time{}, false, nil
}

// runs yields a window's maximal active spans [start, end) that end after lo
// and start before hi, in order. A cron window's occurrences that overlap or
// touch are merged into one run.
type runs struct {
	w        *window
	lo, hi   time.Time
	limit    int
	count    int
	began    bool
	pending  time.Time // next occurrence not yet part of a run; zero when none
	done     bool
	exceeded bool
}

func (r *runs) next() (time.Time, time.Time, bool) {
	if r.done {
		return time.Time{}, time.Time{}, false
	}
	w := r.w
	if w.sched == nil {
		r.done = true
		ok := w.end.After(r.lo) && w.start.Before(r.hi)
		return w.start, w.end, ok
	}
	if !r.began {
		r.began = true
		r.pending = r.occurrence(r.lo.Add(-w.dur))
	}
	if r.pending.IsZero() {
		r.done = true
		return time.Time{}, time.Time{}, false
	}
	start, last := r.pending, r.pending
	end := start.Add(w.dur)
	for {
		n := r.occurrence(last)
		if n.IsZero() || n.After(end) {
			r.pending = n
			return start, end, true
		}
		last, end = n, n.Add(w.dur)
	}
}

func (r *runs) occurrence(after time.Time) time.Time {
	if r.count >= r.limit {
		r.exceeded, r.done = true, true
		return time.Time{}
	}
	r.count++
	n := r.w.next(after)
	if n.IsZero() || !n.Before(r.hi) {
		return time.Time{}
	}
	return n
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
