package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/loadtest/engine"
	"github.com/wedsync/scaling/loadtest/scenario"
)

// LoadTests runs load tests server-side (package loadrun).
type LoadTests interface {
	Start(ctx context.Context, sc scenario.Scenario, user string, confirmLong bool) (store.LoadTest, error)
	Progress(id string) (engine.Progress, bool)
	Cancel(id string) bool
}

// LoadTestStore reads load tests and records cancels.
type LoadTestStore interface {
	ListLoadTests(ctx context.Context, f store.LoadTestFilter) ([]store.LoadTest, error)
	GetLoadTest(ctx context.Context, id string) (store.LoadTest, error)
	CancelLoadTest(ctx context.Context, id, by string) (store.LoadTest, error)
}

type loadTestRequest struct {
	// Scenario is a built-in (baseline, stress, spike, volume, endurance)
	// shaped by the fields below; Definition a whole scenario (k6 options
	// plus target and requests), as a scenario file holds it.
	Scenario    string          `json:"scenario"`
	Definition  json.RawMessage `json:"definition"`
	Target      string          `json:"target"`
	Name        string          `json:"name"`
	VUs         *int64          `json:"vus"`
	Duration    string          `json:"duration"`
	RampUp      string          `json:"ramp_up"`
	Rate        *int64          `json:"rate"`
	ThinkTime   string          `json:"think_time"`
	ConfirmLong bool            `json:"confirm_long"`
}

func (s *Server) startLoadTest(r *request) (int, any, error) {
	var req loadTestRequest
	if err := r.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := req.validate(); err != nil {
		return 0, nil, err
	}
	sc, err := req.scenario()
	if err != nil {
		return 0, nil, err
	}
	// Everything about the input is checked before anything is recorded
	// or sent; what fails after that is the server's.
	limits := scenario.DefaultLimits
	limits.ConfirmLong = req.ConfirmLong
	if err := sc.Validate(); err != nil {
		return 0, nil, scenarioError(err)
	}
	if err := engine.Check(sc, engine.Options{Limits: &limits, Env: engine.NoEnv}); err != nil {
		return 0, nil, scenarioError(err)
	}
	lt, err := s.cfg.LoadTests.Start(r.ctx, sc, r.actor.Name, req.ConfirmLong)
	if err != nil {
		return 0, nil, err
	}
	r.resourceID = lt.ID
	return http.StatusAccepted, s.viewLoadTest(lt), nil
}

// validate checks the text fields; the scenario library checks the rest.
func (req loadTestRequest) validate() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"scenario", req.Scenario, maxNameLen}, {"name", req.Name, maxNameLen}, {"target", req.Target, maxTargetURLLen},
		{"duration", req.Duration, maxNameLen}, {"ramp_up", req.RampUp, maxNameLen}, {"think_time", req.ThinkTime, maxNameLen}} {
		if e := checkLen(f.name, f.v, f.max); e != nil {
			return e
		}
	}
	return nil
}

