// Package loadtest is a placeholder until its issue lands.
package loadtest
