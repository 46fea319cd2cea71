// Charts on dashboard pages: every element with data-query is drawn with uPlot from the
// Prometheus-compatible query API. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  const palette = ["#3d7bd9", "#d64545", "#1f9d55", "#d9822b", "#8e44ad", "#16a085", "#7f8c8d"];

  function seriesName(metric) {
    const name = metric.__name__ || "";
    const rest = Object.keys(metric).filter((k) => k !== "__name__").sort()
      .map((k) => k + "=" + JSON.stringify(metric[k])).join(", ");
    return rest ? name + "{" + rest + "}" : name || "value";
  }

  function toUplot(result) {
    const times = new Set();
    result.forEach((s) => s.values.forEach((v) => times.add(v[0])));
    const xs = Array.from(times).sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const data = [xs];
    result.forEach((s) => {
      const ys = new Array(xs.length).fill(null);
      s.values.forEach((v) => { ys[index.get(v[0])] = parseFloat(v[1]); });
      data.push(ys);
    });
    return data;
  }

  async function draw(el) {
    const range = parseFloat(el.dataset.range || "3600");
    const end = Date.now() / 1000;
    const start = end - range;
    const step = Math.max(1, Math.round(range / 240));
    const params = new URLSearchParams({ query: el.dataset.query, start: start, end: end, step: step });
    let body;
    try {
      const res = await fetch("/prometheus/api/v1/query_range?" + params, { credentials: "same-origin" });
      body = await res.json();
      if (body.status !== "success") throw new Error(body.error || res.statusText);
    } catch (err) {
      el.textContent = "chart unavailable: " + err.message;
      el.classList.add("muted");
      return;
    }
    const result = body.data.result || [];
    if (result.length === 0) { el.textContent = "no data in this range yet"; el.classList.add("muted"); return; }
    const spark = el.classList.contains("spark");
    const width = el.clientWidth || 300;
    const opts = {
      width: width,
      height: spark ? 48 : parseInt(el.dataset.height || "200", 10),
      legend: { show: !spark },
      cursor: { show: !spark },
      axes: spark ? [{ show: false }, { show: false }] : [{}, { size: 60 }],
      scales: { x: { time: true } },
      series: [{}].concat(result.map((s, i) => ({
        label: spark ? "" : seriesName(s.metric),
        stroke: palette[i % palette.length],
        width: spark ? 1.5 : 1.25,
        points: { show: false },
      }))),
    };
    el.textContent = "";
    if (el._plot) el._plot.destroy();
    el._plot = new uPlot(opts, toUplot(result), el);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-query]").forEach((el) => { draw(el); });
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:afterSwap", (ev) => drawAll(ev.target));
  document.addEventListener("change", (ev) => {
    const sel = ev.target.closest("[data-range-for]");
    if (!sel) return;
    document.querySelectorAll(sel.dataset.rangeFor).forEach((el) => { el.dataset.range = sel.value; draw(el); });
  });
  // Confirm dangerous actions declared with data-confirm (no inline handlers).
  document.addEventListener("submit", (ev) => {
    const msg = ev.target.dataset.confirm;
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
})();
