#!/usr/bin/env bash
# Installs the system packages the tests and the demo run for real:
# PostgreSQL, Prometheus (with promtool), Alertmanager (with amtool),
# Node and npm (the Grafana plugin's frontend), Chromium (headless, for
# the HTML report test); with WEDSYNC_BENCH_DEPS=1 also the benchmarks' peers (wrk, node_exporter).
# Only what is missing is installed; nothing is started here (Debian's
# packages try to start services through systemd, which may not run; our
# tests and the demo start their own servers on loopback).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# Debian's postgresql-15 brings initdb, postgres and pgbench.
if ! have initdb && [ -z "$(pg_bin)" ]; then need+=(postgresql); fi
have prometheus && have promtool || need+=(prometheus)
{ have alertmanager || have prometheus-alertmanager; } && have amtool || need+=(prometheus-alertmanager)
# Headless Chromium renders the load-test HTML report in its test.
have chromium || need+=(chromium)
# npm builds and tests the Grafana plugin's frontend (make plugin-frontend
# checks that Node is 20 or newer: Debian 12's own nodejs is 18).
have npm || need+=(nodejs npm)
if [ "${WEDSYNC_BENCH_DEPS:-}" = 1 ]; then
  have wrk || need+=(wrk)
  have prometheus-node-exporter || have node_exporter || need+=(prometheus-node-exporter)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then sudo="sudo"; else
    echo "deps: missing ${need[*]} and not root (no sudo): install them with apt-get" >&2
    exit 1
  fi
fi
echo "deps: installing ${need[*]}" >&2
# policy-rc.d 101 keeps Debian's maintainer scripts from starting services.
prc=/usr/sbin/policy-rc.d
created_prc=0
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$prc" >/dev/null && $sudo chmod +x "$prc" && created_prc=1
fi
trap '[ "$created_prc" = 1 ] && $sudo rm -f "$prc"' EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's packages may have started their own daemons where systemd runs;
# ours never use them, and stopped they cannot collide with anything.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter; do
  if have systemctl && systemctl is-active --quiet "$svc" 2>/dev/null; then $sudo systemctl stop "$svc" || true; fi
done
