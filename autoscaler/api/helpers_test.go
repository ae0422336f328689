package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	adminapi "github.com/wedsync/scaling/autoscaler/api"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

var fixtureEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	specOnce   sync.Once
	spec       *openapi3.T
	specRouter routers.Router
	specErr    error
)

// openAPISpec loads the served document once for every test's response
// checks.
func openAPISpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		// The document's ids are PostgreSQL's gen_random_uuid (v4); kin-openapi
		// checks format: uuid only once told what it means.
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		spec, specErr = openapi3.NewLoader().LoadFromData(adminapi.OpenAPIYAML)
		if specErr == nil {
			specErr = spec.Validate(context.Background())
		}
		if specErr == nil {
			specRouter, specErr = legacy.NewRouter(spec)
		}
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return spec, specRouter
}

// undocumented are the paths served outside the document's paths: the
// document itself. Any other path must be documented, or answer an error
// (the catch-all's 404) in the error shape.
var undocumented = map[string]bool{"/api/admin/openapi.json": true}

// checkResponse holds one response to openapi.yaml: its status must be
// documented for the operation and its body must match that status's
// schema (errors: the Error schema). Every request of the package's tests
// goes through fixture.do and so through here.
func checkResponse(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	doc, router := openAPISpec(t)
	for _, p := range responseProblems(doc, router, req, status, header, body) {
		t.Errorf("openapi: %s %s answered %d %s\n%s", req.Method, req.URL.Path, status, body, p)
	}
}

func responseProblems(doc *openapi3.T, router routers.Router, req *http.Request, status int, header http.Header, body []byte) []string {
	route, params, err := router.FindRoute(req)
	// The legacy router returns new errors carrying the sentinels' text.
	if err != nil && (err.Error() == routers.ErrPathNotFound.Error() || err.Error() == routers.ErrMethodNotAllowed.Error()) {
		switch {
		case status >= 400:
			return errorBodyProblems(doc, status, header, body)
		case !undocumented[req.URL.Path]:
			return []string{"the path is not in openapi.yaml"}
		}
		return nil
	}
	if err != nil {
		return []string{"find route: " + err.Error()}
	}
	var problems []string
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		problems = append(problems, "refused by openapi.yaml: "+err.Error())
	}
	if status >= 400 {
		// Every error is the one shape, whatever the operation documents.
		problems = append(problems, errorBodyProblems(doc, status, header, body)...)
	}
	if route.Operation.Responses.Status(status) == nil && !anyRouteStatus(doc, status) {
		// default covers only what the wrapper answers on any route; a
		// handler's own status must be listed on its operation.
		problems = append(problems, "status neither documented on "+route.Path+" nor in AnyRoute's x-statuses")
	}
	return problems
}

// anyRouteStatus: the status is one AnyRoute (every operation's default)
// lists in its x-statuses.
func anyRouteStatus(doc *openapi3.T, status int) bool {
	statuses, _ := doc.Components.Responses["AnyRoute"].Value.Extensions["x-statuses"].([]any)
	for _, s := range statuses {
		if n, ok := s.(float64); ok && int(n) == status {
			return true
		}
	}
	return false
}

func errorBodyProblems(doc *openapi3.T, status int, header http.Header, body []byte) []string {
	var problems []string
	if ct := header.Get("Content-Type"); ct != "application/json" {
		problems = append(problems, fmt.Sprintf("error %d with Content-Type %q", status, ct))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return append(problems, fmt.Sprintf("error %d is not JSON: %v", status, err))
	}
	if err := doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		problems = append(problems, fmt.Sprintf("error %d does not match the Error schema: %v", status, err))
	}
	return problems
}
