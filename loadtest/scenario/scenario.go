// Package scenario says what a load test runs: the built-in scenarios
// (baseline, stress, spike, volume, endurance), k6's options shape read from
// JSON or YAML (scenarios with their executors, thresholds, the vus/duration/
// stages shortcuts), the weighted list of requests, validation that names
// every bad field with its path, and the safety limits checked before
// anything is sent.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/config"
)

// Type is the kind of test, as load_tests.test_type stores it.
type Type string

const (
	TypeBaseline  Type = "baseline"
	TypeStress    Type = "stress"
	TypeSpike     Type = "spike"
	TypeVolume    Type = "volume"
	TypeEndurance Type = "endurance"
	TypeCustom    Type = "custom"
)

// Types lists every test type.
var Types = []Type{TypeBaseline, TypeStress, TypeSpike, TypeVolume, TypeEndurance, TypeCustom}

// Executor names, as k6 spells them.
const (
	ConstantVUs         = "constant-vus"
	RampingVUs          = "ramping-vus"
	ConstantArrivalRate = "constant-arrival-rate"
	RampingArrivalRate  = "ramping-arrival-rate"
	SharedIterations    = "shared-iterations"
	PerVUIterations     = "per-vu-iterations"
)

// Executors lists the supported executors.
var Executors = []string{ConstantVUs, RampingVUs, ConstantArrivalRate, RampingArrivalRate, SharedIterations, PerVUIterations}

// Scenario is one load test: k6's options plus what k6 keeps in its
// script — the target and the requests. A scenario file is k6's options
// object (JSON or YAML) with these extra keys at the top.
type Scenario struct {
	Name     string    `json:"name,omitempty" yaml:"name,omitempty"`
	Type     Type      `json:"type,omitempty" yaml:"type,omitempty"`
	Target   string    `json:"target,omitempty" yaml:"target,omitempty"`
	Requests []Request `json:"requests,omitempty" yaml:"requests,omitempty"`
	Options  `yaml:",inline"`
}

// Options is k6's options object, the parts a load generator without a
// script can honour.
type Options struct {
	Scenarios  map[string]*Executor     `json:"scenarios,omitempty" yaml:"scenarios,omitempty"`
	Thresholds map[string]ThresholdList `json:"thresholds,omitempty" yaml:"thresholds,omitempty"`

	// Shortcuts k6 turns into one scenario named "default".
	VUs        *int64    `json:"vus,omitempty" yaml:"vus,omitempty"`
	Duration   *Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	Iterations *int64    `json:"iterations,omitempty" yaml:"iterations,omitempty"`
	Stages     []Stage   `json:"stages,omitempty" yaml:"stages,omitempty"`

	SummaryTrendStats     []string          `json:"summaryTrendStats,omitempty" yaml:"summaryTrendStats,omitempty"`
	NoConnectionReuse     bool              `json:"noConnectionReuse,omitempty" yaml:"noConnectionReuse,omitempty"`
	UserAgent             string            `json:"userAgent,omitempty" yaml:"userAgent,omitempty"`
	InsecureSkipTLSVerify bool              `json:"insecureSkipTLSVerify,omitempty" yaml:"insecureSkipTLSVerify,omitempty"`
	Tags                  map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Accepted for compatibility; responses are always discarded.
	DiscardResponseBodies bool `json:"discardResponseBodies,omitempty" yaml:"discardResponseBodies,omitempty"`
}

