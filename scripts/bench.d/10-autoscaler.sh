#!/usr/bin/env bash
# Autoscaler: durable webhook throughput and decision latency.
set -euo pipefail
run ./autoscaler/webhook/ BenchmarkWebhookDurable 6000x
run ./autoscaler/scaler/ BenchmarkDecisionLatency 500x
run ./autoscaler/api/ BenchmarkAPIEventsList 400x
run ./autoscaler/api/ BenchmarkAPICostBreakdown 100x
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
  echo
  echo "## Admin API: events list over 1,000,000 events and a 12-month × 50-service cost breakdown, 4 concurrent clients, ratio to the bare store query"
  echo
  echo "| case | API p50 ms | API p99 ms | SQL p50 ms | SQL p99 ms | ratio p50 | ratio p99 |"
  echo "|---|---|---|---|---|---|---|"
  grep -E '^BenchmarkAPI(EventsList|CostBreakdown)/' "$raw" | awk '{
    name = $1; sub(/^BenchmarkAPI/, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, v["api_p50_ms"], v["api_p99_ms"], v["sql_p50_ms"], v["sql_p99_ms"], v["ratio_p50"], v["ratio_p99"] }'
} >> "$summary"
