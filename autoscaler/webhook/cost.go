package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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

var costTypes = map[string]bool{"budget_threshold": true, "cost_spike": true, "usage_spike": true, "projected_overrun": true,
	"capacity_exhaustion": true, "users_beyond_phase": true, "slo_over_budget": true, "billing_source_down": true}

var severities = map[string]bool{"info": true, "warning": true, "critical": true}

// DecodeCost parses and validates a cost notification: every alert must be
// a cost alert of the contract. Nothing is written on any error.
func DecodeCost(body []byte) ([]store.CostAlert, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, badRequest("malformed JSON: %s", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("malformed JSON: data after the top-level object")
	}
	if m.Version != "4" {
		return nil, badRequest("version: %q is not supported, want \"4\"", m.Version)
	}
	if m.Data == nil || len(m.Alerts) == 0 {
		return nil, badRequest("alerts: empty")
	}
	var out []store.CostAlert
	for i, a := range m.Alerts {
		p := fmt.Sprintf("alerts[%d]", i)
		if a.Status != "firing" && a.Status != "resolved" {
			return nil, badRequest("%s.status: %q is not firing or resolved", p, a.Status)
		}
		if a.StartsAt.IsZero() {
			return nil, badRequest("%s.startsAt: required", p)
		}
		typ, sev := a.Labels[LabelCostAlertType], a.Labels["severity"]
		if !costTypes[typ] {
			return nil, unprocessable("%s.labels.%s: %q is not a cost alert type", p, LabelCostAlertType, typ)
		}
		if !severities[sev] {
			return nil, unprocessable("%s.labels.severity: %q is not info, warning or critical", p, sev)
		}
		ca := store.CostAlert{Fingerprint: a.Fingerprint, StartsAt: a.StartsAt.UTC(), Type: typ, Severity: sev,
			Budget: a.Labels[LabelBudget], Service: a.Labels["service"], Status: a.Status}
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
		if v := a.Labels[LabelThresholdPercent]; v != "" {
			d, err := decimal.NewFromString(v)
			if err != nil {
				return nil, unprocessable("%s.labels.%s: %q is not a number", p, LabelThresholdPercent, v)
			}
			ca.ThresholdPercent = decimal.NewNullDecimal(d)
		}
		// The triggering value is informative: Prometheus may print it as
		// "+Inf" or in exponent form; what does not parse is kept in the
		// message rather than refusing the alert.
		if d, err := decimal.NewFromString(strings.TrimSpace(a.Annotations["value"])); err == nil {
			ca.CurrentValue = decimal.NewNullDecimal(d)
		}
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
		out = append(out, ca)
	}
	return out, nil
}
