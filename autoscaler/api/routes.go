package api

import (
	"net/http"

	"github.com/wedsync/scaling/core/store"
)

// table is every endpoint of the API. openapi.yaml documents the same set;
// TestOpenAPIMatchesRoutes holds them together.
func (s *Server) table() []route {
	viewer, operator := store.RoleViewer, store.RoleOperator
	return []route{
		{method: http.MethodGet, pattern: "/api/admin/scaling/metrics", role: viewer, handle: s.scalingMetrics},
		{method: http.MethodGet, pattern: "/api/admin/scaling/metrics/history", role: viewer, handle: s.metricsHistory},
		{method: http.MethodGet, pattern: "/api/admin/scaling/health", role: viewer, handle: s.health},
		{method: http.MethodPost, pattern: "/api/admin/scaling/trigger/{service}", role: operator, acting: true, handle: s.trigger},
		{method: http.MethodGet, pattern: "/api/admin/scaling/events", role: viewer, handle: s.listEvents},
		{method: http.MethodGet, pattern: "/api/admin/scaling/events/{id}", role: viewer, handle: s.getEvent},
		{method: http.MethodPost, pattern: "/api/admin/scaling/events/{id}/rollback", role: operator, acting: true, handle: s.rollback},
		{method: http.MethodGet, pattern: "/api/admin/scaling/phases", role: viewer, handle: s.listPhases},
	}
}
