// Leaderboard charts (ECharts, vendored). Data comes from the JSON API named in each chart
// element's data-url; no inline scripts (the site's CSP forbids them).
(function () {
  "use strict";

  function show(el, option) {
    if (typeof echarts === "undefined") { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-ready", "1");
  }

  function boardChart(el, data) {
    var items = data.items.slice(0, 30);
    if (!items.length) { el.hidden = true; return; }
    el.style.height = Math.max(140, 50 + 34 * items.length) + "px";  // one band per result
    show(el, {
      grid: { left: 200, right: 30, top: 20, bottom: 30 },
      tooltip: { trigger: "item" },
      xAxis: { type: "value", name: el.getAttribute("data-unit") || "" },
      yAxis: {
        type: "category", inverse: true,
        data: items.map(function (r) { return r.id + " · " + r.system + " · " + r.backend; }),
        axisLabel: { width: 190, overflow: "truncate" }
      },
      series: [{
        type: "bar", name: el.getAttribute("data-label") || "",
        data: items.map(function (r) {
          return { value: r.value, itemStyle: { opacity: r.verified ? 1 : 0.45 } };
        })
      }]
    });
  }

  function historyChart(el, data) {
    var subs = (data.history || []).filter(function (s) {
      return s.status === "verified" || s.status === "needs_review";
    }).reverse();
    if (!subs.length) { el.hidden = true; return; }
    var series = {};
    subs.forEach(function (s) {
      s.results.forEach(function (r) {
        var key = r.benchmark + " (" + r.unit + ")";
        (series[key] = series[key] || []).push([s.created_at, r.value]);
      });
    });
    show(el, {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 60, right: 30, top: 20, bottom: 60 },
      xAxis: { type: "time" },
      yAxis: { type: "log" },
      series: Object.keys(series).map(function (k) {
        return { name: k, type: "line", showSymbol: true, data: series[k] };
      })
    });
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    fetch(el.getAttribute("data-url"), { credentials: "same-origin",
                                         headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (el.getAttribute("data-chart") === "board") { boardChart(el, data); }
        else { historyChart(el, data); }
      })
      .catch(function () { el.hidden = true; });
  });
}());
