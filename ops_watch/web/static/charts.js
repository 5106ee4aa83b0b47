// ops-watch console: draws the charts of the area pages with the vendored ECharts. A chart is an element
// <div class="chart" data-chart="ID"> and its data a <script type="application/json" id="ID"> block
// ({title, unit, x: [labels], series: [{name, data}]}): no inline script (the CSP forbids it).
// The tooltip is drawn on the canvas (renderMode "richText"): ECharts' HTML tooltip sets style attributes,
// which the console's CSP (no 'unsafe-inline') refuses. What it shows is also kept in the chart's data-tip.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof window.echarts === "undefined") { return; }
  document.querySelectorAll("div.chart[data-chart]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    el.style.width = "100%";
    el.style.height = "360px";
    var unit = data.unit || "";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        formatter: function (points) {
          var lines = [points.length ? points[0].name : ""];
          points.forEach(function (p) {
            var v = p.value === null || p.value === undefined ? "—" : p.value + unit;
            lines.push(p.seriesName + ": " + v);
          });
          el.dataset.tip = lines.join("; ");
          return lines.join("\n");
        }
      },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 60 },
      xAxis: { type: "category", data: data.x || [] },
      yAxis: { type: "value", axisLabel: { formatter: "{value}" + unit } },
      dataZoom: [{ type: "inside" }, { type: "slider" }],
      series: (data.series || []).map(function (s) {
        return { name: s.name, type: "line", showSymbol: false, connectNulls: false, data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
