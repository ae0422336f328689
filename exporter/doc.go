// Package exporter is a placeholder until its issue lands.
package exporter
