package api

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/wedsync/scaling/core/store"
)

// timeRange reads from/to (RFC 3339) with defaults: to = now, from = to -
// def. An inverted, unparseable or unbounded range (checkRange) is a 400
// naming the parameter.
func (r *request) timeRange(now time.Time, def time.Duration) (time.Time, time.Time, error) {
	to, err := r.timeParam("to", now)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, err := r.timeParam("from", to.Add(-def))
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, errBadRequest("from", "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if e := checkRange(from, to); e != nil {
		return time.Time{}, time.Time{}, e
	}
	return from, to, nil
}

func (r *request) timeParam(name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errBadRequest(name, "%s: %q is not an RFC 3339 time (e.g. 2026-11-27T10:00:00Z)", name, v)
	}
	return t, nil
}

// limit reads ?limit= (1…max, default def).
func (r *request) limit(def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errBadRequest("limit", "limit: %q is not a whole number from 1 to %d", v, max)
	}
	return n, nil
}

// oneOf reads an optional enumerated query parameter.
func (r *request) oneOf(name string, allowed ...string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", errBadRequest(name, "%s: %q is not one of %s", name, v, strings.Join(allowed, ", "))
}

// Cursors are opaque to clients: base64 of "<RFC3339Nano>|<id>".
func eventCursor(e store.Event) string {
	return base64.RawURLEncoding.EncodeToString([]byte(e.StartedAt.Format(time.RFC3339Nano) + "|" + e.ID))
}

func (r *request) cursor() (*store.EventCursor, error) {
	v := r.URL.Query().Get("cursor")
	if v == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	at, id, ok := strings.Cut(string(b), "|")
	t, terr := time.Parse(time.RFC3339Nano, at)
	if err != nil || !ok || terr != nil || len(id) != 36 {
		return nil, errBadRequest("cursor", "cursor: not a cursor this API returned")
	}
	return &store.EventCursor{StartedAt: t, ID: id}, nil
}

// page is the shape of every list response.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
