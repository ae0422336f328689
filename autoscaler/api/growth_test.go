package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

func TestGrowthRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cur := f.do(store.RoleViewer, "GET", "/api/admin/growth/current-phase", "")
	if cur.status != 200 || cur.body["phase"].(map[string]any)["phase_name"] != "startup" ||
		cur.body["next_phase"].(map[string]any)["phase_name"] != "growth" {
		t.Fatalf("current-phase: %d %s", cur.status, cur.raw)
	}
	// Roles: only admins move phases.
	if r := f.do(store.RoleOperator, "POST", "/api/admin/growth/transition", `{"to": "growth"}`); r.status != 403 {
		t.Fatalf("operator transition: %d", r.status)
	}
	// The seeded growth phase bounds api to [2, 10]; at 2 replicas only the
	// switch is needed.
	plan := f.do(store.RoleAdmin, "POST", "/api/admin/growth/transition", `{"to": "growth", "dry_run": true}`)
	if plan.status != 200 {
		t.Fatalf("dry-run transition: %d %s", plan.status, plan.raw)
	}
	steps := plan.body["plan"].(map[string]any)["steps"].([]any)
	if len(steps) != 1 || steps[0].(map[string]any)["stage"] != "switch" {
		t.Fatalf("plan steps: %v", steps)
	}
	if ph, _ := f.st.ActivePhase(context.Background()); ph.Name != "startup" {
		t.Fatal("dry run switched the phase")
	}
	bad := []struct {
		method, path, body string
		status             int
		field, msg         string
	}{
		{"POST", "/api/admin/growth/transition", `{}`, 400, "to", "to: required"},
		{"POST", "/api/admin/growth/transition", `{"to": "hypergrowth"}`, 404, "", "not found"},
		{"PUT", "/api/admin/growth/configuration", `{"phase": "growth", "scaling_config": [1]}`, 400, "scaling_config", "must be a JSON object"},
		{"PUT", "/api/admin/growth/configuration", `{"phase": "growth", "scaling_config": {"services": {"api": {"tier": "ci_small"}}}}`, 400, "scaling_config.services.api.tier", "api scales horizontally"},
		{"PUT", "/api/admin/growth/configuration", `{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": 9, "max_replicas": 3}}}}`, 400, "scaling_config.services.api.min_replicas", "9 above max_replicas 3"},
		{"PUT", "/api/admin/growth/configuration", `{"phase": "growth", "min_users": 50000}`, 400, "min_users", "max_users must be above min_users"},
		{"PUT", "/api/admin/growth/configuration", `{"scaling_config": {}}`, 400, "phase", "phase: required"},
	}
	for _, tc := range bad {
		r := f.do(store.RoleAdmin, tc.method, tc.path, tc.body)
		if r.status != tc.status || r.errField("field") != tc.field || !strings.Contains(r.errField("message"), tc.msg) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, r.status, r.raw)
		}
	}
	// Edit, then transition for real; activating the active phase is a 409.
	if r := f.do(store.RoleAdmin, "PUT", "/api/admin/growth/configuration",
		`{"phase": "growth", "scaling_config": {"services": {"api": {"min_replicas": 4, "max_replicas": 8}}}}`); r.status != 200 {
		t.Fatalf("configuration: %d %s", r.status, r.raw)
	}
	growth, _ := f.st.GetPhase(context.Background(), "growth")
	r := f.do(store.RoleAdmin, "PUT", "/api/admin/scaling/phases/"+growth.ID+"/activate", ``)
	if r.status != 202 {
		t.Fatalf("activate: %d %s", r.status, r.raw)
	}
	f.sc.Wait()
	if cur, _ := f.act.Current(context.Background()); cur.Replicas != 4 {
		t.Fatalf("api at %d after moving to growth (min 4)", cur.Replicas)
	}
	again := f.do(store.RoleAdmin, "PUT", "/api/admin/scaling/phases/growth/activate", ``)
	if again.status != 409 || again.errField("state") != "active" {
		t.Fatalf("activate the active phase: %d %s", again.status, again.raw)
	}
}
