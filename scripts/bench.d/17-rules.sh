#!/usr/bin/env bash
# SLOs, learned bands and early warnings: what they cost a real Prometheus
# for 100 services, beside the rules that existed before them (adapters and
# scaling alerts), in the same run.
set -euo pipefail
run ./rules/ BenchmarkRuleEvaluation100Services 1x
{
  echo
  echo "## SLOs, bands and early warnings for 100 services on a real Prometheus (goal: under 1 s per 15 s interval)"
  echo
  echo "The Prometheus holds the minutes of the run only: windows of hours and days (26h smoothing, 1d/1w offsets,"
  echo "3d and 30d SLO windows) read few samples here; their cost grows with the samples in the window."
  echo
  echo "| figure | value |"
  echo "|---|---|"
  grep '^BenchmarkRuleEvaluation100Services' "$raw" | awk '{
    for (i = 3; i < NF; i++) if ($(i+1) ~ /^(early|existing|series_added)/) printf "| %s | %s |\n", $(i+1), $i }'
} >> "$summary"
