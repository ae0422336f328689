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

run() { # package, benchmark regexp, benchtime — appends to $raw
  echo "== $1 $2" | tee -a "$raw"
  go test -run '^$' -bench "$2" -benchtime "$3" -count 1 "$1" 2>&1 | tee -a "$raw"
}
export -f run

{
  echo "# bench run $stamp"
  echo "host: $(uname -srm), $(nproc) cores; $(go version)"
} > "$raw"
summary="$out/$stamp.md"
{
  echo "# Benchmarks — $stamp"
  echo
  echo "Machine: $(nproc) cores; raw output in $(basename "$raw")."
} > "$summary"

# Each component has its own script in scripts/bench.d/, run in name order.
# A script runs its benchmarks with `run` (raw output to $raw) and appends
# its table to $summary.
export raw summary
for s in scripts/bench.d/*.sh; do
  bash "$s"
done
cp "$summary" "$out/latest.md"
cat "$out/latest.md"
