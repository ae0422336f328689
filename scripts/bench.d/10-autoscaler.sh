#!/usr/bin/env bash
# Autoscaler: durable webhook throughput and decision latency.
set -euo pipefail
run ./autoscaler/webhook/ BenchmarkWebhookDurable 6000x
run ./autoscaler/scaler/ BenchmarkDecisionLatency 500x
{
  echo
  echo "## Webhook notifications/s with durable logging, ratio to pgbench single-row INSERT+COMMIT (goal ≥ 0.5)"
  echo
  echo "| case | notifications/s | pgbench TPS | ratio |"
  echo "|---|---|---|---|"
  grep '^BenchmarkWebhookDurable' "$raw" | awk '{
    name = $1; sub(/^BenchmarkWebhookDurable\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s | %s |\n", name, v["notifications/s"], v["pgbench_tps"], v["ratio"] }'
  echo
  echo "## Decision latency, notification receipt → actuator call, PostgreSQL fsync on (goal p99 ≤ 5 ms)"
  echo
  grep '^BenchmarkDecisionLatency' "$raw" | awk '{ for (i = 5; i < NF; i += 2) printf "- %s: %s\n", $(i+1), $i }'
} >> "$summary"
