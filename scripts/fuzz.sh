#!/usr/bin/env bash
# Runs every fuzz target in the workspace for FUZZTIME each (default 30s, as
# CI runs them; 10m on a developer's machine before a release). Targets are
# discovered with `go test -list`, so a new Fuzz function is fuzzed without
# editing this file. A crash leaves its input in the package's
# testdata/fuzz/<Target>/ — commit it: it becomes a regression seed that
# every `make test` replays. FUZZ_MATCH narrows the targets (a regexp on
# "<package> <Target>"); FUZZ_PARALLEL caps the workers per target; the
# summary goes to FUZZ_LOG when set.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
match=${FUZZ_MATCH:-.}
modules=(core autoscaler demo rules exporter loadtest grafana-plugin dashboards compose)
log=${FUZZ_LOG:-/dev/null}
failed=()
ran=0
for m in "${modules[@]}"; do
  for pkg in $(go list "./$m/..."); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    ls "$dir"/*_test.go >/dev/null 2>&1 || continue
    grep -qs '^func Fuzz' "$dir"/*_test.go || continue
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
      echo "$pkg $target" | grep -Eq "$match" || continue
      ran=$((ran + 1))
      start=$(date +%s)
      echo "== fuzz $pkg $target for $fuzztime"
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" ${FUZZ_PARALLEL:+-parallel "$FUZZ_PARALLEL"} "$pkg"; then
        echo "ok   $pkg $target $fuzztime $(( $(date +%s) - start ))s" | tee -a "$log"
      else
        echo "FAIL $pkg $target (input saved under $dir/testdata/fuzz/$target)" | tee -a "$log"
        failed+=("$pkg $target")
      fi
    done
  done
done
echo "fuzz: $ran targets, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
