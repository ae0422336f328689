package fleet

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// WorkloadPaths are the API endpoints served from the slot pool.
var WorkloadPaths = []string{"/api/weddings", "/api/vendors"}

func (f *Fleet) routes() http.Handler {
	mux := http.NewServeMux()
	for _, p := range WorkloadPaths {
		mux.HandleFunc("GET "+p, f.serveWorkload)
	}
	admin := f.requireToken
	mux.Handle("GET /admin/replicas", admin(http.HandlerFunc(f.getReplicas)))
	mux.Handle("PUT /admin/replicas", admin(http.HandlerFunc(f.putReplicas)))
	// Without this the mux would answer other methods with a plain-text 405; the admin
	// API promises one JSON error shape.
	mux.HandleFunc("/admin/replicas", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, PUT")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", f.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(f.registry, promhttp.HandlerOpts{
		// A failing collector must not turn the whole scrape into a 500.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}

// readyz reports ready while at least one replica can take requests.
func (f *Fleet) readyz(w http.ResponseWriter, _ *http.Request) {
	s := f.pool.state()
	if s.Ready < 1 {
		writeError(w, http.StatusServiceUnavailable, "no ready replicas")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "replicas": s.Ready})
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	// The client may be gone; there is nobody left to tell about a write error.
	_ = json.NewEncoder(w).Encode(v)
}
