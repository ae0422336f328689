// The report's four charts (WedsyncCharts comes from chartlib.js).
WedsyncCharts.draw("chart-latency", DATA.t, [
  { name: "p50", color: "#4c78a8", values: DATA.p50 || [] },
  { name: "p90", color: "#72b7b2", values: DATA.p90 || [] },
  { name: "p95", color: "#f58518", values: DATA.p95 || [] },
  { name: "p99", color: "#e45756", values: DATA.p99 || [] },
]);
WedsyncCharts.draw("chart-throughput", DATA.t, [{ name: "requests/s", color: "#4c78a8", values: DATA.rps || [] }]);
WedsyncCharts.draw("chart-errors", DATA.t, [
  { name: "errors/s", color: "#e45756", values: DATA.errors || [] },
  { name: "dropped iterations", color: "#b279a2", values: DATA.dropped || [] },
]);
WedsyncCharts.draw("chart-users", DATA.t, [{ name: "VUs", color: "#54a24b", values: DATA.vus || [] }]);