// Executor is one entry of k6's scenarios map. Which fields apply depends
// on the executor; the others must be absent.
type Executor struct {
	Executor     string            `json:"executor" yaml:"executor"`
	StartTime    *Duration         `json:"startTime,omitempty" yaml:"startTime,omitempty"`
	GracefulStop *Duration         `json:"gracefulStop,omitempty" yaml:"gracefulStop,omitempty"`
	Tags         map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Exec         string            `json:"exec,omitempty" yaml:"exec,omitempty"` // k6's script function: ignored, there is one request list
	Env          map[string]string `json:"env,omitempty" yaml:"env,omitempty"`   // ignored, for compatibility

	VUs              *int64    `json:"vus,omitempty" yaml:"vus,omitempty"`
	Iterations       *int64    `json:"iterations,omitempty" yaml:"iterations,omitempty"`
	MaxDuration      *Duration `json:"maxDuration,omitempty" yaml:"maxDuration,omitempty"`
	Duration         *Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	StartVUs         *int64    `json:"startVUs,omitempty" yaml:"startVUs,omitempty"`
	Stages           []Stage   `json:"stages,omitempty" yaml:"stages,omitempty"`
	GracefulRampDown *Duration `json:"gracefulRampDown,omitempty" yaml:"gracefulRampDown,omitempty"`
	Rate             *int64    `json:"rate,omitempty" yaml:"rate,omitempty"`
	StartRate        *int64    `json:"startRate,omitempty" yaml:"startRate,omitempty"`
	TimeUnit         *Duration `json:"timeUnit,omitempty" yaml:"timeUnit,omitempty"`
	PreAllocatedVUs  *int64    `json:"preAllocatedVUs,omitempty" yaml:"preAllocatedVUs,omitempty"`
	MaxVUs           *int64    `json:"maxVUs,omitempty" yaml:"maxVUs,omitempty"`

	// ThinkTime is ours: the pause of a virtual user between two requests
	// (closed models only; k6 scripts call sleep()).
	ThinkTime *Duration `json:"thinkTime,omitempty" yaml:"thinkTime,omitempty"`
}

// Stage is a ramp: reach Target (VUs, or iterations per timeUnit) over
// Duration.
type Stage struct {
	Duration *Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	Target   *int64    `json:"target,omitempty" yaml:"target,omitempty"`
}

// Request is one entry of the weighted request list; each iteration of a
// virtual user sends one, picked at random by weight.
type Request struct {
	Name    string            `json:"name,omitempty" yaml:"name,omitempty"`
	Method  string            `json:"method,omitempty" yaml:"method,omitempty"`
	URL     string            `json:"url" yaml:"url"` // absolute, or a path joined to the target
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	Body    string            `json:"body,omitempty" yaml:"body,omitempty"`
	Weight  *float64          `json:"weight,omitempty" yaml:"weight,omitempty"`
	Tags    map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Timeout *Duration         `json:"timeout,omitempty" yaml:"timeout,omitempty"` // default 60s, as k6
}

// Threshold is one threshold of a metric: a k6 expression, or k6's object
// form with abortOnFail and delayAbortEval.
type Threshold struct {
	Threshold      string    `json:"threshold" yaml:"threshold"`
	AbortOnFail    bool      `json:"abortOnFail,omitempty" yaml:"abortOnFail,omitempty"`
	DelayAbortEval *Duration `json:"delayAbortEval,omitempty" yaml:"delayAbortEval,omitempty"`
}

// ThresholdList is a metric's thresholds; each entry is a string or an object.
type ThresholdList []Threshold

// UnmarshalJSON reads k6's list, whose items are strings or objects; a single
// string is accepted too.
func (l *ThresholdList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = ThresholdList{{Threshold: one}}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("thresholds: want a list of strings or {threshold, abortOnFail, delayAbortEval}: %w", err)
	}
	out := make(ThresholdList, 0, len(raw))
	for _, r := range raw {
		if json.Unmarshal(r, &one) == nil {
			out = append(out, Threshold{Threshold: one})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		var t Threshold
		if err := dec.Decode(&t); err != nil {
			return fmt.Errorf("threshold %s: %w", r, err)
		}
		out = append(out, t)
	}
	*l = out
	return nil
}

// MarshalJSON writes plain strings where no option is set, as k6 users write them.
func (l ThresholdList) MarshalJSON() ([]byte, error) {
	out := make([]any, len(l))
	for i, t := range l {
		if !t.AbortOnFail && t.DelayAbortEval == nil {
			out[i] = t.Threshold
		} else {
			out[i] = t
		}
	}
	return json.Marshal(out)
}

