package scenario

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const k6JSON = `{
  "target": "http://127.0.0.1:8080",
  "requests": [
    {"name": "home", "url": "/", "weight": 3, "tags": {"page": "home"}},
    {"name": "login", "method": "POST", "url": "/login", "body": "{\"u\":1}", "headers": {"Content-Type": "application/json"}, "timeout": 5000}
  ],
  "scenarios": {
    "warm": {"executor": "constant-vus", "vus": 5, "duration": "30s"},
    "peak": {"executor": "ramping-arrival-rate", "startRate": 10, "timeUnit": "1s", "preAllocatedVUs": 20, "maxVUs": 100,
             "startTime": "30s", "stages": [{"duration": "1m", "target": 200}, {"duration": "1m30s", "target": 0}]}
  },
  "thresholds": {
    "http_req_duration": ["p(95)<2000", {"threshold": "p(99)<5000", "abortOnFail": true, "delayAbortEval": "10s"}],
    "http_req_failed{name:login}": ["rate<0.01"]
  }
}`

const k6YAML = `
name: checkout
type: stress
target: http://127.0.0.1:8080
scenarios:
  users:
    executor: ramping-vus
    startVUs: 0
    stages:
      - {duration: 30s, target: 50}
      - {duration: 1m, target: 50}
    thinkTime: 500ms
thresholds:
  http_req_duration: ["p(95)<2000"]
  http_req_failed:
    - threshold: rate<0.05
      abortOnFail: true
`

