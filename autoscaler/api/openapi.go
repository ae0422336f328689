package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var openapiYAML []byte

// openAPI is the parsed document, served as JSON at /api/admin/openapi.json.
var openAPI = func() map[string]any {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err)) // caught by TestOpenAPIMatchesRoutes
	}
	// Round-trip through JSON so that every map has string keys.
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	var out map[string]any
	json.Unmarshal(b, &out) //nolint:errcheck // just marshalled
	return out
}()

func openAPIDocument() map[string]any { return openAPI }
