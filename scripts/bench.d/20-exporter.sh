#!/usr/bin/env bash
# Exporter: /metrics latency with ≈10,900 series for 1 and 365 days of cost
# history, against node_exporter scraped in the same loop; forecast accuracy
# against Prometheus's predict_linear on synthetic series.
set -euo pipefail
run ./exporter/collector/ BenchmarkScrape 2000x
run ./core/forecast/ BenchmarkForecastAccuracy 1x
{
  echo
  echo "## Exporter scrape latency, ≈10,900 series, node_exporter scraped in the same loop (goal p99 ≤ 25 ms, flat in history)"
  echo
  echo "| cost history | series | p50 ms | p99 ms | node_exporter p50 ms | node_exporter p99 ms | p99 ratio to node_exporter | body KiB | heap MiB | snapshot build s |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  grep '^BenchmarkScrape/' "$raw" | awk '{
    name = $1; sub(/^BenchmarkScrape\/history=/, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, v["series"], v["p50_ms"], v["p99_ms"], v["node_p50_ms"],
      v["node_p99_ms"], v["p99_ratio_to_node"], v["body_KiB"], v["heap_MiB"], v["build_s"] }'
  echo
  echo "## Forecast accuracy, 3 months ahead after a year of daily history, 10 seeds (goal MAPE ≤ 10 %, ≥ 30 % below predict_linear: ratio ≤ 0.7)"
  echo
  echo "| shape | chosen MAPE % | predict_linear MAPE % | predict_linear[30d] MAPE % | ratio | chosen vs signal % | predict_linear vs signal % | ratio vs signal |"
  echo "|---|---|---|---|---|---|---|---|"
  grep '^BenchmarkForecastAccuracy/' "$raw" | awk '{
    name = $1; sub(/^BenchmarkForecastAccuracy\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) v[$(i+1)] = $i
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, v["chosen_mape_%"], v["predict_linear_mape_%"],
      v["predict_linear_30d_mape_%"], v["ratio"], v["chosen_vs_signal_mape_%"], v["predict_linear_vs_signal_mape_%"], v["ratio_vs_signal"] }'
} >> "$summary"
