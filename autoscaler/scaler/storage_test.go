package scaler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// storm records n firing scale-up alerts for api, in notifications of 1,000
// (Alertmanager's groups), with two reasons.
func storm(t testing.TB, st *store.Store, n int) {
	t.Helper()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for first := 0; first < n; first += 1000 {
		var alerts []store.Alert
		for i := first; i < min(first+1000, n); i++ {
			reason := "high_cpu_usage"
			if i%3 == 0 {
				reason = "response_time_degradation"
			}
			alerts = append(alerts, store.Alert{Fingerprint: fmt.Sprintf("%016x", i), StartsAt: start.Add(time.Duration(i) * time.Millisecond),
				Alertname: "ServiceCPUHigh", Service: "api", Action: store.EventScaleUp, Reason: reason, Status: "firing",
				Labels:      map[string]string{"alertname": "ServiceCPUHigh", "instance": fmt.Sprintf("api-%d", i), "service": "api"},
				Annotations: map[string]string{"value": "0.95", "summary": "CPU of api is above its target on one of many instances"}})
		}
		if _, err := st.RecordNotification(context.Background(), store.Notification{DedupKey: fmt.Sprintf("storm-%d-%s", first, t.Name()),
			Receiver: "r", GroupKey: "g", Status: "firing", Payload: []byte(`{}`), Alerts: alerts}); err != nil {
			t.Fatal(err)
		}
	}
}

// rowSizes reads the stored size of the newest decision's inputs and of its
// event's trigger_metrics, as PostgreSQL holds them (text form).
func rowSizes(t *testing.T, dsn string) (inputs, trigger int) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, `SELECT octet_length(d.inputs::text), coalesce(octet_length(e.trigger_metrics::text), 0)
		FROM scaling_decisions d LEFT JOIN scaling_events e ON e.id = d.event_id ORDER BY d.id DESC LIMIT 1`).Scan(&inputs, &trigger); err != nil {
		t.Fatal(err)
	}
	return inputs, trigger
}

// A decision row names the alerts it saw by reference and within bounds:
// after a storm of 10,000 alerts its inputs (and the event's trigger
// metrics) are no larger than after 100, and still say how many alerts
// there were, of which reasons, and name some of them by their key.
func TestDecisionRowBoundedAfterStorm(t *testing.T) {
	t.Parallel()
	const maxRow = 16 << 10
	var sizes []int
	for _, n := range []int{1, 100, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t)
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			e := newEnv(t, st, 2, false)
			e.obs.set(0.9, "")
			storm(t, st, n)
			res := e.sc.Evaluate(ctx, "api", time.Now())
			if res.Output.Outcome != decision.Scale || res.Event == nil {
				t.Fatalf("evaluate = %+v", res)
			}
			e.sc.Wait()
			inputs, trigger := rowSizes(t, dsn)
			t.Logf("%d alerts: inputs %d bytes, trigger_metrics %d bytes", n, inputs, trigger)
			if inputs > maxRow || trigger > maxRow {
				t.Fatalf("%d alerts: inputs %d bytes, trigger_metrics %d bytes; want ≤ %d", n, inputs, trigger, maxRow)
			}
			sizes = append(sizes, inputs)

			ds, err := st.ListDecisions(ctx, "api", 1)
			if err != nil || len(ds) != 1 {
				t.Fatalf("decisions = %v, %v", ds, err)
			}
			var in struct {
				Alerts []struct {
					Fingerprint string `json:"fingerprint"`
					StartsAt    string `json:"starts_at"`
					Reason      string `json:"reason"`
				} `json:"alerts"`
				Count    int            `json:"alert_count"`
				ByReason map[string]int `json:"alerts_by_reason"`
				Omitted  int            `json:"alerts_omitted"`
			}
			if err := json.Unmarshal(ds[0].Inputs, &in); err != nil {
				t.Fatal(err)
			}
			wantRefs := min(n, 20)
			if in.Count != n || len(in.Alerts) != wantRefs || in.Omitted != n-wantRefs {
				t.Fatalf("count %d, refs %d, omitted %d; want %d, %d, %d", in.Count, len(in.Alerts), in.Omitted, n, wantRefs, n-wantRefs)
			}
			total := 0
			for _, c := range in.ByReason {
				total += c
			}
			if total != n || (n > 1 && in.ByReason["scale_up/response_time_degradation"] != (n+2)/3) {
				t.Fatalf("by reason = %v", in.ByReason)
			}
			// Every reference leads back to its stored alert.
			firing, err := st.FiringAlerts(ctx, "api", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			stored := map[string]bool{}
			for _, a := range firing {
				stored[a.Fingerprint+"@"+a.StartsAt.UTC().Format(time.RFC3339Nano)] = true
			}
			reasons := map[string]bool{}
			for _, r := range in.Alerts {
				if !stored[r.Fingerprint+"@"+r.StartsAt] {
					t.Errorf("reference %s@%s names no stored alert", r.Fingerprint, r.StartsAt)
				}
				reasons[r.Reason] = true
			}
			if n > 1 && len(reasons) != 2 {
				t.Errorf("references name reasons %v; want both", reasons)
			}
		})
	}
	// Past the references' bound, only the counts' digits grow.
	if len(sizes) == 3 && sizes[2]-sizes[1] > 32 {
		t.Errorf("inputs grew from %d bytes (100 alerts) to %d (10,000)", sizes[1], sizes[2])
	}
}