func (req loadTestRequest) scenario() (scenario.Scenario, error) {
	switch {
	case req.Scenario != "" && len(req.Definition) > 0:
		return scenario.Scenario{}, errBadRequest("", "give scenario (a built-in) or definition, not both")
	case len(req.Definition) > 0:
		if req.VUs != nil || req.Duration != "" || req.RampUp != "" || req.Rate != nil || req.ThinkTime != "" {
			return scenario.Scenario{}, errBadRequest("definition", "vus, duration, ramp_up, rate and think_time shape built-ins; put them in the definition")
		}
		sc, err := scenario.Parse(req.Definition)
		if err != nil {
			return sc, errBadRequest("definition", "definition: %v", err)
		}
		if req.Target != "" {
			sc.Target = req.Target
		}
		if req.Name != "" {
			sc.Name = req.Name
		}
		return sc, nil
	case req.Scenario != "":
		var o scenario.Override
		if req.VUs != nil {
			o.VUs = *req.VUs
		}
		if req.Rate != nil {
			o.Rate = *req.Rate
		}
		for _, d := range []struct {
			field, v string
			dst      *time.Duration
		}{{"duration", req.Duration, &o.Duration}, {"ramp_up", req.RampUp, &o.RampUp}} {
			if d.v == "" {
				continue
			}
			v, err := time.ParseDuration(d.v)
			if err != nil || v <= 0 {
				return scenario.Scenario{}, errBadRequest(d.field, "%s: %q is not a positive duration (e.g. 90s, 10m)", d.field, d.v)
			}
			*d.dst = v
		}
		if req.ThinkTime != "" {
			v, err := time.ParseDuration(req.ThinkTime)
			if err != nil || v < 0 {
				return scenario.Scenario{}, errBadRequest("think_time", "think_time: %q is not a duration (e.g. 1s)", req.ThinkTime)
			}
			o.ThinkTime = &v
		}
		if req.Target == "" {
			return scenario.Scenario{}, errBadRequest("target", "target: required (the base URL to load)")
		}
		sc, err := scenario.FromBuiltin(req.Scenario, req.Target, o)
		if err != nil {
			return sc, errBadRequest("scenario", "scenario: %v", err)
		}
		if req.Name != "" {
			sc.Name = req.Name
		}
		return sc, nil
	}
	return scenario.Scenario{}, errBadRequest("", "give scenario (a built-in: baseline, stress, spike, volume, endurance) or definition")
}

// scenarioError turns the library's validation problems ("field: why")
// into a 400 naming the first field.
func scenarioError(err error) error {
	var ve *scenario.ValidationError
	if errors.As(err, &ve) && len(ve.Problems) > 0 {
		field, _, _ := strings.Cut(ve.Problems[0], ":")
		return errBadRequest(field, "%s", strings.Join(ve.Problems, "; "))
	}
	field, _, _ := strings.Cut(err.Error(), ":")
	if strings.ContainsAny(field, " \"") {
		field = ""
	}
	return errBadRequest(field, "%v", err)
}

type loadTestView struct {
	ID                 string          `json:"id"`
	Name               string          `json:"test_name"`
	Type               string          `json:"test_type"`
	Status             string          `json:"status"`
	TargetURL          string          `json:"target_url"`
	Config             json.RawMessage `json:"config,omitempty"`
	Results            json.RawMessage `json:"results,omitempty"`
	BaselineComparison json.RawMessage `json:"baseline_comparison,omitempty"`
	PassedCriteria     *bool           `json:"passed_criteria"`
	FailureReason      string          `json:"failure_reason,omitempty"`
	InitiatedBy        string          `json:"initiated_by,omitempty"`
	StartedAt          *time.Time      `json:"started_at,omitempty"`
	CompletedAt        *time.Time      `json:"completed_at,omitempty"`
	DurationSeconds    *float64        `json:"duration_seconds,omitempty"`
	Owner              string          `json:"owner,omitempty"` // the autoscaler replica (lease holder) running it
	CancelRequestedAt  *time.Time      `json:"cancel_requested_at,omitempty"`
	CancelRequestedBy  string          `json:"cancel_requested_by,omitempty"`
	Progress           *progressView   `json:"progress,omitempty"`
}

type progressView struct {
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	TotalSeconds   float64  `json:"total_seconds"`
	VUs            int64    `json:"vus"`
	Requests       int64    `json:"requests"`
	Errors         int64    `json:"errors"`
	RequestsPerSec float64  `json:"requests_per_second"`
	P95Ms          *float64 `json:"p95_ms"`
	ErrorRate      float64  `json:"error_rate"`
}

