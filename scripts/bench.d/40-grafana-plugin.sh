#!/usr/bin/env bash
# Grafana plugin: QueryData latency against the bare SQL of the same query on
# the same database — a 12-month × 50-service cost breakdown (73,000 cost
# rows) and 1,000,000 scaling events in a 30-day window.
set -euo pipefail
run ./grafana-plugin/pkg/plugin/ BenchmarkQueryData 200x
{
  echo
  echo "## Grafana plugin QueryData, ratio to the bare SQL on the same database (goals: ≤ 1.2×, p95 ≤ 50 ms)"
  echo
  echo "| case | p50 ms | p95 ms | SQL p50 ms | SQL p95 ms | ratio p50 | ratio p95 |"
  echo "|---|---|---|---|---|---|---|"
  grep '^BenchmarkQueryData/' "$raw" | awk '{
    name = $1; sub(/^BenchmarkQueryData\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, v["p50_ms"], v["p95_ms"], v["sql_p50_ms"], v["sql_p95_ms"], v["ratio_p50"], v["ratio_p95"] }'
} >> "$summary"
