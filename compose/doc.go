// Package compose holds the docker compose stack of WedSync Scaling and the
// tests that check it resolves without Docker: services, images and builds,
// ports, volumes, secrets, health checks and the configuration files they
// mount (Prometheus, Alertmanager, the autoscaler policy, the exporter,
// Grafana provisioning).
package compose
