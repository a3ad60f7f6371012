// The dashboard's charts: each <figure class="chart-box"> holds a <div class="chart"> and its
// numbers as JSON in <script type="application/json" class="chart-data"> (the page policy
// allows no inline script). Drawn with uPlot (bundled, /dashboard/assets/uPlot.iife.min.js);
// the x axis is the position in the data, labelled with the server's labels, so dates stay in
// the server's zone (JST) whatever the browser's zone is.
(function () {
  "use strict";
  var FONT = '12px "Noto Sans JP", "Hiragino Sans", Meiryo, sans-serif';
  var ACCENT = "#0b5cad";

  function count(v) {
    return v == null ? "—" : v.toLocaleString("ja-JP");
  }

  function draw(box) {
    var target = box.querySelector(".chart");
    var source = box.querySelector("script.chart-data");
    if (!target || !source || typeof uPlot === "undefined") {
      return null;
    }
    var data = JSON.parse(source.textContent);
    var labels = data.labels;
    var xs = labels.map(function (_, i) { return i; });
    var series = {
      label: data.series,
      stroke: ACCENT,
      width: 2,
      value: function (u, v) { return count(v); },
    };
    if (data.kind === "bars") {
      series.fill = "rgba(11, 92, 173, 0.55)";
      series.width = 0;
      series.paths = uPlot.paths.bars({ size: [0.7, 48] });
      series.points = { show: false };
    } else {
      series.fill = "rgba(11, 92, 173, 0.12)";
    }
    var opts = {
      width: Math.max(target.clientWidth, 200),
      height: 220,
      scales: {
        x: {
          time: false,
          range: function (u, min, max) { return [min - 0.5, max + 0.5]; },
        },
        y: {
          range: function (u, min, max) { return [0, Math.max(max, 1) * 1.1]; },
        },
      },
      axes: [
        {
          font: FONT,
          incrs: [1, 2, 3, 4, 6, 7, 12, 14, 28, 31, 61, 92],
          values: function (u, splits) {
            return splits.map(function (i) {
              return Number.isInteger(i) && labels[i] !== undefined ? labels[i] : "";
            });
          },
        },
        {
          font: FONT,
          size: 56,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000, 100000],
          values: function (u, splits) { return splits.map(count); },
        },
      ],
      series: [
        {
          label: data.x,
          value: function (u, i) { return i == null || labels[i] === undefined ? "—" : labels[i]; },
        },
        series,
      ],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    var chart = new uPlot(opts, [xs, data.values], target);
    return { chart: chart, target: target };
  }

  function start() {
    var drawn = [];
    var boxes = document.querySelectorAll("figure.chart-box");
    for (var i = 0; i < boxes.length; i++) {
      var one = draw(boxes[i]);
      if (one) {
        drawn.push(one);
      }
    }
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) {
        window.cancelAnimationFrame(pending);
      }
      pending = window.requestAnimationFrame(function () {
        drawn.forEach(function (d) {
          d.chart.setSize({ width: Math.max(d.target.clientWidth, 200), height: 220 });
        });
      });
    });
    // Tests and the benchmark wait for this: every chart is drawn.
    document.documentElement.setAttribute("data-charts-at", String(Math.round(performance.now())));
    document.documentElement.setAttribute("data-charts", String(drawn.length));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
