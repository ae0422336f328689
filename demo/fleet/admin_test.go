package fleet

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testToken = "s3cret"

type adminCall struct {
	method string
	auth   string // Authorization header; "" sends none
	body   string
}

func (c adminCall) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(c.method, "/admin/replicas", strings.NewReader(c.body))
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newAdminFleet(t *testing.T) *Fleet {
	t.Helper()
	cfg := testConfig()
	cfg.Replicas = 2
	cfg.MaxReplicas = 5
	cfg.AdminToken = testToken
	return newTestFleet(t, cfg)
}

func TestAdminRejectsBadInput(t *testing.T) {
	t.Parallel()
	bearer := "Bearer " + testToken
	tests := []struct {
		name      string
		call      adminCall
		wantCode  int
		wantError string
	}{
		{"no token", adminCall{http.MethodPut, "", `{"replicas":3}`}, 401, "missing or invalid bearer token"},
		{"wrong token", adminCall{http.MethodPut, "Bearer nope", `{"replicas":3}`}, 401, "missing or invalid bearer token"},
		{"basic auth", adminCall{http.MethodPut, "Basic czNjcmV0", `{"replicas":3}`}, 401, "missing or invalid bearer token"},
		{"GET needs the token too", adminCall{http.MethodGet, "", ""}, 401, "missing or invalid bearer token"},
		{"empty body", adminCall{http.MethodPut, bearer, ""}, 400, `request body: empty, want {"replicas": n}`},
		{"truncated JSON", adminCall{http.MethodPut, bearer, `{"replicas":`}, 400, "request body: malformed JSON: unexpected end of input"},
		{"syntax error", adminCall{http.MethodPut, bearer, `{"replicas":3 x}`}, 400, "request body: malformed JSON at byte 14: invalid character 'x' after object key:value pair"},
		{"not an object", adminCall{http.MethodPut, bearer, `[3]`}, 400, "request body: must be a JSON object"},
		{"unknown field", adminCall{http.MethodPut, bearer, `{"replicas":3,"force":true}`}, 400, `request body: unknown field "force"`},
		{"field name is case-sensitive", adminCall{http.MethodPut, bearer, `{"Replicas":3}`}, 400, `request body: unknown field "Replicas"`},
		{"missing replicas", adminCall{http.MethodPut, bearer, `{}`}, 400, "replicas: required"},
		{"duplicate replicas", adminCall{http.MethodPut, bearer, `{"replicas":3,"replicas":4}`}, 400, "replicas: given more than once"},
		{"string", adminCall{http.MethodPut, bearer, `{"replicas":"3"}`}, 400, "replicas: must be an integer, got a string"},
		{"null", adminCall{http.MethodPut, bearer, `{"replicas":null}`}, 400, "replicas: must be an integer, got null"},
		{"boolean", adminCall{http.MethodPut, bearer, `{"replicas":true}`}, 400, "replicas: must be an integer, got a boolean"},
		{"fraction", adminCall{http.MethodPut, bearer, `{"replicas":2.5}`}, 400, "replicas: must be an integer, got 2.5"},
		{"exponent", adminCall{http.MethodPut, bearer, `{"replicas":3e0}`}, 400, "replicas: must be an integer, got 3e0"},
		{"two objects", adminCall{http.MethodPut, bearer, `{"replicas":3}{"replicas":4}`}, 400, "request body: must contain a single JSON object"},
		{"over 4 KiB", adminCall{http.MethodPut, bearer, `{"replicas":3}` + strings.Repeat(" ", MaxAdminBodyBytes)}, 400, "request body: larger than 4096 bytes"},
		{"zero", adminCall{http.MethodPut, bearer, `{"replicas":0}`}, 422, "replicas: must be between 1 and 5, got 0"},
		{"negative", adminCall{http.MethodPut, bearer, `{"replicas":-2}`}, 422, "replicas: must be between 1 and 5, got -2"},
		{"above max", adminCall{http.MethodPut, bearer, `{"replicas":6}`}, 422, "replicas: must be between 1 and 5, got 6"},
		{"beyond int64", adminCall{http.MethodPut, bearer, `{"replicas":99999999999999999999}`}, 422, "replicas: must be between 1 and 5, got 99999999999999999999"},
		{"wrong method", adminCall{http.MethodPost, bearer, `{"replicas":3}`}, 405, "method not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newAdminFleet(t)
			h := f.Handler()
			rec := tc.call.do(t, h)
			if rec.Code != tc.wantCode {
				t.Errorf("status = %d, want %d (body %s)", rec.Code, tc.wantCode, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
			}
			if len(got) != 1 || got["error"] != tc.wantError {
				t.Errorf("body = %s, want {\"error\": %q}", rec.Body, tc.wantError)
			}
			if tc.wantCode == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if s := f.State(); s.Ready != 2 || s.Desired != 2 {
				t.Errorf("state changed by a rejected request: ready=%d desired=%d, want 2 2", s.Ready, s.Desired)
			}
		})
	}
}

