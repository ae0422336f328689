// Package webhook receives Alertmanager's webhook notifications (payload
// version 4), validates them completely before anything is written, records
// them durably and idempotently, and only then answers 2xx.
package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/wedsync/scaling/core/store"
)

// Message is Alertmanager's webhook payload. It is the shape of
// notify/webhook.Message, declared here over the same template.Data because
// importing notify/webhook drags in Alertmanager's whole notification
// pipeline (Kafka, OpenTelemetry, gRPC clients) for three fields.
type Message struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// Label names of the contract between alerting rules and the autoscaler.
const (
	LabelService = "scaling_service"
	LabelAction  = "scaling_action"
	LabelReason  = "reason"
)

var actions = map[string]bool{"scale_up": true, "scale_down": true, "migration": true, "optimization": true}

// Error is a rejected notification: Status is the HTTP status to answer.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func badRequest(format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

func unprocessable(format string, a ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Msg: fmt.Sprintf(format, a...)}
}

// Rejected is an alert of a notification that was refused while its
// neighbours were accepted: Index is its position in alerts[], Error why.
type Rejected struct {
	Index       int    `json:"index"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Error       string `json:"error"`
}

// Decode parses and validates a notification body. known reports whether a
// service is in the policy file. A notification that is malformed as a
// whole is an error and nothing of it is written. An invalid alert (a
// missing or oversized label, an unknown service) is refused alone and
// listed in rejected, so that its valid neighbours still count; only when
// no alert is valid is the notification an error.
func Decode(body []byte, known func(service string) bool) (n store.Notification, rejected []Rejected, err error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	// Unknown fields are allowed on purpose: Alertmanager versions add
	// fields (routeLabels, notification_reason, …) and a receiver that
	// rejects them breaks on upgrade.
	if err := dec.Decode(&m); err != nil {
		return store.Notification{}, nil, badRequest("malformed JSON: %s", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return store.Notification{}, nil, badRequest("malformed JSON: data after the top-level object")
	}
	if containsNUL(body) {
		return store.Notification{}, nil, badRequest("a NUL character (\\u0000) in the body: it cannot be stored")
	}
	if m.Version != "4" {
		return store.Notification{}, nil, badRequest("version: %q is not supported, want \"4\"", m.Version)
	}
	if m.Data == nil {
		return store.Notification{}, nil, badRequest("alerts: required")
	}
	if m.Status != "firing" && m.Status != "resolved" {
		return store.Notification{}, nil, badRequest("status: %q is not firing or resolved", m.Status)
	}
	if len(m.Alerts) == 0 {
		return store.Notification{}, nil, badRequest("alerts: empty")
	}
	if err := checkLength("receiver", m.Receiver, MaxReceiver); err != nil {
		return store.Notification{}, nil, badRequest("%v", err)
	}
	if err := checkLength("groupKey", m.GroupKey, MaxGroupKey); err != nil {
		return store.Notification{}, nil, badRequest("%v", err)
	}
	n = store.Notification{Receiver: m.Receiver, GroupKey: m.GroupKey, Status: m.Status, Payload: body}
	seen := map[string]int{}
	var first *Error
	for i, a := range m.Alerts {
		sa, err := convert(i, a, known)
		if err != nil {
			var we *Error
			errors.As(err, &we)
			if first == nil {
				first = we
			}
			rejected = append(rejected, Rejected{Index: i, Fingerprint: short(a.Fingerprint), Error: we.Msg})
			continue
		}
		// One alert instance listed twice (not something Alertmanager
		// sends, but cheap to survive): the later entry wins.
		key := sa.Fingerprint + "\x00" + sa.StartsAt.String()
		if j, dup := seen[key]; dup {
			n.Alerts[j] = sa
			continue
		}
		seen[key] = len(n.Alerts)
		n.Alerts = append(n.Alerts, sa)
	}
	if len(n.Alerts) == 0 {
		// Nothing valid to record: refused as a whole, every reason given.
		var msgs []string
		for _, r := range rejected[:min(len(rejected), maxReasons)] {
			msgs = append(msgs, r.Error)
		}
		if more := len(rejected) - maxReasons; more > 0 {
			msgs = append(msgs, fmt.Sprintf("and %d more", more))
		}
		return store.Notification{}, nil, &Error{Status: first.Status, Msg: strings.Join(msgs, "; ")}
	}
	n.DedupKey = dedupKey(n)
	return n, rejected, nil
}

// maxReasons bounds the reasons an answer or a log line repeats: a storm of
// bad alerts gives one reason per alert.
const maxReasons = 10

// short cuts what a rejected alert echoes back to the fingerprint limit.
func short(s string) string {
	if len(s) > MaxFingerprint {
		return s[:MaxFingerprint]
	}
	return s
}

func convert(i int, a template.Alert, known func(string) bool) (store.Alert, error) {
	p := fmt.Sprintf("alerts[%d]", i)
	if a.Status != "firing" && a.Status != "resolved" {
		return store.Alert{}, badRequest("%s.status: %q is not firing or resolved", p, a.Status)
	}
	if a.StartsAt.IsZero() {
		return store.Alert{}, badRequest("%s.startsAt: required", p)
	}
	if err := checkLength(p+".fingerprint", a.Fingerprint, MaxFingerprint); err != nil {
		return store.Alert{}, unprocessable("%v", err)
	}
	if err := checkKV(p+".labels", a.Labels, MaxLabelValue); err != nil {
		return store.Alert{}, unprocessable("%v", err)
	}
	if err := checkKV(p+".annotations", a.Annotations, MaxAnnotationValue); err != nil {
		return store.Alert{}, unprocessable("%v", err)
	}
	var missing []string
	for _, l := range []string{"alertname", LabelService, LabelAction, LabelReason} {
		if a.Labels[l] == "" {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		return store.Alert{}, unprocessable("%s.labels: missing %s", p, strings.Join(missing, ", "))
	}
	svc, action := a.Labels[LabelService], a.Labels[LabelAction]
	if !actions[action] {
		return store.Alert{}, unprocessable("%s.labels.%s: %q is not scale_up, scale_down, migration or optimization", p, LabelAction, action)
	}
	if !known(svc) {
		return store.Alert{}, unprocessable("%s.labels.%s: unknown service %q (not in the policy file)", p, LabelService, svc)
	}
	fp := a.Fingerprint
	if fp == "" {
		// Alertmanager before 0.19 did not send fingerprints.
		ls := model.LabelSet{}
		for k, v := range a.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		fp = ls.Fingerprint().String()
	}
	var ends *time.Time
	if !a.EndsAt.IsZero() {
		e := a.EndsAt.UTC()
		ends = &e
	}
	return store.Alert{
		Fingerprint: fp, StartsAt: a.StartsAt.UTC(), EndsAt: ends,
		Alertname: a.Labels["alertname"], Service: svc, Action: store.EventType(action), Reason: a.Labels[LabelReason],
		Status: a.Status, Labels: map[string]string(a.Labels), Annotations: map[string]string(a.Annotations),
	}, nil
}

// dedupKey identifies a notification by what it says, not by how it
// arrived: the same group and alert states from a retry or from the HA peer
// give the same key. endsAt of firing alerts is left out because senders
// fill it differently while an alert fires.
func dedupKey(n store.Notification) string {
	type item struct{ fp, status, starts, ends string }
	items := make([]item, len(n.Alerts))
	for i, a := range n.Alerts {
		it := item{a.Fingerprint, a.Status, a.StartsAt.Format(time.RFC3339Nano), ""}
		if a.Status == "resolved" && a.EndsAt != nil {
			it.ends = a.EndsAt.Format(time.RFC3339Nano)
		}
		items[i] = it
	}
	sort.Slice(items, func(i, j int) bool { return items[i].fp < items[j].fp })
	h := sha256.New()
	fmt.Fprintf(h, "%q\x00%q\x00%q\x00", n.Receiver, n.GroupKey, n.Status)
	for _, it := range items {
		fmt.Fprintf(h, "%q\x00%q\x00%q\x00%q\x00", it.fp, it.status, it.starts, it.ends)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// jsonError names the field of a type error, so that "alerts is a string"
// reads as such rather than as a Go type name.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// The embedded template.Data shows in the path; the wire has no such level.
		field := strings.TrimPrefix(te.Field, "Data.")
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("field %s: got a JSON %s, want %s", field, te.Value, jsonKind(te.Type.Kind().String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated body"
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map", "ptr":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "int", "int64", "uint64", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	}
	return k
}
