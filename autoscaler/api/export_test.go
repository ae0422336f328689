package api

// OpenAPIYAML is the served document, for the response checks of the
// external tests (helpers_test.go).
var OpenAPIYAML = openapiYAML
