package scaler_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/autoscaler/actuator"
	"github.com/wedsync/scaling/autoscaler/decision"
	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/autoscaler/scaler"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// Budgets are written in what we pay for (vercel), services in what we
// scale (api): a budget guards a scale-up through the service's billing
// lines, or by being platform-wide; what cannot be judged is said.
func TestBudgetsThroughBillingLines(t *testing.T) {
	t.Parallel()
	const priced, unpriced = "price_per_replica_monthly: 36.50", ""
	tests := []struct {
		name    string
		price   string
		billing string
		ceiling string // monthly_cost_ceiling as days of the current daily cost
		budget  string // "" none, "vercel" or "platform" (no service)
		tight   bool   // budget limit below the projected month
		held    bool
		reason  []string // in the decision's reason
		unknown bool     // the event's cost impact is unknown (NULL)
	}{
		{name: "mapped: its billing service's budget holds it", price: priced, billing: "[{service: vercel}]", budget: "vercel", tight: true,
			held: true, reason: []string{"vercel-monthly"}},
		{name: "unmapped: a billing service's budget is not its own", price: priced, budget: "vercel", tight: true,
			reason: []string{"api's own cost is unknown (no billing lines): only platform-wide budgets checked"}},
		{name: "unmapped: a platform-wide budget still holds it", price: priced, budget: "platform", tight: true,
			held: true, reason: []string{"platform-monthly", "api's own cost is unknown"}},
		{name: "unpriced: held when the projection alone is past the limit", price: unpriced, billing: "[{service: vercel}]", budget: "vercel", tight: true,
			held: true, reason: []string{"vercel-monthly", "the scale-up's cost is unknown"}},
		{name: "unpriced under budget: goes ahead, impact unknown", price: unpriced, billing: "[{service: vercel}]", budget: "vercel",
			reason: []string{"the scale-up's cost is unknown"}, unknown: true},
		{name: "the ceiling is judged on the billed cost too", price: priced, billing: "[{service: vercel}]", ceiling: "20",
			held: true, reason: []string{"the monthly cost ceiling on api's billing lines"}},
		{name: "a ceiling over billing lines no row matches: unknown", price: priced, billing: "[{service: twilio}]", ceiling: "20",
			reason: []string{"api's billing lines matched no cost row"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.New(t)
			neutralPhase(t, st)
			today := time.Now().UTC().Truncate(24 * time.Hour)
			if err := st.SeedSyntheticCosts(ctx, []string{"vercel"}, []string{"Function Duration"}, today.AddDate(0, 0, -200), today); err != nil {
				t.Fatal(err)
			}
			days, _ := st.DailyCosts(ctx, store.CostFilter{Service: "vercel"}, today.AddDate(0, 0, -2), today.AddDate(0, 0, -1))
			daily := days[len(days)-1].Amount
			limit := daily.Mul(decimal.NewFromInt(400)).Round(2) // far above the month (a limit is exact to the cent)
			if tt.tight {
				limit = daily.Mul(decimal.NewFromInt(10)).Round(2) // below the month already spent and projected
			}
			switch tt.budget {
			case "vercel":
				if _, err := st.CreateBudget(ctx, store.Budget{Name: "vercel-monthly", Service: "vercel", Limit: limit}, "test"); err != nil {
					t.Fatal(err)
				}
			case "platform":
				if _, err := st.CreateBudget(ctx, store.Budget{Name: "platform-monthly", Limit: limit}, "test"); err != nil {
					t.Fatal(err)
				}
			}
			extra := ""
			if tt.billing != "" {
				extra += "\n    billing: " + tt.billing
			}
			if tt.ceiling != "" {
				extra += "\n    monthly_cost_ceiling: " + daily.Mul(decimal.RequireFromString(tt.ceiling)).StringFixed(2)
			}
			text := strings.Replace(pol, "price_per_replica_monthly: 36.50", tt.price+extra, 1)
			p, err := policy.Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			act := &memActuator{ready: actuator.State{Replicas: 2}}
			obs := &fixedObserver{}
			obs.set(0.9, "")
			sc, _ := scaler.New(scaler.Config{Policy: p, Store: st, Budgets: st, Observer: obs, Actuators: map[string]actuator.Actuator{"api": act},
				Alerter: &recordingAlerter{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SettlePoll: 10 * time.Millisecond})
			fire(t, st, store.EventScaleUp, "firing")
			res := sc.Evaluate(ctx, "api", time.Now())
			sc.Wait()
			if held := res.Output.Outcome == decision.CostCeiling; held != tt.held {
				t.Fatalf("held = %v, want %v: %+v", held, tt.held, res.Output)
			}
			for _, w := range tt.reason {
				if !strings.Contains(res.Output.Reason, w) {
					t.Errorf("reason %q lacks %q", res.Output.Reason, w)
				}
			}
			if tt.held {
				if res.Event != nil || len(act.applied()) != 0 {
					t.Fatalf("held, but acted: %+v", res.Event)
				}
				return
			}
			if res.Event == nil {
				t.Fatalf("no event: %+v", res.Output)
			}
			if res.Event.CostImpactMonthly.Valid == tt.unknown {
				t.Errorf("event cost impact %v, want unknown = %v", res.Event.CostImpactMonthly, tt.unknown)
			}
			// The event says what could not be judged, as the decision does.
			if strings.Contains(res.Output.Reason, "unknown") && !strings.Contains(res.Event.TriggerReason, "unknown") {
				t.Errorf("event trigger %q does not say the cost is unknown", res.Event.TriggerReason)
			}
		})
	}
}
