package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wedsync/scaling/core/store"
)

// DefaultMaxBody bounds a notification. Alertmanager's payloads are a few
// KiB per alert; 1 MiB holds hundreds of alerts and stops a runaway client.
const DefaultMaxBody = 1 << 20

// Recorder durably records a notification (the store).
type Recorder interface {
	RecordNotification(ctx context.Context, n store.Notification) (duplicate bool, err error)
}

// Handler is the webhook endpoint.
type Handler struct {
	rec     Recorder
	known   func(service string) bool
	notify  func(services []string, received time.Time)
	token   string
	maxBody int64
	logger  *slog.Logger
	results *prometheus.CounterVec
}

// Config configures a Handler.
type Config struct {
	Recorder Recorder
	// Known reports whether a service is in the policy file.
	Known func(service string) bool
	// Notify is called after a notification is recorded, with the
	// services it names; it must not block.
	Notify func(services []string, received time.Time)
	// Token is the bearer token Alertmanager must send.
	Token   string
	MaxBody int64
	Logger  *slog.Logger
	Reg     prometheus.Registerer
}

// New builds the handler and registers its metrics.
func New(c Config) (*Handler, error) {
	if c.Token == "" {
		return nil, errors.New("webhook: a bearer token is required")
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	h := &Handler{rec: c.Recorder, known: c.Known, notify: c.Notify, token: c.Token, maxBody: c.MaxBody, logger: c.Logger,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "notifications_total",
			Help: "Alertmanager notifications received, by result (accepted, duplicate, rejected, unauthorized, unavailable, error).",
		}, []string{"result"})}
	for _, r := range []string{"accepted", "duplicate", "rejected", "unauthorized", "unavailable", "error"} {
		h.results.WithLabelValues(r)
	}
	if c.Reg != nil {
		if err := c.Reg.Register(h.results); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// ServeHTTP handles POST of one notification. 2xx only once it is durably
// recorded (or was already); 4xx for input that will never be accepted
// (Alertmanager does not retry those); 503 for a database outage, which
// Alertmanager retries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	if !h.authorized(r) {
		h.results.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="wedsync-autoscaler"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		h.results.WithLabelValues("rejected").Inc()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body larger than " + itoa(h.maxBody) + " bytes"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
		return
	}
	n, err := Decode(body, h.known)
	if err != nil {
		h.results.WithLabelValues("rejected").Inc()
		var we *Error
		errors.As(err, &we)
		h.logger.Warn("notification rejected", "status", we.Status, "err", we.Msg)
		writeJSON(w, we.Status, map[string]string{"error": we.Msg})
		return
	}
	dup, err := h.rec.RecordNotification(r.Context(), n)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		h.results.WithLabelValues("unavailable").Inc()
		h.logger.Error("notification not recorded: database unavailable; Alertmanager will retry", "err", err)
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable, retry later"})
		return
	case errors.Is(err, store.ErrInvalid):
		h.results.WithLabelValues("rejected").Inc()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "notification refused by the database: " + err.Error()})
		return
	case err != nil:
		h.results.WithLabelValues("error").Inc()
		h.logger.Error("notification not recorded", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	result := "accepted"
	if dup {
		result = "duplicate"
	}
	h.results.WithLabelValues(result).Inc()
	h.logger.Info("notification recorded", "result", result, "status", n.Status, "group_key", n.GroupKey, "alerts", len(n.Alerts))
	if h.notify != nil {
		seen := map[string]bool{}
		var services []string
		for _, a := range n.Alerts {
			if !seen[a.Service] {
				seen[a.Service] = true
				services = append(services, a.Service)
			}
		}
		h.notify(services, received)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": result, "alerts": len(n.Alerts)})
}

func (h *Handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h.token)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
