#!/usr/bin/env bash
# Runs the benchmarks and writes their figures to bench/results/. Every
# figure that depends on the machine is paired with a yardstick measured in
# the same run (pgbench on the same PostgreSQL, the bare Prometheus query),
# because the machine is shared and noisy: compare ratios, not absolutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw="$out/$stamp-raw.txt"

run() { # package, benchmark regexp, benchtime
  echo "== $1 $2" | tee -a "$raw"
  go test -run '^$' -bench "$2" -benchtime "$3" -count 1 "$1" 2>&1 | tee -a "$raw"
}

{
  echo "# bench run $stamp"
  echo "host: $(uname -srm), $(nproc) cores; $(go version)"
} > "$raw"
run ./autoscaler/webhook/ BenchmarkWebhookDurable 6000x
run ./autoscaler/scaler/ BenchmarkDecisionLatency 500x

# A short table of the figures that have goals.
{
  echo "# Benchmarks — $stamp"
  echo
  echo "Machine: $(nproc) cores; PostgreSQL with fsync on; raw output in $(basename "$raw")."
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
  echo "## Decision latency, notification receipt → actuator call (goal p99 ≤ 5 ms)"
  echo
  grep '^BenchmarkDecisionLatency' "$raw" | awk '{ for (i = 5; i < NF; i += 2) printf "- %s: %s\n", $(i+1), $i }'
} > "$out/$stamp.md"
cp "$out/$stamp.md" "$out/latest.md"
cat "$out/latest.md"