// UnmarshalYAML reads a string, a list of strings and objects.
func (l *ThresholdList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = ThresholdList{{Threshold: n.Value}}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: thresholds: want a list of strings or {threshold, abortOnFail, delayAbortEval}", n.Line)}}
	}
	out := make(ThresholdList, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, Threshold{Threshold: c.Value})
			continue
		}
		var t struct {
			Threshold      string    `yaml:"threshold"`
			AbortOnFail    bool      `yaml:"abortOnFail"`
			DelayAbortEval *Duration `yaml:"delayAbortEval"`
		}
		// Unknown keys are refused here as everywhere else.
		var keys map[string]yaml.Node
		if err := c.Decode(&keys); err != nil {
			return err
		}
		for k := range keys {
			if k != "threshold" && k != "abortOnFail" && k != "delayAbortEval" {
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: field %s not found in a threshold (threshold, abortOnFail, delayAbortEval)", c.Line, k)}}
			}
		}
		if err := c.Decode(&t); err != nil {
			return err
		}
		out = append(out, Threshold(t))
	}
	*l = out
	return nil
}

// Parse reads a scenario file: JSON when it starts with '{', YAML otherwise.
// Unknown fields are errors. The result is not validated: call Validate.
func Parse(data []byte) (Scenario, error) {
	var s Scenario
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if len(data) > config.MaxFileSize {
			return s, fmt.Errorf("scenario is %d bytes, more than the %d allowed", len(data), config.MaxFileSize)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return Scenario{}, fmt.Errorf("parse JSON: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return Scenario{}, errors.New("parse JSON: data after the options object")
		}
		return s, nil
	}
	if err := config.DecodeStrict(data, &s); err != nil {
		return Scenario{}, err
	}
	return s, nil
}

// Load reads and validates a scenario file. A file without a name is named
// after the file.
func Load(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("read %s: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	if s.Name == "" {
		base := path[strings.LastIndex(path, "/")+1:]
		if i := strings.IndexByte(base, '.'); i > 0 {
			base = base[:i]
		}
		s.Name = base
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ExecutorNames returns the scenario's executor names, sorted.
func (s *Scenario) ExecutorNames() []string {
	names := make([]string, 0, len(s.Scenarios))
	for n := range s.Scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// JSON is the scenario as stored in load_tests.config, credentials redacted.
func (s *Scenario) JSON() json.RawMessage {
	b, err := json.Marshal(s.Redacted())
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) *Duration { return ptr(Duration(d)) }

// sensitive reports whether a header's value is a credential that must
// not be stored or printed.
func sensitive(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "cookie", "token", "secret", "key", "password", "signature"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Redacted returns a copy whose credential headers read "<redacted>", for
// what is stored (load_tests.config) and shown.
func (s Scenario) Redacted() Scenario {
	out := s
	out.Requests = make([]Request, len(s.Requests))
	for i, r := range s.Requests {
		if len(r.Headers) > 0 {
			h := make(map[string]string, len(r.Headers))
			for k, v := range r.Headers {
				if sensitive(k) {
					v = "<redacted>"
				}
				h[k] = v
			}
			r.Headers = h
		}
		out.Requests[i] = r
	}
	if len(s.Requests) == 0 {
		out.Requests = nil
	}
	return out
}

// ExpandHeader replaces ${NAME} in a header value with the environment
// variable NAME, so that credentials stay out of scenario files. A missing
// variable is an error: sending "Bearer " would only measure 401s.
func ExpandHeader(v string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", v)
		}
		name := v[i+2 : i+j]
		val, ok := lookup(name)
		if !ok || name == "" {
			return "", fmt.Errorf("environment variable %q is not set", name)
		}
		b.WriteString(v[:i])
		b.WriteString(val)
		v = v[i+j+1:]
	}
}
