package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wedsync/scaling/core/store"
)

func TestCheckJSONTextNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, field string
		ok          bool
	}{
		{`{"a": "fine", "b": [1, "two", {"c": null}]}`, "", true},
		{`{"a": "C:\\u0000"}`, "", true},  // a backslash, then u0000: text
		{`{"a": "\\\u0000"}`, "a", false}, // a backslash, then an escaped NUL
		{`{"a": "\u0000"}`, "a", false},
		{`{"a": {"b": [1, {"c": "x\u0000"}]}}`, "a.b[1].c", false},
		{"{\"a\": {\"b\": [\"ok\", \"\xff\"]}}", "a.b[1]", false},
		{"{\"a\": 1, \"k\xff\": 2}", "", false}, // a bad key is reported at its object
		{"{\"a\": {\"k\xc3\": 2}}", "a", false}, // a truncated sequence
		{"{\"a\": \"x\x00y\"}", "a", false},     // a raw NUL: not JSON either
		{"\xff", "", false},
		{`{"a": `, "", true}, // malformed: decode reports it
	}
	for _, tc := range tests {
		e := checkJSONText([]byte(tc.body))
		switch {
		case tc.ok && e != nil:
			t.Errorf("%q: refused: %v", tc.body, e)
		case !tc.ok && e == nil:
			t.Errorf("%q: accepted", tc.body)
		case !tc.ok && (e.Status != 400 || e.Field != tc.field):
			t.Errorf("%q: %d field %q (%s), want field %q", tc.body, e.Status, e.Field, e.Message, tc.field)
		}
	}
}

// No answer carries database text, whatever error reaches classify.
func TestClassifyKeepsDatabaseTextOut(t *testing.T) {
	t.Parallel()
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pgErr := &pgconn.PgError{Severity: "ERROR", Code: "23514", Message: `new row for relation "cost_budgets" violates check constraint "cost_budgets_currency_check"`,
		ConstraintName: "cost_budgets_currency_check", ColumnName: "currency"}
	tests := []struct {
		err    error
		status int
		field  string
	}{
		{fmt.Errorf("create budget: %w: %w", store.ErrInvalid, pgErr), 400, ""},
		{fmt.Errorf("create budget: %w", pgErr), 500, ""},
		{&store.ValidationError{Field: "currency", Message: "not an ISO 4217 code"}, 400, "currency"},
		{errBadRequest("x", "x: ERROR: something (SQLSTATE 22021)"), 400, "x"},
		{&store.ConflictError{What: "budget x", State: "pq: duplicate"}, 409, ""},
		{unavailable(fmt.Errorf("forecasts: %w", pgErr)), 503, ""},
	}
	for _, tc := range tests {
		e := s.classify(tc.err)
		_, body := encodeError(e)
		if e.Status != tc.status || e.Field != tc.field || leaksDatabase(string(body)) || strings.Contains(string(body), "currency_check") {
			t.Errorf("%v: %d %s", tc.err, e.Status, body)
		}
	}
}

// Every length limit the document states is the one input.go defines.
func TestOpenAPIMaxLengthsAreTheLimits(t *testing.T) {
	t.Parallel()
	limits := map[string]int{"reason": maxReasonLen, "name": maxNameLen, "Idempotency-Key": maxIdempotencyKeyLen}
	found := 0
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ml, ok := x["maxLength"].(float64); ok {
				if want, known := limits[key]; !known || int(ml) != want {
					t.Errorf("%s: maxLength %v; input.go's limit is %d (known: %v)", key, ml, want, known)
				}
				found++
			}
			for k, c := range x {
				if n, ok := x["name"].(string); ok && k == "schema" {
					k = n // a parameter's schema: named by the parameter
				}
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(key, c)
			}
		}
	}
	walk("", openAPIDocument())
	if found < 3 {
		t.Fatalf("%d maxLength values in the document", found)
	}
}

// bodyRoutes are the decode and validate steps of every acting route that
// takes a body, without a database: what the fuzzer drives.
var bodyRoutes = []struct {
	name string
	run  func(r *request) error
}{
	{"trigger", func(r *request) error {
		var req triggerRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		return req.validate()
	}},
	{"rollback/retry", func(r *request) error { var req undoRequest; return r.decode(&req) }},
	{"budget create", func(r *request) error {
		var req budgetRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		if req.Currency == "" {
			req.Currency = "USD" // as createBudget defaults it
		}
		_, err := req.validate(true, req.Currency)
		return err
	}},
	{"budget update", func(r *request) error {
		var req budgetRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		_, err := req.validate(false, "USD") // a stored budget's currency
		return err
	}},
	{"configuration", func(r *request) error {
		var req configurationRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		return req.validate()
	}},
	{"custom metric", func(r *request) error {
		var req customMetricRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		return req.validateText()
	}},
	{"load test", func(r *request) error {
		var req loadTestRequest
		if err := r.decode(&req); err != nil {
			return err
		}
		if err := req.validate(); err != nil {
			return err
		}
		_, err := req.scenario()
		return err
	}},
	{"transition", func(r *request) error { var req transitionRequest; return r.decode(&req) }},
	{"capacity plan", func(r *request) error { var req planRequest; return r.decode(&req) }},
	{"no body", func(r *request) error { return r.noBody() }},
}

// FuzzRequestBody throws arbitrary bytes at the request checks and the
// strict decoders and validators of the acting routes. None may panic;
// a body the text check accepts has no NUL in any string and is valid
// UTF-8; every refusal is a 400 apiError with a message.
func FuzzRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"replicas": 4, "reason": "launch"}`, `{"dry_run": true}`, `{"budget_name": "x", "budget_limit": "10.00", "alert_thresholds": [50, 100]}`,
		`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": 2, "max_replicas": 9}}, "workers": {"q": 1}}}`,
		`{"metric_name": "m", "metric_value": 1.5, "service_name": "api", "labels": {"k": "v"}, "recorded_at": "2026-01-01T00:00:00Z"}`,
		`{"scenario": "baseline", "target": "http://127.0.0.1:1", "vus": 2, "duration": "10s"}`, `{"to": "growth"}`, `{"name": "q4"}`,
		`{"a": "\u0000"}`, "{\"a\": \"\xff\"}", `{"a": "C:\\u0000"}`, `{"x": {"y": [1, {"z": "\u0000"}]}}`, `[]`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hr := httptest.NewRequest(http.MethodPost, "/api/admin/x", bytes.NewReader(body))
		bad := checkRequest("/api/admin/x", hr, body)
		if bad == nil && utf8.Valid(body) {
			var doc any
			if json.Unmarshal(body, &doc) == nil && hasNUL(doc) {
				t.Fatalf("accepted a NUL: %q", body)
			}
		}
		if bad == nil && !utf8.Valid(body) && json.Valid(body) {
			t.Fatalf("accepted invalid UTF-8 in JSON: %q", body)
		}
		for _, rt := range bodyRoutes {
			err := rt.run(&request{Request: hr, body: body})
			if err == nil {
				continue
			}
			var ae *apiError
			// (No database is involved here; a message may echo the input,
			// so database-looking text is classify's to catch, tested above.)
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message == "" {
				t.Fatalf("%s: %q: %T %v", rt.name, body, err, err)
			}
		}
	})
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, c := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasNUL(c) {
				return true
			}
		}
	}
	return false
}
