package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// The response check refuses what it should, so that the API tests passing
// through it means something.
func TestResponseCheckRefuses(t *testing.T) {
	t.Parallel()
	doc, router := openAPISpec(t)
	const id = "/api/admin/scaling/events/6f1c1d4e-2b7a-4c1e-9d3f-0a1b2c3d4e5f"
	js := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // "" when the response is valid
	}{
		{"an event", "GET", id, 200, js, `{"id": "6f1c1d4e-2b7a-4c1e-9d3f-0a1b2c3d4e5f", "status": "completed"}`, ""},
		{"an error", "GET", id, 404, js, `{"error": {"code": "not_found", "message": "no such event"}}`, ""},
		{"401 on any route", "GET", id, 401, js, `{"error": {"code": "unauthorized", "message": "missing bearer token"}}`, ""},
		{"the catch-all's 404", "GET", "/api/admin/nowhere", 404, js, `{"error": {"code": "not_found", "message": "no such endpoint"}}`, ""},
		{"an event with an unknown status", "GET", id, 200, js, `{"id": "6f1c1d4e-2b7a-4c1e-9d3f-0a1b2c3d4e5f", "status": "exploded"}`, "exploded"},
		{"an event id that is not a uuid", "GET", id, 200, js, `{"id": "42"}`, "uuid"},
		{"an undocumented status", "GET", id, 418, js, `{"error": {"code": "teapot", "message": "no"}}`, "status"},
		{"a handler status only default covers", "GET", id, 400, js, `{"error": {"code": "bad_request", "message": "no"}}`, "x-statuses"},
		{"an error without a message", "GET", id, 404, js, `{"error": {"code": "not_found"}}`, "message"},
		{"an error with database text", "GET", id, 404, js, `{"error": {"code": "not_found", "message": "x", "sqlstate": "22021"}}`, "sqlstate"},
		{"an error that is not JSON", "GET", "/api/admin/nowhere", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found", "not JSON"},
		{"an undocumented path", "GET", "/api/admin/secret", 200, js, `{}`, "not in openapi.yaml"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, "http://127.0.0.1"+tc.path, nil)
		got := strings.Join(responseProblems(doc, router, req, tc.status, tc.header, []byte(tc.body)), "\n")
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s: refused: %s", tc.name, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s: problems %q, want one naming %q", tc.name, got, tc.want)
		}
	}
}
