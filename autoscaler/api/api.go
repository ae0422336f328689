// Package api is the admin REST API of wedsync-autoscaler (/api/admin/...):
// bearer tokens with roles, one JSON error shape, keyset pagination and
// time ranges on lists, an audit trail of every mutating call, idempotency
// keys on acting calls, and a hand-written OpenAPI 3 document (openapi.yaml)
// that a test holds to the route table in both directions.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
)

// Store is what the API reads and writes.
type Store interface {
	Authenticate(ctx context.Context, secret string) (store.Token, error)
	RecordAudit(ctx context.Context, e store.AuditEntry) error
	FinishAudit(ctx context.Context, id int64, status int, resourceID, errMsg string) error
	BeginAudit(ctx context.Context) error
	BeginIdempotent(ctx context.Context, scope, key, requestHash string) (store.Idempotent, bool, error)
	FinishIdempotent(ctx context.Context, scope, key string, status int, body json.RawMessage) error
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	GetEvent(ctx context.Context, id string) (store.Event, error)
	ListPhases(ctx context.Context) ([]store.Phase, error)
	GetPhase(ctx context.Context, idOrName string) (store.Phase, error)
	UpdatePhase(ctx context.Context, id string, u store.PhaseUpdate) (store.Phase, error)
	ListDecisions(ctx context.Context, service string, limit int) ([]store.Decision, error)
	FiringAlerts(ctx context.Context, service string, notBefore time.Time) ([]store.Alert, error)
	UnfinishedEvents(ctx context.Context) ([]store.Event, error)
	Ping(ctx context.Context) error
}

var _ Store = (*store.Store)(nil)

// Scaler is the part of the scaling loop the API acts through, so that
// manual actions obey the same limits and land in the same event log.
type Scaler interface {
	Known(service string) bool
	Services() []string
	Trigger(ctx context.Context, service string, t scaler.Trigger) (store.Event, error)
	MaxReplicas(service string) (int, bool)
	Rollback(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error)
	Retry(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error)
}

var _ Scaler = (*scaler.Scaler)(nil)

// Config assembles a Server.
type Config struct {
	Store  Store
	Scaler Scaler
	Growth Growth
	// Recommendations and LoadTestStore are normally the same store.
	Recommendations Recommendations
	LoadTestStore   LoadTestStore
	LoadTests       LoadTests
	Costs           Costs
	Planner         Planner
	Plans           Plans
	Measurements    Measurements
	Prometheus      Querier // may be nil: metrics routes then answer 503
	Logger          *slog.Logger
	// MaxBody bounds request bodies (default 64 KiB).
	MaxBody int64
	Now     func() time.Time
}

// Server serves the admin API.
type Server struct {
	cfg    Config
	routes []route
}

