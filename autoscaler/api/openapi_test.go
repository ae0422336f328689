package api

import (
	"context"
	"encoding/json"

	"github.com/getkin/kin-openapi/openapi3"

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

// The document is valid OpenAPI under a real validator, not just YAML: a
// plain scalar with ": " or ", " parses as a map or a flow sequence, which
// yaml.Unmarshal accepts and a validator refuses. Both the file and the JSON
// served at /api/admin/openapi.json are checked.
func TestOpenAPIValid(t *testing.T) {
	t.Parallel()
	served, err := json.Marshal(openAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"openapi.yaml": openapiYAML, "openapi.json": served} {
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Errorf("%s is not valid OpenAPI: %v", name, err)
		}
	}
}
