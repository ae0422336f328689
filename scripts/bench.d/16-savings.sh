#!/usr/bin/env bash
# The 15 % claim, measured (docs/savings.md): 60 days of a fleet with idle
# capacity replayed without and with the recommendations of
# recommend.Decide applied weekly as bounds in force; the markdown table
# goes into the summary, the markdown and the JSON (cost rows included)
# beside it as <stamp>-savings.{md,json}.
set -euo pipefail
out="$(cd "$(dirname "$summary")" && pwd)" # absolute: go test runs in the package folder
stamp="$(basename "$summary" .md)"
WEDSYNC_SAVINGS_OUT="$out/$stamp-savings" run ./autoscaler/replay/ '^BenchmarkSavings$' 1x
[ -s "$out/$stamp-savings.md" ] || { echo "BenchmarkSavings wrote no result" | tee -a "$raw"; exit 1; }
{
  echo
  echo "## Savings replay: recommendations applied weekly on a fleet with idle capacity (also in $stamp-savings.md and .json)"
  echo
  echo "Goal: ≥ 15 % of cost saved once the recommendations are in force, no SLO-violation minute added."
  echo
  cat "$out/$stamp-savings.md"
} >> "$summary"
