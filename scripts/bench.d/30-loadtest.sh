#!/usr/bin/env bash
# Load generator: maximum requests/s side by side with vegeta and wrk against
# one minimal loopback target, and the latency truth against a target that
# stalls (ours vs the p99 computed from the schedule vs a closed loop).
set -euo pipefail
# vegeta is installed from its module into a throwaway folder, never committed.
vegeta_bin=$(mktemp -d)
trap 'rm -rf "$vegeta_bin"' EXIT
GOBIN="$vegeta_bin" go install github.com/tsenart/vegeta/v12@v12.13.0
export VEGETA="$vegeta_bin/vegeta"
export WEDSYNC_BENCH_SECONDS="${WEDSYNC_BENCH_SECONDS:-10}"
run ./loadtest/bench/ BenchmarkThroughput 1x
run ./loadtest/bench/ BenchmarkLatencyTruth 1x
metric() { # benchmark, unit — the value reported before that unit
  grep "^$1" "$raw" | tail -n 1 | awk -v unit="$2" '{ for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }'
}
{
  echo
  echo "## Load generator requests/s against a minimal loopback target, ${WEDSYNC_BENCH_SECONDS} s each, 50 connections (goals: ≥ 1.0× vegeta, ≥ 0.7× wrk)"
  echo
  echo "| tool | requests/s | wedsync-load ÷ tool |"
  echo "|---|---|---|"
  echo "| wedsync-load | $(metric BenchmarkThroughput ours_req/s) | 1 |"
  echo "| vegeta v12.13.0 | $(metric BenchmarkThroughput vegeta_req/s) | $(metric BenchmarkThroughput ratio_vegeta) |"
  echo "| wrk | $(metric BenchmarkThroughput wrk_req/s) | $(metric BenchmarkThroughput ratio_wrk) |"
  echo
  echo "## Latency truth: target stalling 100 ms every second, 1,000 requests/s (goal: ours within 5 % of the true p99)"
  echo
  echo "| measurement | p99 (ms) |"
  echo "|---|---|"
  echo "| true, from the schedule | $(metric BenchmarkLatencyTruth true_p99_ms) |"
  echo "| wedsync-load, open model (from scheduled time) | $(metric BenchmarkLatencyTruth ours_p99_ms) (error $(metric BenchmarkLatencyTruth ours_error_%) %, dropped $(metric BenchmarkLatencyTruth dropped)) |"
  echo "| closed loop, 20 VUs (from send) | $(metric BenchmarkLatencyTruth closed_loop_p99_ms) |"
} >> "$summary"
