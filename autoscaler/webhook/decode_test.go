package webhook_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/webhook"
)

func known(s string) bool { return s == "api" || s == "database" }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Payloads as real Alertmanagers of several versions send them decode to
// the same recorded alert.
func TestDecodeAcrossVersions(t *testing.T) {
	t.Parallel()
	want, _, err := webhook.Decode(fixture(t, "am-0.25-firing.json"), known)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"am-0.35-shape-firing.json", "am-old-no-fingerprint.json"} {
		n, _, err := webhook.Decode(fixture(t, f), known)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		a, w := n.Alerts[0], want.Alerts[0]
		if a.Service != w.Service || a.Action != w.Action || a.Reason != w.Reason || !a.StartsAt.Equal(w.StartsAt) || a.Status != "firing" {
			t.Errorf("%s: alert = %+v, want %+v", f, a, w)
		}
		if a.Fingerprint == "" {
			t.Errorf("%s: no fingerprint", f)
		}
	}
	a := want.Alerts[0]
	if a.Fingerprint != "6edfc6f66b9dc150" || a.Alertname != "ServiceCPUHigh" || a.EndsAt != nil || a.Annotations["value"] != "0.93" {
		t.Fatalf("0.25 alert = %+v", a)
	}
	res, _, err := webhook.Decode(fixture(t, "am-0.25-resolved.json"), known)
	if err != nil || res.Status != "resolved" || res.Alerts[0].EndsAt == nil {
		t.Fatalf("resolved = %+v, %v", res, err)
	}
	if res.DedupKey == want.DedupKey {
		t.Fatal("firing and resolved notifications share a dedup key")
	}
}

// The same notification from a retry or from the unpeered twin has the same
// key, whatever the order of alerts or the sender's endsAt for firing ones.
func TestDedupKeyIgnoresDelivery(t *testing.T) {
	t.Parallel()
	base := fixture(t, "am-0.25-firing.json")
	var m map[string]any
	json.Unmarshal(base, &m)
	alerts := m["alerts"].([]any)
	second := map[string]any{}
	for k, v := range alerts[0].(map[string]any) {
		second[k] = v
	}
	second["fingerprint"] = "0000000000000001"
	m["alerts"] = []any{alerts[0], second}
	a, _ := json.Marshal(m)
	m["alerts"] = []any{second, alerts[0]}
	m["externalURL"] = "http://other-alertmanager:9093"
	alerts[0].(map[string]any)["endsAt"] = time.Now().Add(time.Hour).Format(time.RFC3339)
	b, _ := json.Marshal(m)
	na, _, err := webhook.Decode(a, known)
	if err != nil {
		t.Fatal(err)
	}
	nb, _, err := webhook.Decode(b, known)
	if err != nil {
		t.Fatal(err)
	}
	if na.DedupKey != nb.DedupKey {
		t.Fatal("same notification, different dedup keys")
	}
}

// Bad input: the right status and a message naming the problem.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	good := string(fixture(t, "am-0.25-firing.json"))
	edit := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	tests := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"empty body", "", 400, "malformed JSON: empty body"},
		{"not JSON", "hello", 400, "malformed JSON: invalid character 'h'"},
		{"truncated", good[:len(good)/2], 400, "malformed JSON: truncated body"},
		{"trailing data", good + "{}", 400, "data after the top-level object"},
		{"array", "[]", 400, "field (top level): got a JSON array, want an object"},
		{"version 3", edit(`"version":"4"`, `"version":"3"`), 400, `version: "3" is not supported, want "4"`},
		{"no version", edit(`"version":"4"`, `"versionx":"4"`), 400, `version: "" is not supported`},
		{"alerts not an array", `{"version":"4","status":"firing","alerts":"x"}`, 400, "field alerts: got a JSON string, want an array"},
		{"labels wrong type", edit(`"labels":{"alertname"`, `"labels":7,"x":{"alertname"`), 400, "field alerts.labels: got a JSON number"},
		{"no alerts", `{"version":"4","status":"firing","alerts":[]}`, 400, "alerts: empty"},
		{"bad status", edit(`"status":"firing","alerts"`, `"status":"pending","alerts"`), 400, `status: "pending" is not firing or resolved`},
		{"bad alert status", edit(`"alerts":[{"status":"firing"`, `"alerts":[{"status":"maybe"`), 400, `alerts[0].status: "maybe" is not firing or resolved`},
		{"no startsAt", edit(`"startsAt":"`, `"startsAtx":"`), 400, "alerts[0].startsAt: required"},
		{"bad startsAt", edit(`"startsAt":"2026`, `"startsAt":"yesterday`), 400, "malformed JSON"},
		{"missing service label", edit(`"scaling_service":"api",`, ``), 422, "alerts[0].labels: missing scaling_service"},
		{"missing action and reason", edit(`"reason":"high_cpu_usage","scaling_action":"scale_up",`, ``), 422, "alerts[0].labels: missing scaling_action, reason"},
		{"unknown service", edit(`"scaling_service":"api",`, `"scaling_service":"billing",`), 422, `alerts[0].labels.scaling_service: unknown service "billing" (not in the policy file)`},
		{"bad action", edit(`"scaling_action":"scale_up"`, `"scaling_action":"scale_sideways"`), 422, `alerts[0].labels.scaling_action: "scale_sideways" is not scale_up`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := webhook.Decode([]byte(tc.body), known)
			var we *webhook.Error
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want a *webhook.Error", err)
			}
			if we.Status != tc.status || !strings.Contains(we.Msg, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", we.Status, we.Msg, tc.status, tc.msg)
			}
			if we.Status == http.StatusOK {
				t.Fatal("rejection with 200")
			}
		})
	}
}

// FuzzDecode: any body is decoded or refused with a 4xx, never a panic;
// an accepted one names only known services and has a dedup key.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"am-0.25-firing.json", "am-0.25-resolved.json", "am-0.35-shape-firing.json", "am-old-no-fingerprint.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{}]}`))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":null}`))
	f.Add([]byte(`{"version":4}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, _, err := webhook.Decode(body, known)
		if err != nil {
			var we *webhook.Error
			if !errors.As(err, &we) || we.Status < 400 || we.Status > 499 {
				t.Fatalf("error %v is not a 4xx webhook.Error", err)
			}
			return
		}
		if n.DedupKey == "" || len(n.Alerts) == 0 {
			t.Fatalf("accepted without key or alerts: %+v", n)
		}
		for _, a := range n.Alerts {
			if !known(a.Service) || a.Fingerprint == "" || a.StartsAt.IsZero() {
				t.Fatalf("accepted bad alert %+v", a)
			}
			if len(a.Reason) > webhook.MaxLabelValue || len(a.Alertname) > webhook.MaxLabelValue || len(a.Labels) > webhook.MaxLabels {
				t.Fatalf("accepted an alert over the limits: reason %d bytes, alertname %d, %d labels", len(a.Reason), len(a.Alertname), len(a.Labels))
			}
		}
	})
}

func TestDecodeSameAlertTwice(t *testing.T) {
	t.Parallel()
	var m map[string]any
	json.Unmarshal(fixture(t, "am-0.25-firing.json"), &m)
	alerts := m["alerts"].([]any)
	m["alerts"] = []any{alerts[0], alerts[0]}
	b, _ := json.Marshal(m)
	n, _, err := webhook.Decode(b, known)
	if err != nil || len(n.Alerts) != 1 {
		t.Fatalf("alerts = %d, %v; want the duplicate folded", len(n.Alerts), err)
	}
}