func TestParseJSONAndYAML(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(k6JSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	peak := s.Scenarios["peak"]
	if peak.StartTime.D() != 30*time.Second || *peak.MaxVUs != 100 || peak.Stages[1].Duration.D() != 90*time.Second || peak.GracefulStop.D() != 30*time.Second {
		t.Fatalf("peak = %+v", peak)
	}
	if s.Requests[1].Timeout.D() != 5*time.Second || *s.Requests[0].Weight != 3 || s.Requests[1].Method != "POST" {
		t.Fatalf("requests = %+v", s.Requests)
	}
	if th := s.Thresholds["http_req_duration"][1]; !th.AbortOnFail || th.DelayAbortEval.D() != 10*time.Second {
		t.Fatalf("threshold object = %+v", th)
	}
	if s.TotalDuration() != 3*time.Minute || s.PeakVUs() != 105 {
		t.Fatalf("total %s, peak VUs %d", s.TotalDuration(), s.PeakVUs())
	}
	y, err := Parse([]byte(k6YAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := y.Validate(); err != nil {
		t.Fatal(err)
	}
	if y.Scenarios["users"].ThinkTime.D() != 500*time.Millisecond || !y.Thresholds["http_req_failed"][0].AbortOnFail || y.Type != TypeStress {
		t.Fatalf("yaml = %+v", y)
	}
	// What we store is JSON that reads back to the same scenario.
	back, err := Parse(s.JSON())
	if err != nil {
		t.Fatalf("stored config does not parse back: %v\n%s", err, s.JSON())
	}
	if err := back.Validate(); err != nil || string(back.JSON()) != string(s.JSON()) {
		t.Fatalf("round trip: %v\n%s\n%s", err, back.JSON(), s.JSON())
	}
}

func TestShortcuts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		executor string
	}{
		{`{"target": "http://x", "vus": 10, "duration": "30s"}`, ConstantVUs},
		{`{"target": "http://x", "stages": [{"duration": "10s", "target": 5}]}`, RampingVUs},
		{`{"target": "http://x", "vus": 2, "iterations": 10}`, SharedIterations},
		{`{"target": "http://x"}`, SharedIterations},
	}
	for _, tc := range tests {
		s, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if e := s.Scenarios["default"]; e == nil || e.Executor != tc.executor {
			t.Fatalf("%s: scenarios = %+v", tc.in, s.Scenarios)
		}
	}
}

// Bad input is refused before anything is sent, with the field and value.
func TestValidationNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown executor", `{"target":"http://x","scenarios":{"peak":{"executor":"constant-vu","vus":1,"duration":"1s"}}}`,
			[]string{`scenarios.peak.executor: unknown executor "constant-vu"`}},
		{"stage without duration", `{"target":"http://x","scenarios":{"peak":{"executor":"ramping-vus","stages":[{"duration":"1s","target":1},{"target":5}]}}}`,
			[]string{"scenarios.peak.stages[1].duration: required"}},
		{"negative rate", `{"target":"http://x","scenarios":{"a":{"executor":"constant-arrival-rate","rate":-5,"duration":"1s","preAllocatedVUs":1}}}`,
			[]string{"scenarios.a.rate: must be at least 1, got -5"}},
		{"bad threshold", `{"target":"http://x","vus":1,"duration":"1s","thresholds":{"http_req_duration":["p(95)<<2000"]}}`,
			[]string{`thresholds.http_req_duration[0]: threshold "p(95)<<2000"`}},
		{"threshold on wrong type", `{"target":"http://x","vus":1,"duration":"1s","thresholds":{"http_req_failed":["p(95)<1"]}}`,
			[]string{"thresholds.http_req_failed[0]: threshold \"p(95)<1\": p(95) does not apply to a rate metric"}},
		{"unmeasured metric", `{"target":"http://x","vus":1,"duration":"1s","thresholds":{"http_req_waiting":["avg<1"]}}`,
			[]string{`thresholds.http_req_waiting: metric "http_req_waiting" is not measured`}},
		{"field of another executor", `{"target":"http://x","scenarios":{"a":{"executor":"constant-vus","vus":1,"duration":"1s","rate":5}}}`,
			[]string{"scenarios.a.rate: not a field of executor constant-vus"}},
		{"arrival rate without VUs", `{"target":"http://x","scenarios":{"a":{"executor":"constant-arrival-rate","rate":5,"duration":"1s"}}}`,
			[]string{"scenarios.a.preAllocatedVUs: required"}},
		{"maxVUs below preallocated", `{"target":"http://x","scenarios":{"a":{"executor":"ramping-arrival-rate","stages":[{"duration":"1s","target":1}],"preAllocatedVUs":5,"maxVUs":2}}}`,
			[]string{"scenarios.a.maxVUs: 2 is fewer than preAllocatedVUs (5)"}},
		{"no target", `{"vus":1,"duration":"1s"}`, []string{"target: required"}},
		{"path without target", `{"requests":[{"url":"/x"}],"vus":1,"duration":"1s"}`, []string{`requests[0].url: "/x" is a path but no target is set`}},
		{"bad header", `{"target":"http://x","requests":[{"url":"/","headers":{"X-A":"a\r\nb"}}],"vus":1,"duration":"1s"}`,
			[]string{"requests[0].headers.X-A: value"}},
		{"zero weight", `{"target":"http://x","requests":[{"url":"/","weight":0}],"vus":1,"duration":"1s"}`, []string{"requests[0].weight: must be a positive number, got 0"}},
		{"bad type", `{"type":"soak","target":"http://x","vus":1,"duration":"1s"}`, []string{`type: unknown test type "soak"`}},
		{"bad target", `{"target":"ftp://x","vus":1,"duration":"1s"}`, []string{`target: "ftp://x" is not an http(s)`}},
		{"negative stage target", `{"target":"http://x","stages":[{"duration":"1s","target":-1}]}`, []string{"scenarios.default.stages[0].target: must not be negative, got -1"}},
		{"shortcut with scenarios", `{"target":"http://x","vus":3,"scenarios":{"a":{"executor":"constant-vus","duration":"1s"}}}`, []string{"cannot be used together with scenarios"}},
		{"several problems at once", `{"target":"http://x","scenarios":{"a":{"executor":"constant-vus","vus":0},"b":{"executor":"nope"}}}`,
			[]string{"scenarios.a.duration: required", "scenarios.a.vus: must be at least 1, got 0", `scenarios.b.executor: unknown executor "nope"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.in))
			if err == nil {
				err = s.Validate()
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"unknown field json", `{"target":"http://x","vu":1}`, `unknown field "vu"`},
		{"unknown field yaml", "target: http://x\nvu: 1\n", "field vu not found"},
		{"yaml bare number duration", "target: http://x\nduration: 30\nvus: 1\n", "a duration needs a unit"},
		{"bad duration json", `{"target":"http://x","vus":1,"duration":"thirty"}`, `not a duration "thirty"`},
		{"trailing data", `{"target":"http://x"} {}`, "data after"},
		{"unknown threshold key", "target: http://x\nthresholds:\n  http_reqs:\n    - {threshold: count>1, abortOnFaill: true}\n", "field abortOnFaill not found"},
	}
	for _, tc := range tests {
		if _, err := Parse([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestBuiltinsAndLimits(t *testing.T) {
	t.Parallel()
	for _, name := range BuiltinNames() {
		s, err := FromBuiltin(name, "http://127.0.0.1:1", Override{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := Builtins[name]
		if s.TotalDuration() != b.Duration || s.PeakVUs() != b.VUs || s.Type != b.Type {
			t.Errorf("%s: %s, %d VUs, type %s", name, s.TotalDuration(), s.PeakVUs(), s.Type)
		}
		err = s.CheckLimits(DefaultLimits)
		if name == "endurance" {
			if err == nil || !strings.Contains(err.Error(), "--confirm-long") {
				t.Errorf("endurance within limits without --confirm-long: %v", err)
			}
			l := DefaultLimits
			l.ConfirmLong = true
			err = s.CheckLimits(l)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	spec := map[string][3]any{"baseline": {int64(100), 10 * time.Minute, time.Minute}, "stress": {int64(500), 15 * time.Minute, 2 * time.Minute}, "spike": {int64(1000), 5 * time.Minute, 30 * time.Second}}
	for name, w := range spec {
		s, _ := FromBuiltin(name, "http://x", Override{})
		st := s.Scenarios[name].Stages
		if *st[0].Target != w[0] || st[0].Duration.D() != w[2] || s.TotalDuration() != w[1] {
			t.Errorf("%s: stages %v", name, st)
		}
	}
	s, err := FromBuiltin("baseline", "http://x", Override{VUs: 5000, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckLimits(DefaultLimits)
	for _, w := range []string{"scenarios.baseline.stages: 5000 VUs exceed the limit of 2000", "duration: the run lasts 1h0m0s"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("limits error %v, want %q", err, w)
		}
	}
	if _, err := FromBuiltin("soak", "http://x", Override{}); err == nil {
		t.Fatal("unknown built-in accepted")
	}
}

func TestLoadNamesAfterFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "checkout.yaml")
	if err := os.WriteFile(p, []byte("target: http://x\nvus: 1\nduration: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(p)
	if err != nil || s.Name != "checkout" || s.Type != TypeCustom {
		t.Fatalf("%+v %v", s, err)
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add([]byte(k6JSON))
	f.Add([]byte(k6YAML))
	f.Add([]byte(`{"stages":[{"duration":1000,"target":1}],"target":"http://x"}`))
	f.Add([]byte(`{"scenarios":{"a":{"executor":"per-vu-iterations","vus":2,"iterations":3}},"target":"http://x"}`))
	f.Add([]byte("thresholds: {http_reqs: count>1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if s.Validate() != nil {
			return
		}
		// Whatever validates stores as JSON that validates again to the same.
		back, err := Parse(s.JSON())
		if err != nil {
			t.Fatalf("stored form does not parse: %v\n%s", err, s.JSON())
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("stored form does not validate: %v\n%s", err, s.JSON())
		}
		var a, b any
		_ = json.Unmarshal(s.JSON(), &a)
		_ = json.Unmarshal(back.JSON(), &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("round trip changed the scenario:\n%s\n%s", ja, jb)
		}
		_ = s.CheckLimits(DefaultLimits)
	})
}

func TestExampleFileIsValid(t *testing.T) {
	t.Parallel()
	s, err := Load(filepath.Join("..", "examples", "wedsync-api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "wedsync-api" || len(s.Scenarios) != 2 || s.TotalDuration() != 4*time.Minute+30*time.Second {
		t.Fatalf("%+v, %s", s, s.TotalDuration())
	}
}
