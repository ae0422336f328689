package scaler

import (
	"sort"
	"time"
	"unicode/utf8"

	"github.com/wedsync/scaling/core/store"
)

// A decision row (and the event it starts) names the alerts it saw by
// reference — fingerprint and starts_at, the key of their scaling_alerts row —
// and only up to these bounds, with the total and a count by direction and
// reason: a storm of 10,000 alerts re-evaluated every sync period must not
// write 10,000 copies per row. The few references keep the alert's name,
// reason and value so that the admin API, which shows inputs as stored, still
// says which alerts drove a decision without a join; the full alerts stay
// in scaling_alerts (until their retention).
const (
	maxAlertRefs    = 20
	maxAlertReasons = 20  // distinct direction/reason counts; the rest add up under "other"
	maxRefText      = 128 // bytes of any text copied from an alert
)

// alertRef is one alert as a decision row names it.
type alertRef struct {
	Alertname   string `json:"alertname"`
	Fingerprint string `json:"fingerprint"`
	StartsAt    string `json:"starts_at"`
	Action      string `json:"scaling_action"`
	Reason      string `json:"reason"`
	Value       string `json:"value,omitempty"`
}

// withAlertRefs adds to a decision's inputs the references to its live
// alerts ("alerts", "alert_count", "alerts_by_reason", "alerts_omitted")
// and the alerts it dropped as ended ("expired_alerts",
// "expired_alert_count"), all bounded.
func withAlertRefs(inputs map[string]any, alerts []store.Alert, expired []string) map[string]any {
	refs, omitted := pickAlertRefs(alerts)
	inputs["alerts"] = refs
	inputs["alert_count"] = len(alerts)
	inputs["alerts_by_reason"] = countByReason(alerts)
	if omitted > 0 {
		inputs["alerts_omitted"] = omitted
	}
	if len(expired) > 0 {
		kept := expired[:min(len(expired), maxAlertRefs)]
		out := make([]string, len(kept))
		for i, e := range kept {
			out[i] = clip(e)
		}
		inputs["expired_alerts"] = out
		inputs["expired_alert_count"] = len(expired)
	}
	return inputs
}

// pickAlertRefs chooses which alerts a row names: the oldest of every
// direction and reason first (so each cause is named), then the oldest of
// the rest. The order is deterministic, so two evaluations of the same
// alerts name the same ones.
func pickAlertRefs(alerts []store.Alert) ([]alertRef, int) {
	sorted := append([]store.Alert(nil), alerts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].StartsAt.Equal(sorted[j].StartsAt) {
			return sorted[i].StartsAt.Before(sorted[j].StartsAt)
		}
		return sorted[i].Fingerprint < sorted[j].Fingerprint
	})
	picked := make([]bool, len(sorted))
	var idx []int
	seen := map[string]bool{}
	for i, a := range sorted {
		if len(idx) == maxAlertRefs {
			break
		}
		if k := string(a.Action) + "/" + a.Reason; !seen[k] {
			seen[k], picked[i] = true, true
			idx = append(idx, i)
		}
	}
	for i := range sorted {
		if len(idx) == maxAlertRefs {
			break
		}
		if !picked[i] {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	refs := make([]alertRef, len(idx))
	for n, i := range idx {
		a := sorted[i]
		refs[n] = alertRef{Alertname: clip(a.Alertname), Fingerprint: clip(a.Fingerprint), StartsAt: a.StartsAt.UTC().Format(time.RFC3339Nano),
			Action: string(a.Action), Reason: clip(a.Reason), Value: clip(a.Annotations["value"])}
	}
	return refs, len(alerts) - len(refs)
}

// countByReason counts alerts by "direction/reason", keeping the most
// frequent keys (ties by name) and adding the others up under "other".
func countByReason(alerts []store.Alert) map[string]int {
	counts := map[string]int{}
	for _, a := range alerts {
		counts[clip(string(a.Action)+"/"+a.Reason)]++
	}
	if len(counts) <= maxAlertReasons {
		return counts
	}
	keys := sortedKeys(counts)
	sort.SliceStable(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	out := map[string]int{}
	for i, k := range keys {
		if i < maxAlertReasons-1 {
			out[k] = counts[k]
		} else {
			out["other"] += counts[k]
		}
	}
	return out
}

// clip cuts s to maxRefText bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxRefText {
		return s
	}
	cut := maxRefText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
