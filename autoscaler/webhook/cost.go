package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// Label names of the cost-alert contract (docs/contracts.md).
const (
	LabelCostAlertType    = "cost_alert_type"
	LabelBudget           = "budget"
	LabelThresholdPercent = "threshold_percent"
)

// DecodeCost parses a cost notification. Only a body that is not an
// Alertmanager notification at all is an error, 400 (malformed JSON, a
// version other than 4, no alerts): Alertmanager does not retry a 4xx, so
// nothing that can be kept may be refused. Every alert is kept as it came:
// a numeric field the row cannot hold exactly is kept as text beside a null
// number and flagged (store.ParseReceivedNumber), a type or severity that
// is not the contract's is stored as "unknown" with its label, flagged. An
// alert that cannot be a row at all (no startsAt, a status other than
// firing or resolved, a NUL, which PostgreSQL text cannot hold) is refused
// alone and listed in rejected; only when every alert is, is the
// notification an error (422).
func DecodeCost(body []byte) ([]store.CostAlert, []Rejected, error) {
	alerts, _, rejected, err := decodeCost(body)
	return alerts, rejected, err
}

// decodeCost is DecodeCost with each alert's index in alerts[].
func decodeCost(body []byte) (out []store.CostAlert, index []int, rejected []Rejected, err error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, nil, nil, badRequest("malformed JSON: %s", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, nil, badRequest("malformed JSON: data after the top-level object")
	}
	if m.Version != "4" {
		return nil, nil, nil, badRequest("version: %q is not supported, want \"4\"", m.Version)
	}
	if m.Data == nil || m.Alerts == nil {
		return nil, nil, nil, badRequest("alerts: required")
	}
	if len(m.Alerts) == 0 {
		return nil, nil, nil, badRequest("alerts: empty")
	}
	for i, a := range m.Alerts {
		ca, err := costAlert(i, a)
		if err != nil {
			rejected = append(rejected, Rejected{Index: i, Fingerprint: short(a.Fingerprint), Error: err.Error()})
			continue
		}
		out, index = append(out, ca), append(index, i)
	}
	if len(out) == 0 {
		var msgs []string
		for _, r := range rejected[:min(len(rejected), maxReasons)] {
			msgs = append(msgs, r.Error)
		}
		if more := len(rejected) - maxReasons; more > 0 {
			msgs = append(msgs, fmt.Sprintf("and %d more", more))
		}
		return nil, nil, nil, unprocessable("%s", strings.Join(msgs, "; "))
	}
	return out, index, rejected, nil
}

// costAlert is one alert of a cost notification as its row, or why it
// cannot be one.
func costAlert(i int, a template.Alert) (store.CostAlert, error) {
	p := fmt.Sprintf("alerts[%d]", i)
	if a.Status != "firing" && a.Status != "resolved" {
		return store.CostAlert{}, fmt.Errorf("%s.status: %q is not firing or resolved", p, a.Status)
	}
	if a.StartsAt.IsZero() {
		return store.CostAlert{}, fmt.Errorf("%s.startsAt: required", p)
	}
	typ, sev := a.Labels[LabelCostAlertType], a.Labels["severity"]
	ca := store.CostAlert{Fingerprint: a.Fingerprint, StartsAt: a.StartsAt.UTC(), Type: typ, Severity: sev,
		Budget: a.Labels[LabelBudget], Service: a.Labels["service"], Status: a.Status, TypeText: &typ, SeverityText: &sev}
	if !slices.Contains(store.CostAlertTypes, typ) {
		ca.Type = store.CostAlertUnknown
		ca.Flags = append(ca.Flags, store.FlagUnknownType)
	}
	if !slices.Contains(store.Severities, sev) {
		ca.Severity = store.CostAlertUnknown
		ca.Flags = append(ca.Flags, store.FlagUnknownSeverity)
	}
	if ca.Service == "" {
		// BillingSourceDown names its billing source (openai, vercel, …),
		// which is what the operations manager looks the row up by.
		ca.Service = a.Labels["source"]
	}
	if ca.Fingerprint == "" {
		ls := model.LabelSet{}
		for k, v := range a.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		ca.Fingerprint = ls.Fingerprint().String()
	}
	// Absent is not flagged: a cost alert need not carry a threshold or a
	// value. Present, it is kept as written whatever it says.
	number := func(field, text string) (decimal.NullDecimal, *string) {
		if text == "" { // an empty label is no label in Prometheus; the same for the annotation
			return decimal.NullDecimal{}, nil
		}
		d, reason := store.ParseReceivedNumber(text)
		if reason != "" {
			ca.Flags = append(ca.Flags, field+":"+reason)
		}
		return d, &text
	}
	th, v := a.Labels[LabelThresholdPercent], a.Annotations["value"]
	ca.ThresholdPercent, ca.ThresholdPercentText = number(store.FieldThresholdPercent, th)
	ca.CurrentValue, ca.CurrentValueText = number(store.FieldCurrentValue, v)
	slices.Sort(ca.Flags)
	ca.Message = a.Annotations["summary"]
	if d := a.Annotations["description"]; d != "" {
		if ca.Message != "" {
			ca.Message += ": "
		}
		ca.Message += d
	}
	if ca.Message == "" {
		ca.Message = a.Labels["alertname"]
	}
	if a.Status == "resolved" && !a.EndsAt.IsZero() {
		e := a.EndsAt.UTC()
		ca.ResolvedAt = &e
	}
	for _, t := range []string{ca.Fingerprint, ca.Budget, ca.Service, ca.Message, typ, sev, th, v} {
		if strings.IndexByte(t, 0) >= 0 {
			return store.CostAlert{}, fmt.Errorf("%s: a NUL character (\\u0000) in a label or annotation: it cannot be stored", p)
		}
	}
	return ca, nil
}
