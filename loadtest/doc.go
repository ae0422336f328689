// Package loadtest is wedsync-load's module: load scenarios (baseline,
// stress, spike, volume, endurance), open and closed workload models,
// k6-compatible options, thresholds and summaries, and the recording of runs,
// baselines and regressions in PostgreSQL.
//
// k6 is AGPL-licensed and is not linked here: this module reads and writes
// its formats so that a team that uses k6 loses nothing.
//
//	scenario  what to run: defaults, k6 options in JSON or YAML, validation, limits
//	threshold k6 threshold expressions: parse and evaluate
//	engine    executors, virtual users, arrival-rate scheduling, HDR recording, live metrics
//	summary   k6 handleSummary and legacy --summary-export shapes, both directions
//	report    the self-contained HTML report
//	record    load_tests and performance_benchmarks rows, baseline comparison, regression alert
package loadtest
