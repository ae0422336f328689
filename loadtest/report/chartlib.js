// WedsyncCharts.draw(id, t, series, opts) draws a chart as inline SVG:
// axes, grid, one polyline per series (null values are gaps), a legend.
// t are x values (seconds); opts.x is "seconds" (default, from 0) or
// "time" (Unix seconds, shown as day and hour). Shared by wedsync-load's
// report and wedsync-autoscaler's replay report.
window.WedsyncCharts = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 520, H = 240, L = 48, R = 10, T = 10, B = 28;
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function nice(max) {
    if (!(max > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(max)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
    return 10 * p;
  }
  function fmt(v) {
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
    if (v >= 10 || v === 0) return v.toFixed(0);
    return v.toPrecision(2);
  }
  function xlabel(v, opts) {
    if (opts.x !== "time") return fmt(v) + "s";
    const d = new Date(v * 1000);
    const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const pad = n => String(n).padStart(2, "0");
    return days[d.getUTCDay()] + " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function draw(id, t, series, opts) {
    opts = opts || {};
    const box = document.getElementById(id);
    t = t || [];
    const svg = el("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, "data-chart": box.dataset.chart, role: "img" }, box);
    let ymax = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > ymax) ymax = v;
    ymax = nice(ymax);
    const xmin = opts.x === "time" && t.length ? t[0] : 0;
    const xmax = t.length ? Math.max(t[t.length - 1], xmin + 1) : 1;
    const x = v => L + (W - L - R) * (v - xmin) / (xmax - xmin), y = v => H - B - (H - T - B) * v / ymax;
    for (let i = 0; i <= 4; i++) {
      const v = ymax * i / 4;
      el("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }, svg);
      el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, svg).textContent = fmt(v);
    }
    for (let i = 0; i <= 5; i++) {
      const v = xmin + (xmax - xmin) * i / 5;
      el("text", { x: x(v), y: H - B + 16, "text-anchor": "middle" }, svg).textContent = xlabel(v, opts);
    }
    el("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }, svg);
    el("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
    const legend = document.createElement("div");
    legend.className = "legend";
    for (const s of series) {
      // One polyline per series; a gap (null) starts a new segment inside
      // the same group so the series stays one element.
      const g = el("g", { class: "series-group", "data-series": s.name }, svg);
      let pts = [], count = 0;
      const flush = () => {
        if (pts.length) el("polyline", { class: "series", stroke: s.color, points: pts.join(" "), "data-series": s.name }, g);
        pts = [];
      };
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { flush(); return; }
        pts.push(x(t[i]).toFixed(1) + "," + y(v).toFixed(1));
        count++;
      });
      flush();
      g.setAttribute("data-points", count);
      el("title", {}, g).textContent = s.name;
      const item = document.createElement("span");
      item.innerHTML = '<i style="background:' + s.color + '"></i>';
      item.appendChild(document.createTextNode(s.name));
      legend.appendChild(item);
    }
    box.appendChild(legend);
  }
  return { draw: draw };
})();