func TestAdminReplicas(t *testing.T) {
	t.Parallel()
	bearer := "Bearer " + testToken
	tests := []struct {
		name      string
		delay     time.Duration
		calls     []adminCall
		wantCode  int
		wantState replicasResponse // in the last answer
	}{
		{"get", time.Hour, []adminCall{{http.MethodGet, bearer, ""}}, 200, replicasResponse{2, 2}},
		{"scale-up is accepted, ready follows later", time.Hour, []adminCall{{http.MethodPut, bearer, `{"replicas":4}`}}, 202, replicasResponse{2, 4}},
		{"get after scale-up shows desired", time.Hour, []adminCall{{http.MethodPut, bearer, `{"replicas":4}`}, {http.MethodGet, bearer, ""}}, 200, replicasResponse{2, 4}},
		{"scale-down is immediate", time.Hour, []adminCall{{http.MethodPut, bearer, ` { "replicas" : 1 } `}}, 202, replicasResponse{1, 1}},
		{"repeat is idempotent", time.Hour, []adminCall{{http.MethodPut, bearer, `{"replicas":3}`}, {http.MethodPut, bearer, `{"replicas":3}`}}, 202, replicasResponse{2, 3}},
		{"max is allowed", 0, []adminCall{{http.MethodPut, bearer, `{"replicas":5}`}}, 202, replicasResponse{5, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Replicas = 2
			cfg.AdminToken = testToken
			cfg.ProvisionDelay = tc.delay
			f := newTestFleet(t, cfg)
			h := f.Handler()
			var rec *httptest.ResponseRecorder
			for _, c := range tc.calls {
				rec = c.do(t, h)
			}
			if rec.Code != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.wantCode, rec.Body)
			}
			var got replicasResponse
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decode %s: %v", rec.Body, err)
			}
			if got != tc.wantState {
				t.Fatalf("answer = %+v, want %+v", got, tc.wantState)
			}
		})
	}
}

func TestAdminWithoutTokenConfigured(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t, testConfig())
	rec := adminCall{method: http.MethodPut, body: `{"replicas":1}`}.do(t, f.Handler())
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (no token configured): %s", rec.Code, rec.Body)
	}
}

func FuzzAdminReplicas(f *testing.F) {
	for _, seed := range []string{
		`{"replicas":3}`, `{"replicas":0}`, `{"replicas":-1}`, `{"replicas":99999999999999999999}`,
		`{"replicas":2.5}`, `{"replicas":"3"}`, `{"replicas":null}`, `{}`, `[]`, `3`, ``, ` `,
		`{"replicas":3,"x":1}`, `{"replicas":3}{}`, `{"replicas":`, `{"replicas":3,"replicas":4}`,
		`{"Replicas":3}`, `{"replicas":1e3}`, `{"replicas":-0}`, "{\"replicas\":3}\n",
		`{"replicas":[1]}`, `{"replicas":{"a":1}}`, `{"\u0072eplicas":4}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeReplicasRequest(body)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "request body: ") && !strings.HasPrefix(msg, "replicas: ") {
				t.Fatalf("error %q names neither the body nor the field", msg)
			}
			return
		}
		if len(body) > MaxAdminBodyBytes {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		// Whatever is accepted must be a body encoding/json also reads as that value.
		var std struct {
			Replicas json.Number `json:"replicas"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", body, err)
		}
		if string(std.Replicas) != req.literal {
			t.Fatalf("accepted %q as %s, encoding/json reads %s", body, req.literal, std.Replicas)
		}
		if n, err := std.Replicas.Int64(); err == nil && n != req.replicas {
			t.Fatalf("decoded %d, encoding/json reads %d", req.replicas, n)
		}
	})
}
