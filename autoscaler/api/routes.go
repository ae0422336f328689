package api

import (
	"net/http"

	"github.com/wedsync/scaling/core/store"
)

// table is every endpoint of the API. openapi.yaml documents the same set;
// TestOpenAPIMatchesRoutes holds them together.
func (s *Server) table() []route {
	viewer, operator, admin := store.RoleViewer, store.RoleOperator, store.RoleAdmin
	return []route{
		{method: http.MethodGet, pattern: "/api/admin/scaling/metrics", role: viewer, handle: s.scalingMetrics},
		{method: http.MethodGet, pattern: "/api/admin/scaling/metrics/history", role: viewer, handle: s.metricsHistory},
		{method: http.MethodPost, pattern: "/api/admin/scaling/metrics/custom", role: operator, acting: true, handle: s.customMetric},
		{method: http.MethodGet, pattern: "/api/admin/scaling/capacity", role: viewer, handle: s.scalingCapacity},
		{method: http.MethodGet, pattern: "/api/admin/scaling/health", role: viewer, handle: s.health},
		{method: http.MethodPost, pattern: "/api/admin/scaling/trigger/{service}", role: operator, acting: true, handle: s.trigger},
		{method: http.MethodGet, pattern: "/api/admin/scaling/events", role: viewer, handle: s.listEvents},
		{method: http.MethodGet, pattern: "/api/admin/scaling/events/{id}", role: viewer, handle: s.getEvent},
		{method: http.MethodPost, pattern: "/api/admin/scaling/events/{id}/rollback", role: operator, acting: true, handle: s.rollback},
		{method: http.MethodPost, pattern: "/api/admin/scaling/events/{id}/retry", role: operator, acting: true, handle: s.retry},
		{method: http.MethodGet, pattern: "/api/admin/scaling/phases", role: viewer, handle: s.listPhases},
		{method: http.MethodPut, pattern: "/api/admin/scaling/phases/{id}/activate", role: admin, acting: true, handle: s.activatePhase},
		{method: http.MethodPost, pattern: "/api/admin/scaling/load-tests", role: operator, acting: true, handle: s.startLoadTest},
		{method: http.MethodGet, pattern: "/api/admin/scaling/load-tests", role: viewer, handle: s.listLoadTests},
		{method: http.MethodGet, pattern: "/api/admin/scaling/load-tests/{id}", role: viewer, handle: s.getLoadTest},
		{method: http.MethodDelete, pattern: "/api/admin/scaling/load-tests/{id}", role: operator, acting: true, handle: s.cancelLoadTest},

		{method: http.MethodGet, pattern: "/api/admin/growth/current-phase", role: viewer, handle: s.currentPhase},
		{method: http.MethodPost, pattern: "/api/admin/growth/transition", role: admin, acting: true, handle: s.transition},
		{method: http.MethodPut, pattern: "/api/admin/growth/configuration", role: admin, acting: true, handle: s.configuration},
		{method: http.MethodGet, pattern: "/api/admin/growth/projections", role: viewer, handle: s.growthProjections},

		{method: http.MethodGet, pattern: "/api/admin/capacity/forecast", role: viewer, handle: s.capacityForecast},
		{method: http.MethodPost, pattern: "/api/admin/capacity/plan", role: operator, acting: true, handle: s.capacityPlan},
		{method: http.MethodGet, pattern: "/api/admin/capacity/recommendations", role: viewer, handle: s.capacityRecommendations},

		{method: http.MethodGet, pattern: "/api/admin/costs/current", role: viewer, handle: s.currentCosts},
		{method: http.MethodGet, pattern: "/api/admin/costs/trends", role: viewer, handle: s.costTrends},
		{method: http.MethodGet, pattern: "/api/admin/costs/projections", role: viewer, handle: s.costProjections},
		{method: http.MethodGet, pattern: "/api/admin/costs/breakdown", role: viewer, handle: s.costBreakdown},
		{method: http.MethodPost, pattern: "/api/admin/costs/budgets", role: admin, acting: true, handle: s.createBudget},
		{method: http.MethodPut, pattern: "/api/admin/costs/budgets/{id}", role: admin, acting: true, handle: s.updateBudget},
		{method: http.MethodGet, pattern: "/api/admin/costs/alerts", role: viewer, handle: s.costAlerts},
		{method: http.MethodGet, pattern: "/api/admin/costs/alerts/{id}", role: viewer, handle: s.getCostAlert},

		{method: http.MethodGet, pattern: "/api/admin/optimization/recommendations", role: viewer, handle: s.listRecommendations},
		{method: http.MethodPost, pattern: "/api/admin/optimization/recommendations/{id}/approve", role: operator, acting: true, handle: s.approveRecommendation},
		{method: http.MethodPost, pattern: "/api/admin/optimization/recommendations/{id}/implement", role: operator, acting: true, handle: s.implementRecommendation},
		{method: http.MethodGet, pattern: "/api/admin/optimization/impact", role: viewer, handle: s.recommendationImpact},
	}
}
