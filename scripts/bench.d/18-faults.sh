#!/usr/bin/env bash
# The fault-injection suite (docs/faults.md): every documented fault run
# against real PostgreSQL, the real Prometheus observer and the real HTTP
# actuator; its table of outcomes is kept beside the run's figures. It is a
# test, not a benchmark: it fails (and so does this script) on any row where
# an action ran twice or an outcome went unrecorded.
set -euo pipefail
out="$(cd "$(dirname "$summary")" && pwd)" # absolute: go test runs in the package folder
stamp="$(basename "$summary" .md)" # bench.sh names the summary after its stamp
table="$out/$stamp-faults.md"
echo "== ./autoscaler/scaler/ TestFaultInjection" | tee -a "$raw"
rc=0
WEDSYNC_FAULTS_OUT="$table" go test -count=1 -run '^TestFaultInjection$' ./autoscaler/scaler/ >"$table.log" 2>&1 || rc=$?
tail -n 3 "$table.log" | tee -a "$raw"
rm -f "$table.log"
[ -s "$table" ] || { echo "TestFaultInjection wrote no table (rc $rc)" | tee -a "$raw"; exit 1; }
{
  echo
  echo "## Fault injection (docs/faults.md; table also in $(basename "$table"))"
  echo
  echo "Goal: no row with \"ran twice\" or \"unrecorded\" true; each row on its own fresh PostgreSQL database."
  echo
  cat "$table"
} >> "$summary"
# The table goes into the summary whether or not a row failed; a failed row fails the run.
exit "$rc"