func (s *Server) viewLoadTest(lt store.LoadTest) loadTestView {
	v := loadTestView{ID: lt.ID, Name: lt.Name, Type: lt.Type, Status: string(lt.Status), TargetURL: lt.TargetURL,
		Config: lt.Config, Results: lt.Results, BaselineComparison: lt.BaselineComparison, PassedCriteria: lt.PassedCriteria,
		FailureReason: lt.FailureReason, InitiatedBy: lt.InitiatedBy, StartedAt: lt.StartedAt, CompletedAt: lt.CompletedAt,
		DurationSeconds: lt.DurationSeconds, Owner: lt.Owner, CancelRequestedAt: lt.CancelRequestedAt, CancelRequestedBy: lt.CancelRequestedBy}
	if p, ok := s.cfg.LoadTests.Progress(lt.ID); ok {
		pv := &progressView{ElapsedSeconds: p.Elapsed.Seconds(), TotalSeconds: p.Total.Seconds(), VUs: p.VUs, Requests: p.Requests,
			Errors: p.Errors, RequestsPerSec: p.RPS, ErrorRate: p.ErrorRate}
		if !math.IsNaN(p.P95) {
			pv.P95Ms = &p.P95
		}
		v.Progress = pv
	}
	return v
}

func (s *Server) listLoadTests(r *request) (int, any, error) {
	from, to, err := r.timeRange(s.cfg.Now(), 90*24*time.Hour)
	if err != nil {
		return 0, nil, err
	}
	limit, err := r.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	status, err := r.oneOf("status", "running", "completed", "failed", "cancelled")
	if err != nil {
		return 0, nil, err
	}
	typ, err := r.oneOf("test_type", "baseline", "stress", "spike", "volume", "endurance", "custom")
	if err != nil {
		return 0, nil, err
	}
	lts, err := s.cfg.LoadTestStore.ListLoadTests(r.ctx, store.LoadTestFilter{Name: r.URL.Query().Get("test_name"), Type: typ,
		Status: store.LoadTestStatus(status), From: from, To: to, Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	out := page[loadTestView]{Items: make([]loadTestView, len(lts))}
	for i, lt := range lts {
		v := s.viewLoadTest(lt)
		v.Config, v.Results = nil, nil // the list stays light; GET {id} has them
		out.Items[i] = v
	}
	return http.StatusOK, out, nil
}

func (s *Server) getLoadTest(r *request) (int, any, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return 0, nil, errNotFound("load test %s: not found", id)
	}
	lt, err := s.cfg.LoadTestStore.GetLoadTest(r.ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.viewLoadTest(lt), nil
}

// cancelLoadTest works from any replica. The request goes on the row first
// (so a repeated cancel is one request): the owner's runner polls for it
// and records the partial results as cancelled; a test whose owner has
// stopped is marked cancelled at once. 202 with the test either way.
func (s *Server) cancelLoadTest(r *request) (int, any, error) {
	id := r.PathValue("id")
	r.resourceID = id
	if err := r.noBody(); err != nil {
		return 0, nil, err
	}
	if !isUUID(id) {
		return 0, nil, errNotFound("load test %s: not found", id)
	}
	// The request goes on the row in the transaction that writes the
	// call's audit.
	lt, err := s.cfg.LoadTestStore.CancelLoadTest(r.ctx, id, r.actor.Name)
	switch {
	case errors.Is(err, store.ErrNotOwned):
		// No lease names it, but a runner without one may run it here.
		if _, ok := s.cfg.LoadTests.Progress(id); !ok {
			return 0, nil, errConflict(string(store.LoadTestRunning),
				"load test %s runs under no autoscaler replica's lease (wedsync-load?); stop it where it runs", id)
		}
		// A signal no transaction records: audited before it is sent.
		if err := s.cfg.Store.BeginAudit(r.ctx); err != nil {
			return 0, nil, err
		}
		s.cfg.LoadTests.Cancel(id)
		if lt, err = s.cfg.LoadTestStore.GetLoadTest(r.ctx, id); err != nil {
			return 0, nil, err
		}
	case err != nil:
		return 0, nil, err
	default:
		// Running here: stop it now rather than at the next poll.
		s.cfg.LoadTests.Cancel(id)
	}
	return http.StatusAccepted, s.viewLoadTest(lt), nil
}