// New builds the server.
func New(c Config) *Server {
	if c.MaxBody == 0 {
		c.MaxBody = 64 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Server{cfg: c}
	s.routes = s.table()
	return s
}

// route is one endpoint of the table the router is built from.
type route struct {
	method, pattern string
	role            string // least role allowed
	acting          bool   // mutating: audited, and accepts an Idempotency-Key
	handle          func(r *request) (int, any, error)
}

// Handler is the http.Handler of /api/admin/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	mux.Handle("GET /api/admin/openapi.json", s.wrap(route{role: store.RoleViewer, handle: func(*request) (int, any, error) {
		return http.StatusOK, openAPIDocument(), nil
	}}))
	// Unknown paths under the API answer in the API's error shape.
	mux.HandleFunc("/api/admin/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// request is what a handler sees.
type request struct {
	*http.Request
	ctx   context.Context
	actor store.Token
	body  []byte
	// resourceID is set by handlers for the audit trail.
	resourceID string
}

// decode strictly decodes the JSON body into v: unknown fields, wrong
// types and trailing data are 400s naming the field.
func (r *request) decode(v any) error {
	if len(r.body) == 0 {
		return errBadRequest("", "request body required (JSON)")
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			// te.Field leaves out map keys (services.<name>): the value's
			// place in the body names it whole.
			field := te.Field
			if p, ok := pathAtOffset(r.body, te.Offset); ok {
				field = p
			}
			return errBadRequest(field, "%s: got a JSON %s, want %s", orRequest(field), te.Value, te.Type.String())
		case errors.As(err, &se):
			return errBadRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if p := unknownFieldPath(r.body, v, f); p != "" {
				f = p
			}
			return errBadRequest(f, "%s: unknown field", f)
		}
		return errBadRequest("", "malformed JSON: %v", err)
	}
	if dec.More() {
		return errBadRequest("", "malformed JSON: data after the object")
	}
	return nil
}

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		ctx := hr.Context()
		secret, ok := strings.CutPrefix(hr.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wedsync-admin"`)
			writeError(w, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing bearer token"})
			return
		}
		tok, err := s.cfg.Store.Authenticate(ctx, secret)
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wedsync-admin", error="invalid_token"`)
			writeError(w, &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "unknown or revoked token"})
			return
		}
		if err != nil {
			writeError(w, s.internal(err))
			return
		}
		if !store.RoleAllows(tok.Role, rt.role) {
			writeError(w, &apiError{Status: http.StatusForbidden, Code: "forbidden",
				Message: fmt.Sprintf("role %s may not %s %s (needs %s)", tok.Role, hr.Method, hr.URL.Path, rt.role)})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, s.cfg.MaxBody))
		if err != nil {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
				Message: fmt.Sprintf("request body over %d bytes", s.cfg.MaxBody)})
			return
		}
		r := &request{Request: hr, ctx: ctx, actor: tok, body: body}
		// Text no field may hold is refused before anything acts, on
		// every route; an acting call's refusal is audited like any other.
		bad := checkRequest(rt.pattern, hr, body)
		if !rt.acting {
			if bad != nil {
				writeError(w, bad)
				return
			}
			status, v, err := rt.handle(r)
			s.respond(w, status, v, err)
			return
		}
		status, payload := s.act(r, rt, bad)
		writeRaw(w, status, payload)
	})
}

// act runs a mutating handler under its idempotency key (if any) and
// records the call — refused, replayed or run — in the audit trail. A call
// that changes something has its audit row written by the store in the
// transaction of the change (store.WithAudit): no change without its row.
// act then completes that row with the answer, or, when nothing was
// changed, writes the row itself.
func (s *Server) act(r *request, rt route, bad *apiError) (int, []byte) {
	entry := store.AuditEntry{Actor: r.actor.Name, Role: r.actor.Role, Method: r.Method, Path: r.URL.Path,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Request: r.body}
	r.ctx = store.WithAudit(r.ctx, entry)
	var status int
	var payload []byte
	var err error
	if bad != nil {
		status, payload, err = fail(bad)
	} else {
		status, payload, err = s.idempotent(r, rt)
	}
	entry.Status, entry.ResourceID = status, r.resourceID
	if err != nil {
		entry.Error = err.Error()
	}
	ctx := context.WithoutCancel(r.ctx)
	if id, ok := store.AuditWritten(r.ctx); ok {
		if aerr := s.cfg.Store.FinishAudit(ctx, id, entry.Status, entry.ResourceID, entry.Error); aerr != nil {
			s.cfg.Logger.Error("audit trail: the change is recorded, its answer is not", "err", aerr, "audit_id", id,
				"actor", entry.Actor, "path", entry.Path, "status", status)
		}
	} else if aerr := s.cfg.Store.RecordAudit(ctx, entry); aerr != nil {
		s.cfg.Logger.Error("audit trail", "err", aerr, "actor", entry.Actor, "path", entry.Path)
	}
	return status, payload
}

