package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/config"
)

func intp(i int) *int { return &i }

func hours(h int) config.Duration { return config.Duration(time.Duration(h) * time.Hour) }

// ref is a Monday, so weekday crons below have a known first occurrence.
var ref = time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

func mustCompile(t *testing.T, ws ...Window) *Set {
	t.Helper()
	s, err := Compile(ws, 2, 20, "services.api.schedules", ref)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func london(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompileErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name string
		ws   []Window
		want []string // every substring must appear
	}{
		{"invalid cron", []Window{{Name: "w", Cron: "61 * * * *", Duration: hours(1), MinReplicas: 3}},
			[]string{`services.api.schedules[0].cron: "61 * * * *" is not a valid cron expression`}},
		{"four fields", []Window{{Name: "w", Cron: "0 8 * *", Duration: hours(1), MinReplicas: 3}},
			[]string{`schedules[0].cron:`}},
		{"zone inside the expression", []Window{{Name: "w", Cron: "TZ=Europe/Paris 0 8 * * *", Duration: hours(1), MinReplicas: 3}},
			[]string{`schedules[0].cron:`, "use timezone: instead"}},
		{"@every drifts", []Window{{Name: "w", Cron: "@every 1h", Duration: hours(1), MinReplicas: 3}},
			[]string{`schedules[0].cron:`, "not at fixed times"}},
		{"never fires", []Window{{Name: "w", Cron: "0 0 30 2 *", Duration: hours(1), MinReplicas: 3}},
			[]string{`schedules[0].cron: "0 0 30 2 *" never fires`}},
		{"cron without duration", []Window{{Name: "w", Cron: "0 8 * * *", MinReplicas: 3}},
			[]string{"schedules[0].duration: required with cron"}},
		{"negative duration", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(-1), MinReplicas: 3}},
			[]string{"schedules[0].duration:", "must be positive"}},
		{"too long", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(24 * 400), MinReplicas: 3}},
			[]string{"schedules[0].duration:", "longer than the maximum"}},
		{"cron and dates", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1), Start: "2027-04-01", MinReplicas: 3}},
			[]string{"schedules[0].start: not allowed with cron"}},
		{"neither", []Window{{Name: "w", MinReplicas: 3}},
			[]string{"schedules[0]: set either cron and duration, or start and end"}},
		{"bad month", []Window{{Name: "w", Start: "2027-13-01", End: "2027-14-01", MinReplicas: 3}},
			[]string{"schedules[0].start:", "schedules[0].end:"}},
		{"not a date", []Window{{Name: "w", Start: "2027-04-01", End: "next friday", MinReplicas: 3}},
			[]string{`schedules[0].end: "next friday" is not a date or time`}},
		{"end before start", []Window{{Name: "w", Start: "2027-04-02", End: "2027-03-31", MinReplicas: 3}},
			[]string{"schedules[0].end:", "is not after start"}},
		{"start without end", []Window{{Name: "w", Start: "2027-04-02", MinReplicas: 3}},
			[]string{"schedules[0].end: required with start"}},
		{"unknown zone", []Window{{Name: "w", Start: "2027-04-01", End: "2027-04-02", TimeZone: "Mars/Olympus", MinReplicas: 3}},
			[]string{"schedules[0].timezone:"}},
		{"Local zone", []Window{{Name: "w", Start: "2027-04-01", End: "2027-04-02", TimeZone: "Local", MinReplicas: 3}},
			[]string{"schedules[0].timezone:", "depends on the machine"}},
		{"min > max in one window", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 6, MaxReplicas: intp(4)}},
			[]string{"schedules[0].max_replicas: 4 is below this window's min_replicas 6"}},
		{"min below policy", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 1}},
			[]string{"schedules[0].min_replicas: 1 is below the policy's min_replicas 2"}},
		{"min above policy max", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 21}},
			[]string{"schedules[0].min_replicas: 21 is above the policy's max_replicas 20"}},
		{"max above policy max", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 3, MaxReplicas: intp(30)}},
			[]string{"schedules[0].max_replicas: 30 is above the policy's max_replicas 20"}},
		{"min missing", []Window{{Name: "w", Cron: "0 8 * * *", Duration: hours(1)}},
			[]string{"schedules[0].min_replicas: required"}},
		{"name missing and duplicated", []Window{
			{Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 3},
			{Name: "Peak!", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 3},
			{Name: "a", Cron: "0 8 * * *", Duration: hours(1), MinReplicas: 3},
			{Name: "a", Cron: "0 9 * * *", Duration: hours(1), MinReplicas: 3}},
			[]string{"schedules[0].name: required", `schedules[1].name: "Peak!" may only contain`, `schedules[3].name: "a" is already used by services.api.schedules[2]`}},
		{"contradicting overlap", []Window{
			{Name: "weekday", Cron: "0 8 * * 1-5", Duration: hours(10), MinReplicas: 2, MaxReplicas: intp(4)},
			{Name: "season", Start: "2027-04-01", End: "2027-09-30", MinReplicas: 10}},
			[]string{`schedules[1]: "season" (min_replicas 10) and "weekday" (services.api.schedules[0], max_replicas 4) are both active at 2027-04-01T08:00:00Z`}},
		{"contradiction across zones", []Window{
			// 08:00-18:00 UTC Monday-Friday and 18:00 London Friday for 54 h:
			// in summer 18:00 London is 17:00 UTC, inside the weekday window.
			{Name: "weekday", Cron: "0 8 * * 1-5", Duration: hours(10), MinReplicas: 2, MaxReplicas: intp(4)},
			{Name: "weekend", Cron: "0 18 * * 5", Duration: hours(54), TimeZone: "Europe/London", MinReplicas: 6}},
			[]string{`"weekend" (min_replicas 6) and "weekday"`, "2027-04-02T18:00:00+01:00"}},
		{"every error at once", []Window{
			{Name: "a", Cron: "61 * * * *", Duration: hours(1), MinReplicas: 3},
			{Name: "b", Start: "2027-04-01", End: "2027-03-01", MinReplicas: 50}},
			[]string{"schedules[0].cron:", "schedules[1].end:", "schedules[1].min_replicas: 50"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile(tc.ws, 2, 20, "services.api.schedules", ref)
			if err == nil {
				t.Fatalf("Compile accepted %+v", tc.ws)
			}
			if s != nil {
				t.Errorf("Compile returned a set alongside its error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCompileAcceptsNonContradictingOverlap(t *testing.T) {
	// Same zone, weekday ends 18:00 London, weekend starts 18:00 London on
	// Friday: adjacent, never both active, so no contradiction.
	s := mustCompile(t,
		Window{Name: "weekday", Cron: "0 8 * * 1-5", Duration: hours(10), TimeZone: "Europe/London", MinReplicas: 2, MaxReplicas: intp(4)},
		Window{Name: "weekend", Cron: "0 18 * * 5", Duration: hours(54), TimeZone: "Europe/London", MinReplicas: 6},
		// Overlaps both but sets no max and its min is under neither max... except
		// weekday's 4; so its min must stay at 4 to be compatible.
		Window{Name: "evenings", Cron: "0 17 * * *", Duration: hours(4), TimeZone: "Europe/London", MinReplicas: 4},
	)
	if s.Len() != 3 {
		t.Fatalf("Len = %d", s.Len())
	}
	// Friday 17:30 London: weekday and evenings active.
	a := s.At(london(t, "2027-04-02 17:30"))
	if got := strings.Join(a.Names, ","); got != "weekday,evenings" || a.Min != 4 || a.Max != 4 {
		t.Errorf("Friday 17:30 = %+v", a)
	}
	// Friday 18:00 London: weekday has ended (end exclusive), weekend begun.
	a = s.At(london(t, "2027-04-02 18:00"))
	if got := strings.Join(a.Names, ","); got != "weekend,evenings" || a.Min != 6 || a.Max != 0 {
		t.Errorf("Friday 18:00 = %+v", a)
	}
}

func TestAtCronInItsZoneAcrossDST(t *testing.T) {
	s := mustCompile(t, Window{Name: "weekend", Cron: "0 18 * * 5", Duration: hours(54), TimeZone: "Europe/London", MinReplicas: 6, MaxReplicas: intp(12)})
	cases := []struct {
		at     string
		active bool
	}{
		// Winter (GMT): Friday 2027-03-19 18:00 London = 18:00 UTC.
		{"2027-03-19 17:59", false},
		{"2027-03-19 18:00", true},
		// Window spanning the spring change (2027-03-28 01:00 UTC): starts
		// Friday 26th 18:00 GMT, lasts 54 elapsed hours, so ends Monday
		// 00:00 UTC = 01:00 BST on the wall clock.
		{"2027-03-29 00:30", true},
		{"2027-03-29 01:00", false},
		// Summer (BST): Friday 2027-07-02 18:00 London = 17:00 UTC.
		{"2027-07-02 17:59", false},
		{"2027-07-02 18:00", true},
		{"2027-07-05 00:00", false}, // 54 h after Friday 18:00 is Monday 00:00
		{"2027-07-04 23:59", true},
	}
	for _, tc := range cases {
		a := s.At(london(t, tc.at))
		if a.Any() != tc.active {
			t.Errorf("At(%s London) active = %v, want %v", tc.at, a.Any(), tc.active)
		}
		if a.Any() && (a.Min != 6 || a.Max != 12) {
			t.Errorf("At(%s) = %+v, want min 6 max 12", tc.at, a)
		}
	}
}

func TestAtDateRangeEndIsInclusiveOfTheDay(t *testing.T) {
	s := mustCompile(t, Window{Name: "season", Start: "2027-04-01", End: "2027-09-30", TimeZone: "Europe/London", MinReplicas: 10})
	cases := []struct {
		at     string
		active bool
	}{
		{"2027-03-31 23:59", false},
		{"2027-04-01 00:00", true},
		{"2027-09-30 23:59", true},
		{"2027-10-01 00:00", false},
	}
	for _, tc := range cases {
		if got := s.At(london(t, tc.at)).Any(); got != tc.active {
			t.Errorf("At(%s) active = %v, want %v", tc.at, got, tc.active)
		}
	}
	// A minute-precision end is exclusive.
	s = mustCompile(t, Window{Name: "launch", Start: "2027-04-01T09:00", End: "2027-04-01T18:00", MinReplicas: 5})
	if !s.At(time.Date(2027, 4, 1, 17, 59, 0, 0, time.UTC)).Any() || s.At(time.Date(2027, 4, 1, 18, 0, 0, 0, time.UTC)).Any() {
		t.Error("minute window boundaries wrong")
	}
	// RFC 3339 carries its own offset, whatever the timezone field says.
	s = mustCompile(t, Window{Name: "rfc", Start: "2027-04-01T09:00:00+02:00", End: "2027-04-01T10:00:00+02:00", TimeZone: "Europe/London", MinReplicas: 5})
	if !s.At(time.Date(2027, 4, 1, 7, 0, 0, 0, time.UTC)).Any() || s.At(time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC)).Any() {
		t.Error("RFC 3339 window boundaries wrong")
	}
}

func TestNextChange(t *testing.T) {
	s := mustCompile(t,
		Window{Name: "morning", Cron: "0 8 * * *", Duration: hours(2), MinReplicas: 3},
		Window{Name: "season", Start: "2027-04-01", End: "2027-04-30", MinReplicas: 5},
	)
	cases := []struct {
		from, want time.Time
	}{
		{time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)},
		{time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC), time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)},
		{time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		got, ok := s.NextChange(tc.from)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("NextChange(%s) = %s %v, want %s", tc.from, got, ok, tc.want)
		}
	}
	// A self-overlapping window (6 h every 4 h) is one run: no change
	// inside it other than its end, which never comes.
	s = mustCompile(t, Window{Name: "always", Cron: "0 */4 * * *", Duration: hours(6), MinReplicas: 3})
	if _, ok := s.NextChange(time.Date(2027, 3, 1, 1, 0, 0, 0, time.UTC)); ok {
		t.Error("self-overlapping window reported a change")
	}
	var none *Set
	if _, ok := none.NextChange(ref); ok || none.Len() != 0 || none.At(ref).Any() {
		t.Error("nil set is not empty")
	}
}

