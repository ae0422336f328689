package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/storetest"
)

// twoAlerts is the recorded-shape fixture with a second alert, changed by
// edit; the first stays valid.
func twoAlerts(t *testing.T, edit func(a map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "am-0.25-firing.json"), &m); err != nil {
		t.Fatal(err)
	}
	first := m["alerts"].([]any)[0].(map[string]any)
	b, _ := json.Marshal(first)
	var second map[string]any
	json.Unmarshal(b, &second)
	second["fingerprint"] = "00000000000000ff"
	edit(second)
	m["alerts"] = []any{first, second}
	out, _ := json.Marshal(m)
	return out
}

func label(k, v string) func(map[string]any) {
	return func(a map[string]any) { a["labels"].(map[string]any)[k] = v }
}

// An alert over a limit is refused alone, its reason naming the field; its
// neighbour is recorded. Alone in its notification, it is a 422.
func TestDecodeLengthLimits(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	manyLabels := func(a map[string]any) {
		for i := range webhook.MaxLabels {
			a["labels"].(map[string]any)[fmt.Sprintf("l%d", i)] = "v"
		}
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		want string // "" when the second alert is accepted
	}{
		{"a 1,000-byte reason", label("reason", long(1000)), "alerts[1].labels.reason: 1000 bytes, over the limit of 256"},
		{"a reason at the limit", label("reason", long(webhook.MaxLabelValue)), ""},
		{"a reason one byte over", label("reason", long(webhook.MaxLabelValue+1)), "alerts[1].labels.reason: 257 bytes"},
		{"a long alertname", label("alertname", long(300)), "alerts[1].labels.alertname: 300 bytes"},
		{"a long service", label("scaling_service", long(300)), "alerts[1].labels.scaling_service: 300 bytes"},
		{"a long action", label("scaling_action", long(300)), "alerts[1].labels.scaling_action: 300 bytes"},
		{"another long label", label("team", long(300)), "alerts[1].labels.team: 300 bytes"},
		{"a long label name", label(long(200), "v"), `alerts[1].labels name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…: 200 bytes, over the limit of 128`},
		{"too many labels", manyLabels, "alerts[1].labels: 69 entries, over the limit of 64"},
		{"a long annotation", func(a map[string]any) { a["annotations"].(map[string]any)["summary"] = long(5000) },
			"alerts[1].annotations.summary: 5000 bytes, over the limit of 4096"},
		{"a long annotation within its limit", func(a map[string]any) { a["annotations"].(map[string]any)["summary"] = long(4000) }, ""},
		{"a long fingerprint", func(a map[string]any) { a["fingerprint"] = long(100) }, "alerts[1].fingerprint: 100 bytes, over the limit of 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, rejected, err := webhook.Decode(twoAlerts(t, tc.edit), known)
			if err != nil {
				t.Fatalf("the notification was refused as a whole: %v", err)
			}
			if tc.want == "" {
				if len(rejected) != 0 || len(n.Alerts) != 2 {
					t.Fatalf("rejected %+v, %d alerts; want both accepted", rejected, len(n.Alerts))
				}
				return
			}
			if len(n.Alerts) != 1 || n.Alerts[0].Fingerprint != "6edfc6f66b9dc150" {
				t.Fatalf("accepted %+v, want only the valid neighbour", n.Alerts)
			}
			if len(rejected) != 1 || rejected[0].Index != 1 || !strings.Contains(rejected[0].Error, tc.want) {
				t.Fatalf("rejected = %+v, want alert 1 with %q", rejected, tc.want)
			}
			if len(rejected[0].Error) > 300 || len(rejected[0].Fingerprint) > webhook.MaxFingerprint {
				t.Fatalf("the rejection repeats the oversized input: %+v", rejected[0])
			}
			// The same alert alone: nothing to record, a 422 naming it.
			var m map[string]any
			json.Unmarshal(twoAlerts(t, tc.edit), &m)
			m["alerts"] = m["alerts"].([]any)[1:]
			alone, _ := json.Marshal(m)
			_, _, err = webhook.Decode(alone, known)
			var we *webhook.Error
			if !errors.As(err, &we) || we.Status != 422 || !strings.Contains(we.Msg, strings.Replace(tc.want, "alerts[1]", "alerts[0]", 1)) {
				t.Fatalf("alone: %v, want a 422 naming the field", err)
			}
		})
	}
}

