#!/usr/bin/env bash
# Predictive scaling: the decision code replayed on the fixture traces, per
# strategy (reactive-only, level-triggered, predictive, scheduled +
# predictive, Kubernetes HPA's defaults), and the time one sync of the
# level-triggered loop takes for 50 services.
set -euo pipefail
md="$(mktemp)"
trap 'rm -f "$md"' EXIT
WEDSYNC_REPLAY_MD="$md" run ./autoscaler/replay/ BenchmarkReplay 1x
run ./autoscaler/control/ BenchmarkDecisionSync50 2000x
{
  echo
  echo "## Predictive scaling replayed on the fixture traces (autoscaler/replay/testdata/traces), same run for every strategy"
  echo
  echo "Goals: daily and slow ramp — SLO-violation minutes ≤ 0.5× reactive-only and ≤ 0.5× HPA, replica-hours ≤ 1.1× reactive-only;"
  echo "flat noisy — 0 actions; sawtooth — no flaps after the first cycle, ≤ 0.5× reactive-only and ≤ HPA; flash spike — back under"
  echo "2 s within 3 scaling rounds, never above the policy max (40 replicas here)."
  cat "$md"
  echo
  echo "## Decision time of one sync, 50 services, Prometheus round trips excluded (goal p99 ≤ 10 ms)"
  echo
  echo "| case | p50 ms | p99 ms |"
  echo "|---|---|---|"
  grep '^BenchmarkDecisionSync50/' "$raw" | awk '{
    name = $1; sub(/^BenchmarkDecisionSync50\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s |\n", name, v["p50_ms/sync"], v["p99_ms/sync"] }'
} >> "$summary"
