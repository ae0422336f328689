package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
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

// CostRecorder records cost alerts (the store).
type CostRecorder interface {
	RecordCostAlerts(ctx context.Context, alerts []store.CostAlert) (int, error)
}

// Handler is the webhook endpoint.
type Handler struct {
	rec     Recorder
	costs   CostRecorder
	known   func(service string) bool
	notify  func(services []string, received time.Time)
	onCost  func(alerts []store.CostAlert)
	token   string
	maxBody int64
	logger  *slog.Logger
	results *prometheus.CounterVec
	// alertsRejected counts alerts refused inside accepted notifications
	// (a wholly refused notification counts in results as rejected).
	alertsRejected prometheus.Counter
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
	// Costs records cost alerts (Costs() endpoint); OnCost is called after,
	// must not block, and sees what was recorded.
	Costs  CostRecorder
	OnCost func(alerts []store.CostAlert)
}

// New builds the handler and registers its metrics.
func New(c Config) (*Handler, error) {
	if c.Token == "" {
		return nil, errors.New("webhook: a bearer token is required")
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	h := &Handler{rec: c.Recorder, costs: c.Costs, known: c.Known, notify: c.Notify, onCost: c.OnCost, token: c.Token,
		maxBody: c.MaxBody, logger: c.Logger,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "notifications_total",
			Help: "Alertmanager notifications received, by endpoint (scaling, costs) and result (accepted, duplicate, rejected, unauthorized, unavailable, error).",
		}, []string{"endpoint", "result"}),
		alertsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wedsync", Subsystem: "autoscaler", Name: "alerts_rejected_total",
			Help: "Alerts refused inside notifications whose other alerts were recorded (scaling: a missing, unknown or oversized label; costs: no startsAt, a bad status, a NUL, a database refusal).",
		})}
	for _, e := range []string{"scaling", "costs"} {
		for _, r := range []string{"accepted", "duplicate", "rejected", "unauthorized", "unavailable", "error"} {
			h.results.WithLabelValues(e, r)
		}
	}
	if c.Reg != nil {
		reg := c.Reg
		for _, col := range []prometheus.Collector{h.results, h.alertsRejected} {
			if err := reg.Register(col); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// ServeHTTP handles POST of one scaling notification. 2xx only once it is
// durably recorded (or was already); 4xx for input that will never be
// accepted (Alertmanager does not retry those); 503 for a database outage,
// which Alertmanager retries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "scaling", func(ctx context.Context, body []byte, received time.Time) (bool, int, []Rejected, error) {
		n, rejected, err := Decode(body, h.known)
		if err != nil {
			return false, 0, nil, err
		}
		dup, err := h.rec.RecordNotification(ctx, n)
		if err != nil {
			return false, 0, nil, err
		}
		h.logger.Info("notification recorded", "duplicate", dup, "status", n.Status, "group_key", n.GroupKey, "alerts", len(n.Alerts), "rejected", len(rejected))
		h.logRejected(rejected, dup, n.GroupKey)
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
		return dup, len(n.Alerts), rejected, nil
	})
}

// Costs is the endpoint of cost and capacity alerts
// (/webhook/alertmanager/costs): they are recorded in cost_alerts, once
// per alert instance however often they are delivered.
func (h *Handler) Costs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, "costs", func(ctx context.Context, body []byte, _ time.Time) (bool, int, []Rejected, error) {
			if h.costs == nil {
				return false, 0, nil, &Error{Status: http.StatusNotFound, Msg: "cost alerts are not recorded by this autoscaler"}
			}
			alerts, index, rejected, err := decodeCost(body)
			if err != nil {
				return false, 0, nil, err
			}
			n, err := h.costs.RecordCostAlerts(ctx, alerts)
			if errors.Is(err, store.ErrInvalid) && len(alerts) > 1 {
				// The database refused what decoding let through (a bug of
				// ours): record the alerts one by one so that the refused
				// one alone is lost, not its neighbours.
				var refused []Rejected
				alerts, n, refused, err = h.recordEach(ctx, alerts, index)
				rejected = append(rejected, refused...)
				slices.SortFunc(rejected, func(a, b Rejected) int { return a.Index - b.Index })
			}
			if err != nil {
				return false, 0, nil, err
			}
			h.logger.Info("cost alerts recorded", "alerts", len(alerts), "new", n, "rejected", len(rejected))
			h.logRejected(rejected, n == 0, "")
			for _, a := range alerts {
				if len(a.Flags) > 0 {
					h.logger.Warn("cost alert recorded with flags: kept as received, numbers not stored exactly are null",
						"fingerprint", a.Fingerprint, "flags", a.Flags)
				}
			}
			if h.onCost != nil {
				h.onCost(alerts)
			}
			return n == 0, len(alerts), rejected, nil
		})
	})
}

