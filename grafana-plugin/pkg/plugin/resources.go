package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/wedsync/scaling/grafana-plugin/pkg/models"
)

// action is a resource route that forwards to the control-plane API.
type action struct {
	method, pattern string // as the frontend calls the plugin
	apiMethod       string
	apiPath         func(r *http.Request) string
	body            bool // forward the request body
}

func pathID(prefix, suffix string) func(r *http.Request) string {
	return func(r *http.Request) string { return prefix + r.PathValue("id") + suffix }
}

func fixed(p string) func(*http.Request) string { return func(*http.Request) string { return p } }

// actions are the only calls the plugin forwards: it is not an open proxy
// to the API, and every one of them acts, so each needs an Editor.
var actions = []action{
	{http.MethodPost, "POST /recommendations/{id}/approve", http.MethodPost, pathID("/api/admin/optimization/recommendations/", "/approve"), false},
	{http.MethodPost, "POST /recommendations/{id}/implement", http.MethodPost, pathID("/api/admin/optimization/recommendations/", "/implement"), false},
	// The body carries the reason, which the API requires and checks.
	{http.MethodPost, "POST /recommendations/{id}/reject", http.MethodPost, pathID("/api/admin/optimization/recommendations/", "/reject"), true},
	{http.MethodPost, "POST /events/{id}/rollback", http.MethodPost, pathID("/api/admin/scaling/events/", "/rollback"), true},
	{http.MethodPost, "POST /events/{id}/retry", http.MethodPost, pathID("/api/admin/scaling/events/", "/retry"), true},
	{http.MethodPost, "POST /load-tests", http.MethodPost, fixed("/api/admin/scaling/load-tests"), true},
	{http.MethodDelete, "DELETE /load-tests/{id}", http.MethodDelete, pathID("/api/admin/scaling/load-tests/", ""), false},
	// Table actions in dashboards send POST: the same cancel.
	{http.MethodPost, "POST /load-tests/{id}/cancel", http.MethodDelete, pathID("/api/admin/scaling/load-tests/", ""), false},
}

// maxActionBody bounds what the plugin forwards (the API takes 64 KiB).
const maxActionBody = 64 << 10

func (d *Datasource) resourceHandler() backend.CallResourceHandler {
	mux := http.NewServeMux()
	for _, a := range actions {
		mux.HandleFunc(a.pattern, d.forward(a))
	}
	mux.HandleFunc("GET /services", d.services)
	mux.HandleFunc("GET /query-types", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"queryTypes": models.QueryTypes})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no resource %s %s", r.Method, r.URL.Path))
	})
	return httpadapter.New(mux)
}

// CallResource serves the resource routes.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(code, msg))
}

// canAct: Grafana viewers read dashboards; acting on the platform takes an
// Editor or Admin (the API token itself is an operator's).
func canAct(u *backend.User) bool {
	return u != nil && (u.Role == "Editor" || u.Role == "Admin")
}

func (d *Datasource) forward(a action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); a.apiPath != nil && r.Pattern != "POST /load-tests" && !models.IsUUID(id) {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("id %q is not a UUID", id))
			return
		}
		if u := backend.UserFromContext(r.Context()); !canAct(u) {
			who := "an anonymous user"
			if u != nil {
				who = fmt.Sprintf("%s (role %s)", u.Login, u.Role)
			}
			writeError(w, http.StatusForbidden, "forbidden", who+" may not act on the platform: Editor or Admin role needed")
			return
		}
		api, err := d.controlPlane()
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "not_configured", err.Error())
			return
		}
		var body []byte
		// The SDK's adapter leaves Body nil on a call without one (an
		// http.Request built for a client), which io.ReadAll would panic on.
		if a.body && r.Body != nil {
			body, err = io.ReadAll(io.LimitReader(r.Body, maxActionBody+1))
			if err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
				return
			}
			if len(body) > maxActionBody {
				writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", maxActionBody))
				return
			}
			if len(body) > 0 && !json.Valid(body) {
				writeError(w, http.StatusBadRequest, "bad_request", "body is not JSON")
				return
			}
			if len(body) == 0 {
				body = nil
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		status, out, err := api.do(ctx, a.apiMethod, a.apiPath(r), body, r.Header.Get("Idempotency-Key"))
		if err != nil {
			code := http.StatusBadGateway
			if errors.Is(err, context.DeadlineExceeded) {
				code = http.StatusGatewayTimeout
			}
			writeError(w, code, "unavailable", err.Error())
			return
		}
		d.logger.Info("action forwarded", "action", a.pattern, "path", a.apiPath(r), "status", status, "user", backend.UserFromContext(r.Context()).Login)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(out)
	}
}

// services lists the service names the query editor offers.
func (d *Datasource) services(w http.ResponseWriter, r *http.Request) {
	st, err := d.db()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_configured", err.Error())
		return
	}
	names, err := st.KnownServices(r.Context(), 90*24*time.Hour)
	if err != nil {
		writeError(w, http.StatusBadGateway, "unavailable", err.Error())
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": names})
}

// ActionRoutes lists the acting resource routes as the frontend and the
// dashboards' table actions call them, "METHOD /path/{id}" (for the
// dashboards' tests: an action must call one of these).
func ActionRoutes() []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.pattern
	}
	return out
}

// ForwardedRoutes lists the API routes the actions forward to, as
// "METHOD /path/{id}" (for contract tests against openapi.yaml).
func ForwardedRoutes() []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		r, _ := http.NewRequest(a.method, "/", nil)
		r.SetPathValue("id", "{id}")
		out[i] = a.apiMethod + " " + a.apiPath(r)
	}
	return out
}
