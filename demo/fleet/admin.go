package fleet

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// replicasResponse is the body of every successful admin answer.
type replicasResponse struct {
	Replicas int `json:"replicas"`
	Desired  int `json:"desired"`
}

// requireToken guards the admin API with a bearer token when one is configured.
func (f *Fleet) requireToken(next http.Handler) http.Handler {
	if f.cfg.AdminToken == "" {
		return next
	}
	want := []byte(f.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Constant-time so the token cannot be guessed byte by byte from timings.
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wedsync-demo-api"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Fleet) getReplicas(w http.ResponseWriter, _ *http.Request) {
	s := f.pool.state()
	writeJSON(w, http.StatusOK, replicasResponse{Replicas: s.Ready, Desired: s.Desired})
}

func (f *Fleet) putReplicas(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxAdminBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("request body: %v", err))
		return
	}
	req, err := decodeReplicasRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.replicas < 1 || req.replicas > int64(f.cfg.MaxReplicas) {
		writeError(w, http.StatusUnprocessableEntity,
			fmt.Sprintf("replicas: must be between 1 and %d, got %s", f.cfg.MaxReplicas, req.literal))
		return
	}
	s, err := f.SetReplicas(int(req.replicas))
	if err != nil { // unreachable after the range check above; kept for safety
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	f.log.Info("admin set replicas", "desired", s.Desired, "ready", s.Ready, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, replicasResponse{Replicas: s.Ready, Desired: s.Desired})
}

// replicasRequest is a decoded PUT /admin/replicas body. Values beyond int64 saturate;
// literal keeps the client's text so the 422 message can quote it.
type replicasRequest struct {
	replicas int64
	literal  string
}

// decodeReplicasRequest parses {"replicas": n} strictly: exactly one JSON object, the
// field name matched case-sensitively and only once, no other fields, an integer value.
// encoding/json's struct decoding would accept "Replicas", duplicates and 3.0-like
// surprises, and its error texts name Go types, so the body is walked token by token.
func decodeReplicasRequest(body []byte) (replicasRequest, error) {
	if len(body) > MaxAdminBodyBytes {
		return replicasRequest{}, fmt.Errorf("request body: larger than %d bytes", MaxAdminBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return replicasRequest{}, errors.New("request body: empty, want {\"replicas\": n}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return replicasRequest{}, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return replicasRequest{}, errors.New("request body: must be a JSON object")
	}
	var (
		req  replicasRequest
		seen bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return replicasRequest{}, syntaxError(err)
		}
		key, _ := tok.(string) // object keys are always strings
		if key != "replicas" {
			return replicasRequest{}, fmt.Errorf("request body: unknown field %q", key)
		}
		if seen {
			return replicasRequest{}, errors.New("replicas: given more than once")
		}
		seen = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return replicasRequest{}, syntaxError(err)
		}
		if req, err = parseReplicas(raw); err != nil {
			return replicasRequest{}, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return replicasRequest{}, syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return replicasRequest{}, errors.New("request body: must contain a single JSON object")
	}
	if !seen {
		return replicasRequest{}, errors.New("replicas: required")
	}
	return req, nil
}

func parseReplicas(raw json.RawMessage) (replicasRequest, error) {
	s := string(raw)
	switch s[0] {
	case '"':
		return replicasRequest{}, errors.New("replicas: must be an integer, got a string")
	case 't', 'f':
		return replicasRequest{}, errors.New("replicas: must be an integer, got a boolean")
	case 'n':
		return replicasRequest{}, errors.New("replicas: must be an integer, got null")
	case '{':
		return replicasRequest{}, errors.New("replicas: must be an integer, got an object")
	case '[':
		return replicasRequest{}, errors.New("replicas: must be an integer, got an array")
	}
	// Only a plain JSON integer (no fraction or exponent) is accepted.
	if strings.ContainsAny(s, ".eE") {
		return replicasRequest{}, fmt.Errorf("replicas: must be an integer, got %s", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only a range error is possible for a valid JSON integer; saturate so the
		// caller's range check reports it as out of range with the original text.
		n = math.MaxInt64
		if strings.HasPrefix(s, "-") {
			n = math.MinInt64
		}
	}
	return replicasRequest{replicas: n, literal: s}, nil
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("request body: malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("request body: malformed JSON: unexpected end of input")
	default:
		return fmt.Errorf("request body: malformed JSON: %v", err)
	}
}