// serve is what both endpoints share: authentication, the size limit, the
// status mapping and the counters.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string,
	process func(ctx context.Context, body []byte, received time.Time) (dup bool, alerts int, rejected []Rejected, err error)) {
	received := time.Now()
	count := func(result string) { h.results.WithLabelValues(endpoint, result).Inc() }
	if !h.authorized(r) {
		count("unauthorized")
		w.Header().Set("WWW-Authenticate", `Bearer realm="wedsync-autoscaler"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		count("rejected")
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body larger than " + itoa(h.maxBody) + " bytes"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read body: " + err.Error()})
		return
	}
	dup, alerts, rejected, err := process(r.Context(), body, received)
	var we *Error
	switch {
	case errors.As(err, &we):
		count("rejected")
		h.logger.Warn("notification rejected", "endpoint", endpoint, "status", we.Status, "err", we.Msg)
		writeJSON(w, we.Status, map[string]string{"error": we.Msg})
		return
	case errors.Is(err, store.ErrUnavailable):
		count("unavailable")
		h.logger.Error("notification not recorded: database unavailable; Alertmanager will retry", "endpoint", endpoint, "err", err)
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable, retry later"})
		return
	case errors.Is(err, store.ErrInvalid):
		// Decoding lets through only what the schema stores, so this is a
		// bug of ours, not bad input: 500 (Alertmanager retries, the error
		// counter shows it), and no database text in the answer.
		count("error")
		h.logger.Error("notification refused by the database", "endpoint", endpoint, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error: the notification could not be stored"})
		return
	case err != nil:
		count("error")
		h.logger.Error("notification not recorded", "endpoint", endpoint, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	result := "accepted"
	if dup {
		result = "duplicate"
	}
	count(result)
	resp := map[string]any{"status": result, "alerts": alerts}
	if len(rejected) > 0 {
		// 2xx all the same: Alertmanager would resend the valid alerts with
		// the invalid ones on a 5xx, and drop the valid ones on a 4xx.
		resp["rejected"] = rejected[:min(len(rejected), maxReasons)]
		resp["rejected_count"] = len(rejected)
	}
	writeJSON(w, http.StatusOK, resp)
}

// logRejected counts and logs the alerts refused inside a recorded
// notification, once: a duplicate delivery was counted the first time.
func (h *Handler) logRejected(rejected []Rejected, dup bool, groupKey string) {
	if len(rejected) == 0 || dup {
		return
	}
	h.alertsRejected.Add(float64(len(rejected)))
	for _, r := range rejected[:min(len(rejected), maxReasons)] {
		h.logger.Warn("alert rejected; its neighbours were recorded", "group_key", groupKey, "index", r.Index, "fingerprint", r.Fingerprint, "err", r.Error)
	}
}

// recordEach records alerts one statement each, after the batch of all was
// refused: it returns those recorded, how many were new, and the refused
// (index from alerts[] of the notification). An outage is an error.
func (h *Handler) recordEach(ctx context.Context, alerts []store.CostAlert, index []int) ([]store.CostAlert, int, []Rejected, error) {
	var kept []store.CostAlert
	var refused []Rejected
	total := 0
	for i, a := range alerts {
		n, err := h.costs.RecordCostAlerts(ctx, []store.CostAlert{a})
		switch {
		case errors.Is(err, store.ErrInvalid):
			h.logger.Error("cost alert refused by the database", "fingerprint", a.Fingerprint, "err", err)
			refused = append(refused, Rejected{Index: index[i], Fingerprint: short(a.Fingerprint), Error: fmt.Sprintf("alerts[%d]: refused by the database", index[i])})
		case err != nil:
			return nil, 0, nil, err
		default:
			kept, total = append(kept, a), total+n
		}
	}
	if len(kept) == 0 {
		return nil, 0, nil, fmt.Errorf("every cost alert refused by the database: %w", store.ErrInvalid)
	}
	return kept, total, refused, nil
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
