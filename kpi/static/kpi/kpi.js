// The KPI trend: a <canvas data-trend="<id of a json_script>"> becomes a Chart.js line chart
// of the KPI by day (gaps on days without data) with its target as a dashed line.
// The same figures are in the table under the chart, for the keyboard and screen readers.
(function () {
  "use strict";
  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.trend);
    if (!source || typeof Chart === "undefined") return;
    var trend = JSON.parse(source.textContent);
    var datasets = [{
      label: trend.label + (trend.unit ? " (" + trend.unit + ")" : ""),
      data: trend.values, borderColor: "#0b5cad", backgroundColor: "#0b5cad",
      spanGaps: false, pointRadius: trend.values.length > 62 ? 0 : 2, tension: 0,
    }];
    if (trend.target !== null) {
      datasets.push({
        label: trend.targetLabel, data: trend.labels.map(function () { return trend.target; }),
        borderColor: "#b42318", borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5,
      });
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: trend.labels, datasets: datasets },
      options: {
        animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true } },
      },
    });
  }
  function start() { document.querySelectorAll("canvas[data-trend]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
