package api

import (
	"sort"
	"strings"
	"testing"
)

// The document and the router agree in both directions: every route is
// documented, and nothing documented is missing from the router.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	routes := map[string]bool{}
	for _, rt := range New(Config{}).table() {
		routes[strings.ToLower(rt.method)+" "+rt.pattern] = true
	}
	documented := map[string]bool{}
	paths, _ := openAPIDocument()["paths"].(map[string]any)
	for path, ops := range paths {
		for method := range ops.(map[string]any) {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range routes {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.yaml: %v\ndocumented but not routed: %v", missing, extra)
	}
	if len(routes) == 0 {
		t.Fatal("no routes")
	}
}
