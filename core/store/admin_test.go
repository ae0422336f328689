package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	tok, secret, err := s.CreateToken(ctx, "alice", store.RoleOperator, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, store.TokenPrefix) || len(secret) < 30 {
		t.Fatalf("secret %q", secret)
	}
	got, err := s.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Role != store.RoleOperator {
		t.Fatalf("authenticate = %+v, %v", got, err)
	}
	if _, err := s.Authenticate(ctx, secret+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, "alice", store.RoleAdmin, "cli"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, "bob", "root", "cli"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
	if err := s.RevokeToken(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token authenticates: %v", err)
	}
	if err := s.RevokeToken(ctx, "alice"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := s.RevokeToken(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	for _, c := range []struct {
		role, needs string
		ok          bool
	}{
		{"viewer", "viewer", true}, {"viewer", "operator", false}, {"operator", "viewer", true},
		{"operator", "admin", false}, {"admin", "operator", true}, {"", "viewer", false}, {"root", "viewer", false},
	} {
		if store.RoleAllows(c.role, c.needs) != c.ok {
			t.Errorf("RoleAllows(%q, %q) != %v", c.role, c.needs, c.ok)
		}
	}
}

func TestIdempotencyAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	_, claimed, err := s.BeginIdempotent(ctx, "alice POST /x", "k1", "h1")
	if err != nil || !claimed {
		t.Fatalf("first claim = %v, %v", claimed, err)
	}
	e, claimed, _ := s.BeginIdempotent(ctx, "alice POST /x", "k1", "h1")
	if claimed || e.Status != 0 {
		t.Fatalf("second claim while running = %v %+v", claimed, e)
	}
	if err := s.FinishIdempotent(ctx, "alice POST /x", "k1", 202, json.RawMessage(`{"id":"e1"}`)); err != nil {
		t.Fatal(err)
	}
	e, claimed, _ = s.BeginIdempotent(ctx, "alice POST /x", "k1", "h2")
	if claimed || e.Status != 202 || e.RequestHash != "h1" || !strings.Contains(string(e.Body), "e1") {
		t.Fatalf("replay = %v %+v", claimed, e)
	}
	// A released claim can be taken again.
	s.BeginIdempotent(ctx, "s", "k2", "h")
	s.FinishIdempotent(ctx, "s", "k2", -1, nil)
	if _, claimed, _ := s.BeginIdempotent(ctx, "s", "k2", "h"); !claimed {
		t.Fatal("released key not claimable")
	}
	if err := s.RecordAudit(ctx, store.AuditEntry{Actor: "alice", Role: "operator", Method: "POST", Path: "/x", Status: 202,
		ResourceID: "e1", IdempotencyKey: "k1", Request: json.RawMessage(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	a, err := s.ListAudit(ctx, 10)
	if err != nil || len(a) != 1 || a[0].Actor != "alice" || a[0].ResourceID != "e1" {
		t.Fatalf("audit = %+v, %v", a, err)
	}
}

func TestListEventsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	var ids []string
	for i := 0; i < 7; i++ {
		e, err := s.BeginEvent(ctx, newEvent("api", i, i+1))
		if err != nil {
			t.Fatal(err)
		}
		s.FinishEvent(ctx, e.ID, store.StatusCompleted, "")
		ids = append(ids, e.ID)
	}
	var seen []string
	var after *store.EventCursor
	for {
		page, err := s.ListEvents(ctx, store.EventFilter{Service: "api", Limit: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			seen = append(seen, e.ID)
		}
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		after = &store.EventCursor{StartedAt: last.StartedAt, ID: last.ID}
	}
	if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
		t.Fatalf("pages gave %d events: %v", len(seen), seen)
	}
	if evs, _ := s.ListEvents(ctx, store.EventFilter{Type: store.EventScaleDown}); len(evs) != 0 {
		t.Fatalf("type filter: %d", len(evs))
	}
	if evs, _ := s.ListEvents(ctx, store.EventFilter{To: time.Now().Add(-time.Hour)}); len(evs) != 0 {
		t.Fatalf("time filter: %d", len(evs))
	}
}

func TestCostAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	a := store.CostAlert{Fingerprint: "f1", StartsAt: start, Type: "budget_threshold", Severity: "warning", Budget: "platform-monthly",
		Service: "openai", ThresholdPercent: decimal.NewNullDecimal(decimal.RequireFromString("75")),
		CurrentValue: decimal.NewNullDecimal(decimal.RequireFromString("0.7712")), Message: "Budget platform-monthly at 77%", Status: "firing"}
	n, err := s.RecordCostAlerts(ctx, []store.CostAlert{a})
	if err != nil || n != 1 {
		t.Fatalf("first = %d, %v", n, err)
	}
	if n, _ := s.RecordCostAlerts(ctx, []store.CostAlert{a}); n != 0 {
		t.Fatalf("re-delivery inserted %d", n)
	}
	res := a
	res.Status = "resolved"
	end := start.Add(time.Hour)
	res.ResolvedAt = &end
	s.RecordCostAlerts(ctx, []store.CostAlert{res})
	s.RecordCostAlerts(ctx, []store.CostAlert{a}) // late firing re-delivery
	got, err := s.ListCostAlerts(ctx, store.CostAlertFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("alerts = %+v, %v", got, err)
	}
	g := got[0]
	if g.Status != "resolved" || g.ResolvedAt == nil || g.ThresholdPercent.Decimal.String() != "75" || g.CurrentValue.Decimal.String() != "0.7712" || g.Budget != "" {
		t.Fatalf("alert = %+v (budget unknown to cost_budgets stays empty)", g)
	}
	if _, err := s.RecordCostAlerts(ctx, []store.CostAlert{{Fingerprint: "f2", StartsAt: start, Type: "weather", Severity: "warning", Message: "m", Status: "firing"}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown type: %v", err)
	}
}

func TestPhases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	active, err := s.ActivePhase(ctx)
	if err != nil || active.Name != "startup" {
		t.Fatalf("active = %+v, %v", active, err)
	}
	growth, err := s.GetPhase(ctx, "growth")
	if err != nil {
		t.Fatal(err)
	}
	if byID, _ := s.GetPhase(ctx, growth.ID); byID.Name != "growth" {
		t.Fatal("by id")
	}
	if _, err := s.ActivatePhase(ctx, active.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("activate the active phase: %v", err)
	}
	g, err := s.ActivatePhase(ctx, growth.ID)
	if err != nil || !g.Active || g.ActivatedAt == nil {
		t.Fatalf("activate growth = %+v, %v", g, err)
	}
	if a, _ := s.ActivePhase(ctx); a.Name != "growth" {
		t.Fatalf("active after = %s", a.Name)
	}
	off := false
	u, err := s.UpdatePhase(ctx, growth.ID, store.PhaseUpdate{AutoTransitionEnabled: &off, ScalingConfig: json.RawMessage(`{"services": {"api": {"min_replicas": 3, "max_replicas": 12}}}`)})
	if err != nil || u.AutoTransitionEnabled || !strings.Contains(string(u.ScalingConfig), `"min_replicas": 3`) {
		t.Fatalf("update = %+v, %v", u, err)
	}
	bad := 50000
	if _, err := s.UpdatePhase(ctx, growth.ID, store.PhaseUpdate{MinUsers: &bad}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("min above max: %v", err)
	}
	if _, err := s.UpdatePhase(ctx, growth.ID, store.PhaseUpdate{ScalingConfig: json.RawMessage(`[1]`)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("array config: %v", err)
	}
	if _, err := s.GetPhase(ctx, "hypergrowth"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown phase: %v", err)
	}
}
