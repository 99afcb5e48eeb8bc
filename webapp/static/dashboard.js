// The supervisor dashboard's charts (Chart.js) and process heatmap (bpmn-js NavigatedViewer).
// Progressive enhancement: every number is also in the page's tables and CSV downloads. Data
// comes from the report JSON (data-url), already suppressed: hidden counts arrive as null and
// are drawn as gaps with a hatched marker, never as 0 and never guessed.
(function () {
  "use strict";
  var charts = document.getElementById("charts");
  if (!charts || typeof window.fetch !== "function") { return; }
  var COLOURS = ["#f2c14e", "#f08a4b", "#d64933", "#8c1c13"];

  var MARK = 10; // px: height of the hatched marker of a withheld value (a marker, not a value)

  function values(row, keys) {
    return keys.map(function (k) { return row.values[k]; });
  }

  function dayLabel(iso) {
    var parts = iso.split("-");
    return parts[2] + "." + parts[1] + ".";
  }

  function hatch(colour) {
    var tile = document.createElement("canvas");
    tile.width = 8;
    tile.height = 8;
    var g = tile.getContext("2d");
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, 8, 8);
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(0, 8); g.lineTo(8, 0);
    g.moveTo(-2, 2); g.lineTo(2, -2);
    g.moveTo(6, 10); g.lineTo(10, 6);
    g.stroke();
    return g.createPattern(tile, "repeat");
  }

  // Withheld values (fewer than 5 people, or a total that would reveal one) arrive as null and
  // stay gaps in the bars and lines - never a 0. Each gap gets a hatched marker on the axis;
  // a legend entry (a dataset without data) explains it.
  var withheldMarkers = {
    id: "kimWithheld",
    afterDatasetsDraw: function (chart) {
      var marks = chart.options.plugins.kimWithheld;
      if (!marks || !marks.cells) { return; }
      var ctx = chart.ctx;
      var y = chart.scales.y.getPixelForValue(0);
      var drawn = 0;
      ctx.save();
      marks.cells.forEach(function (cell) {
        var meta = chart.getDatasetMeta(cell.dataset);
        if (meta.hidden) { return; }
        var element = meta.data[cell.index];
        var x = element && isFinite(element.x) ? element.x : chart.scales.x.getPixelForValue(cell.index);
        var width = element && isFinite(element.width) && element.width > 0 ? element.width : 8;
        ctx.fillStyle = marks.pattern;
        ctx.strokeStyle = marks.colour;
        ctx.lineWidth = 1;
        ctx.setLineDash([2, 2]);
        ctx.fillRect(x - width / 2, y - MARK, width, MARK);
        ctx.strokeRect(x - width / 2, y - MARK, width, MARK);
        drawn += 1;
      });
      ctx.restore();
      chart.canvas.dataset.withheld = String(drawn);
    }
  };

  function withheldCells(datasets) {
    var cells = [];
    datasets.forEach(function (set, d) {
      set.data.forEach(function (value, i) {
        if (value === null || value === undefined) { cells.push({ dataset: d, index: i }); }
      });
    });
    return cells;
  }

  // The legend names the hatched marker (only where a chart has withheld values).
  function legend(pattern, hasWithheld, keep) {
    var Chart = window.Chart;
    var defaults = Chart.defaults.plugins.legend;
    return {
      labels: {
        generateLabels: function (chart) {
          var items = defaults.labels.generateLabels(chart).filter(keep || function () { return true; });
          if (hasWithheld) {
            items.push({ text: charts.dataset.labelWithheld, fillStyle: pattern, strokeStyle: "#555555", lineWidth: 1,
                         lineDash: [2, 2], hidden: false, datasetIndex: -1 });
          }
          return items;
        }
      },
      onClick: function (event, item, legendBox) {
        if (item.datasetIndex >= 0) { defaults.onClick.call(this, event, item, legendBox); }
      }
    };
  }

  function withheldOptions(options, datasets, pattern, keep) {
    options.plugins = options.plugins || {};
    var cells = withheldCells(datasets);
    options.plugins.kimWithheld = { cells: cells, pattern: pattern, colour: "#555555" };
    options.plugins.legend = legend(pattern, cells.length > 0, keep);
    options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var value = item.raw === null || item.raw === undefined ? charts.dataset.labelWithheld : item.formattedValue;
          return item.dataset.label + ": " + value;
        }
      }
    };
    return options;
  }

  function drawCharts(report) {
    if (typeof window.Chart === "undefined") { return; }
    var Chart = window.Chart;
    var pattern = hatch("#555555");
    var buckets = ["wd_1_5", "wd_6_10", "wd_11_20", "wd_over_20"];
    var bucketLabels = JSON.parse(charts.dataset.buckets);
    var overdue = report.tables.overdue;
    var officeSets = buckets.map(function (key, i) {
      return { label: bucketLabels[i], backgroundColor: COLOURS[i],
               data: overdue.rows.map(function (r) { return r.values[key]; }) };
    });
    var officeOptions = withheldOptions({ responsive: true, scales: { y: { beginAtZero: true } } }, officeSets, pattern);
    new Chart(document.getElementById("chart-overdue-office"), {
      type: "bar",
      data: { labels: overdue.rows.map(function (r) { return r.values.office; }), datasets: officeSets },
      options: officeOptions,
      plugins: [withheldMarkers]
    });
    var totalRow = overdue.total || overdue.rows[0];
    var ageSets = [{ label: charts.dataset.labelOverdue, backgroundColor: COLOURS,
                     data: totalRow ? values(totalRow, buckets) : [] }];
    var ageOptions = withheldOptions({ responsive: true, scales: { y: { beginAtZero: true } } }, ageSets, pattern,
                                     function () { return false; }); // one dataset: the axis names its bars
    new Chart(document.getElementById("chart-age"), {
      type: "bar",
      data: { labels: bucketLabels, datasets: ageSets },
      options: ageOptions,
      plugins: [withheldMarkers]
    });
    var daily = report.tables.daily.rows;
    var dailySets = [
      { label: charts.dataset.labelDue, borderColor: "#d64933", backgroundColor: "#d64933",
        data: daily.map(function (r) { return r.values.due; }), spanGaps: false },
      { label: charts.dataset.labelCompleted, borderColor: "#2a7f62", backgroundColor: "#2a7f62",
        data: daily.map(function (r) { return r.values.completed; }), spanGaps: false }
    ];
    var dailyOptions = withheldOptions({ responsive: true, aspectRatio: 4, scales: { y: { beginAtZero: true } } },
                                       dailySets, pattern);
    new Chart(document.getElementById("chart-daily"), {
      type: "line",
      data: { labels: daily.map(function (r) { return dayLabel(r.values.day); }), datasets: dailySets },
      options: dailyOptions,
      plugins: [withheldMarkers]
    });
    charts.dataset.ready = "true";
  }

  function heatClass(cell) {
    var share = cell.values.late_share;
    if (share === null || share === undefined) { return cell.values.late === 0 ? "heat-ok" : "heat-unknown"; }
    if (share === 0) { return "heat-ok"; }
    if (share < 25) { return "heat-low"; }
    if (share < 50) { return "heat-mid"; }
    return "heat-high";
  }

  function shown(value) { return value === null || value === undefined ? "<5" : String(value); }

  function drawHeatmap(report) {
    var container = document.getElementById("heatmap");
    var select = document.getElementById("heat-process");
    if (!container || !select || typeof window.BpmnJS === "undefined") { return; }
    var viewer = new window.BpmnJS({ container: container });
    function show(processId) {
      container.dataset.ready = "loading";
      var url = container.dataset.diagramUrl.replace("__PROCESS__", encodeURIComponent(processId));
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
          return response.json();
        })
        .then(function (diagram) { return viewer.importXML(diagram.xml); })
        .then(function () {
          var canvas = viewer.get("canvas");
          var overlays = viewer.get("overlays");
          var registry = viewer.get("elementRegistry");
          canvas.zoom("fit-viewport");
          if (window.KimDiagram) { window.KimDiagram.controls(viewer, container); }  // zoom and pan
          report.tables.heatmap.rows.forEach(function (row) {
            if (row.values.process !== processId || !registry.get(row.values.step)) { return; }
            var css = heatClass(row);
            var badge = document.createElement("div");
            badge.className = "kim-heat " + css;
            badge.textContent = shown(row.values.waiting) + " / " + shown(row.values.late);
            badge.title = row.values.name;
            overlays.add(row.values.step, "kim-heat", { position: { top: -14, right: 14 }, html: badge });
            canvas.addMarker(row.values.step, css);
          });
          container.dataset.ready = "true";
        })
        .catch(function (error) {
          container.textContent = container.dataset.failed + " (" + error.message + ")";
          container.dataset.ready = "failed";
        });
    }
    select.addEventListener("change", function () { show(select.value); });
    show(select.value);
  }

  fetch(charts.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
      return response.json();
    })
    .then(function (report) {
      drawCharts(report);
      drawHeatmap(report);
    })
    .catch(function (error) {
      charts.dataset.ready = "failed";
      charts.setAttribute("data-error", error.message);
    });
})();