func (s *Server) idempotent(r *request, rt route) (int, []byte, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return s.run(r, rt)
	}
	scope := r.actor.Name + " " + r.Method + " " + r.URL.Path
	sum := sha256.Sum256(r.body)
	hash := hex.EncodeToString(sum[:])
	prev, claimed, err := s.cfg.Store.BeginIdempotent(r.ctx, scope, key, hash)
	if err != nil {
		return fail(s.internal(err))
	}
	if !claimed {
		switch {
		case prev.RequestHash != hash:
			return fail(&apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
				Message: "Idempotency-Key was used with a different request"})
		case prev.Status == 0:
			return fail(&apiError{Status: http.StatusConflict, Code: "in_progress",
				Message: "a request with this Idempotency-Key is still running"})
		}
		return prev.Status, prev.Body, errReplayed // the first call's answer
	}
	status, payload, herr := s.run(r, rt)
	keep := status
	if status >= 500 {
		keep = -1 // worth retrying: free the key
	}
	if err := s.cfg.Store.FinishIdempotent(context.WithoutCancel(r.ctx), scope, key, keep, payload); err != nil {
		s.cfg.Logger.Error("store idempotent response", "err", err)
	}
	return status, payload, herr
}

// errReplayed marks, in the audit trail, an answer replayed for a key.
var errReplayed = errors.New("replayed the answer stored for this Idempotency-Key")

func fail(e *apiError) (int, []byte, error) {
	status, b := encodeError(e)
	return status, b, e
}

func (s *Server) run(r *request, rt route) (int, []byte, error) {
	status, v, err := rt.handle(r)
	if err != nil {
		return fail(s.classify(err))
	}
	payload, merr := json.Marshal(v)
	if merr != nil {
		return fail(s.internal(merr))
	}
	return status, payload, nil
}

func (s *Server) respond(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		writeError(w, s.classify(err))
		return
	}
	b, _ := json.Marshal(v)
	writeRaw(w, status, b)
}

// classify maps errors onto statuses: the API's own errors as they are,
// store sentinels to 404/409/400/503, anything else 500. No answer carries
// database text: a message that looks like it is logged and replaced.
func (s *Server) classify(err error) *apiError {
	ae := s.classifyErr(err)
	if leaksDatabase(ae.Message) || leaksDatabase(ae.State) {
		s.cfg.Logger.Error("admin API: database text kept out of an answer", "err", err, "status", ae.Status)
		safe := *ae
		safe.Message, safe.State = http.StatusText(ae.Status), ""
		if ae.Status == http.StatusBadRequest {
			safe.Message = "a value was refused as invalid"
		}
		return &safe
	}
	return ae
}

func (s *Server) classifyErr(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ce *store.ConflictError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		return errBadRequest(ve.Field, "%s", ve.Error())
	case errors.As(err, &ce):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error(), State: ce.State}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, store.ErrBusy):
		return &apiError{Status: http.StatusConflict, Code: "busy", Message: err.Error(), State: "in_progress"}
	case errors.Is(err, store.ErrInvalid):
		// The database's own checks refused a value the API's validation
		// let through: its text names constraints and columns, so the
		// answer says only what happened.
		s.cfg.Logger.Warn("admin API: the database refused a value", "err", err)
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "a value was refused as invalid (outside what the database accepts)"}
	case errors.Is(err, store.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "database unavailable, retry later"}
	case errors.Is(err, store.ErrNoLease):
		// This replica's lease lapsed (a database blip): retry shortly.
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this replica holds no live lease, retry later"}
	}
	return s.internal(err)
}

func (s *Server) internal(err error) *apiError {
	if errors.Is(err, store.ErrUnavailable) {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "database unavailable, retry later"}
	}
	s.cfg.Logger.Error("admin API", "err", err)
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// apiError is the one error shape: {"error": {...}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// State is the current state of the resource on a 409.
	State string `json:"state,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errBadRequest(field, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Field: field, Message: fmt.Sprintf(format, a...)}
}

func errNotFound(format string, a ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, a...)}
}

func errConflict(state, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusConflict, Code: "conflict", State: state, Message: fmt.Sprintf(format, a...)}
}

func encodeError(e *apiError) (int, []byte) {
	b, _ := json.Marshal(map[string]*apiError{"error": e})
	return e.Status, b
}

func writeError(w http.ResponseWriter, e *apiError) {
	status, b := encodeError(e)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)            //nolint:errcheck // the client went away
	w.Write([]byte{'\n'}) //nolint:errcheck
}
