// Package e2e tests the plugin as Grafana runs it: the backend binary built
// as the release is (CGO off, arrow_json_stdlib, stripped), started through
// hashicorp/go-plugin with Grafana's handshake, and spoken to over gRPC with
// the SDK's plugin types — CheckHealth, every query type, resource calls and
// the Live stream — against a real PostgreSQL holding realistic rows.
package e2e