// Limits of the notification itself refuse it whole: nothing in it can be
// recorded without them.
func TestDecodeEnvelopeLimits(t *testing.T) {
	t.Parallel()
	good := string(fixture(t, "am-0.25-firing.json"))
	for name, tc := range map[string]struct{ body, want string }{
		"receiver":                              {strings.Replace(good, `"receiver":"autoscaler"`, `"receiver":"`+strings.Repeat("r", 300)+`"`, 1), "receiver: 300 bytes, over the limit of 256"},
		"group key":                             {strings.Replace(good, `"groupKey":"{}`, `"groupKey":"`+strings.Repeat("g", 5000), 1), "groupKey: "},
		"NUL in an annotation of another alert": {strings.Replace(good, `"value":"0.93"`, `"value":"0.9\u00003"`, 1), "a NUL character"},
	} {
		_, _, err := webhook.Decode([]byte(tc.body), known)
		var we *webhook.Error
		if !errors.As(err, &we) || we.Status != 400 || !strings.Contains(we.Msg, tc.want) {
			t.Errorf("%s: %v, want a 400 with %q", name, err, tc.want)
		}
		if strings.HasSuffix(tc.want, ": ") && !strings.Contains(we.Msg, "bytes, over the limit of") {
			t.Errorf("%s: %q does not give the limit", name, we.Msg)
		}
	}
	// An escaped backslash before u0000 is text, not a NUL.
	if _, _, err := webhook.Decode([]byte(strings.Replace(good, `"value":"0.93"`, `"value":"C:\\u0000"`, 1)), known); err != nil {
		t.Errorf(`"C:\\u0000" refused: %v`, err)
	}
}

// Through the handler and a real database: the oversized alert is refused
// and counted, its neighbour recorded and acted on, the answer a 200 that
// says which alert was refused and why.
func TestHandlerRefusesOversizedAlertOnly(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	k := &kicks{}
	h, reg := newHandler(t, st, k, webhook.DefaultMaxBody)
	body := twoAlerts(t, func(a map[string]any) {
		label("reason", strings.Repeat("r", 1000))(a)
		a["startsAt"] = "2026-11-27T23:54:00Z"
	})
	w := post(h, "s3cret", string(body))
	if w.Code != 200 {
		t.Fatalf("%d %s, want 200", w.Code, w.Body)
	}
	var resp struct {
		Status        string             `json:"status"`
		Alerts        int                `json:"alerts"`
		Rejected      []webhook.Rejected `json:"rejected"`
		RejectedCount int                `json:"rejected_count"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Status != "accepted" || resp.Alerts != 1 || resp.RejectedCount != 1 || len(resp.Rejected) != 1 ||
		resp.Rejected[0].Index != 1 || !strings.Contains(resp.Rejected[0].Error, "alerts[1].labels.reason: 1000 bytes") {
		t.Fatalf("answer = %s", w.Body)
	}
	firing, err := st.FiringAlerts(context.Background(), "", time.Now().Add(-time.Minute))
	if err != nil || len(firing) != 1 || firing[0].Fingerprint != "6edfc6f66b9dc150" || firing[0].Reason != "high_cpu_usage" {
		t.Fatalf("firing = %+v, %v; want only the valid alert", firing, err)
	}
	k.mu.Lock()
	if len(k.services) != 1 {
		t.Errorf("notify calls = %v, want one (the valid alert's service)", k.services)
	}
	k.mu.Unlock()
	if got := testutil.ToFloat64(mustCounter(t, reg, "accepted")); got != 1 {
		t.Errorf("notifications accepted = %v, want 1", got)
	}
	if got := gathered(t, reg, "wedsync_autoscaler_alerts_rejected_total"); got != 1 {
		t.Errorf("alerts_rejected_total = %v, want 1", got)
	}
	// The same delivery again (a retry): a duplicate, the refusal not counted twice.
	if w := post(h, "s3cret", string(body)); w.Code != 200 || !strings.Contains(w.Body.String(), `"duplicate"`) {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	if got := gathered(t, reg, "wedsync_autoscaler_alerts_rejected_total"); got != 1 {
		t.Errorf("alerts_rejected_total after a retry = %v, want 1", got)
	}
}

func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