func TestCompileFiresTooOften(t *testing.T) {
	_, err := compile([]Window{
		{Name: "minutely", Cron: "* * * * *", Duration: config.Duration(30 * time.Second), MinReplicas: 3, MaxReplicas: intp(3)},
		{Name: "season", Start: "2027-04-01", End: "2027-09-30", MinReplicas: 10},
	}, 2, 20, "s", ref, 1000)
	if err == nil || !strings.Contains(err.Error(), `s[0].cron: "* * * * *" with duration 30s fires too often`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCompileSearchLeavesNothingToTheGuard(t *testing.T) {
	// Windows that Compile accepts never reach At's min>max guard inside
	// the searched span: step through it hourly.
	s := mustCompile(t,
		Window{Name: "weekday", Cron: "0 8 * * 1-5", Duration: hours(10), TimeZone: "Europe/London", MinReplicas: 2, MaxReplicas: intp(4)},
		Window{Name: "weekend", Cron: "0 18 * * 5", Duration: hours(54), TimeZone: "Europe/London", MinReplicas: 6, MaxReplicas: intp(8)},
	)
	for at := ref; at.Before(ref.Add(searchAhead)); at = at.Add(30 * time.Minute) {
		if a := s.at(at); a.Max > 0 && a.Max < a.Min {
			t.Fatalf("at(%s) = %+v", at, a)
		}
	}
}

func FuzzCompile(f *testing.F) {
	f.Add("0 18 * * 5", int64(54*3600), "", "", "Europe/London", 4, 8)
	f.Add("", int64(0), "2027-04-01", "2027-09-30", "UTC", 10, 0)
	f.Add("TZ=x", int64(3600), "", "", "", 3, 0)
	f.Add("@every 1s", int64(1), "", "", "", 3, 3)
	f.Fuzz(func(t *testing.T, cronSpec string, durSeconds int64, start, end, zone string, lo, hi int) {
		w := Window{Name: "w", Cron: cronSpec, Duration: config.Duration(time.Duration(durSeconds) * time.Second),
			Start: start, End: end, TimeZone: zone, MinReplicas: lo}
		if hi != 0 {
			w.MaxReplicas = &hi
		}
		s, err := compile([]Window{w, {Name: "season", Start: "2027-04-01", End: "2027-05-01", MinReplicas: 3, MaxReplicas: intp(3)}},
			1, 20, "s", ref, 10_000)
		if err != nil {
			return
		}
		// Whatever compiled must answer without panicking and inside bounds.
		for _, at := range []time.Time{ref, ref.Add(40 * 24 * time.Hour), ref.Add(300 * 24 * time.Hour)} {
			a := s.At(at)
			if a.Min > 20 || a.Max > 20 || (a.Max > 0 && a.Max < a.Min) {
				t.Fatalf("At(%s) = %+v", at, a)
			}
			s.NextChange(at)
		}
	})
}
