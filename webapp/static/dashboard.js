// The supervisor dashboard's charts (Chart.js) and process heatmap (bpmn-js NavigatedViewer).
// Progressive enhancement: every number is also in the page's tables and CSV downloads. Data
// comes from the report JSON (data-url), already suppressed: hidden counts arrive as null and
// are drawn as gaps, never guessed.
(function () {
  "use strict";
  var charts = document.getElementById("charts");
  if (!charts || typeof window.fetch !== "function") { return; }
  var COLOURS = ["#f2c14e", "#f08a4b", "#d64933", "#8c1c13"];

  function values(row, keys) {
    return keys.map(function (k) { return row.values[k]; });
  }

  function dayLabel(iso) {
    var parts = iso.split("-");
    return parts[2] + "." + parts[1] + ".";
  }

  function drawCharts(report) {
    if (typeof window.Chart === "undefined") { return; }
    var Chart = window.Chart;
    var buckets = ["wd_1_5", "wd_6_10", "wd_11_20", "wd_over_20"];
    var bucketLabels = JSON.parse(charts.dataset.buckets);
    var overdue = report.tables.overdue;
    new Chart(document.getElementById("chart-overdue-office"), {
      type: "bar",
      data: {
        labels: overdue.rows.map(function (r) { return r.values.office; }),
        datasets: buckets.map(function (key, i) {
          return { label: bucketLabels[i], backgroundColor: COLOURS[i],
                   data: overdue.rows.map(function (r) { return r.values[key]; }) };
        })
      },
      options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
    var totalRow = overdue.total || overdue.rows[0];
    new Chart(document.getElementById("chart-age"), {
      type: "bar",
      data: { labels: bucketLabels, datasets: [{ label: charts.dataset.labelOverdue, backgroundColor: COLOURS,
                                                 data: totalRow ? values(totalRow, buckets) : [] }] },
      options: { responsive: true, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
    });
    var daily = report.tables.daily.rows;
    new Chart(document.getElementById("chart-daily"), {
      type: "line",
      data: {
        labels: daily.map(function (r) { return dayLabel(r.values.day); }),
        datasets: [
          { label: charts.dataset.labelDue, borderColor: "#d64933", backgroundColor: "#d64933",
            data: daily.map(function (r) { return r.values.due; }), spanGaps: false },
          { label: charts.dataset.labelCompleted, borderColor: "#2a7f62", backgroundColor: "#2a7f62",
            data: daily.map(function (r) { return r.values.completed; }), spanGaps: false }
        ]
      },
      options: { responsive: true, aspectRatio: 4, scales: { y: { beginAtZero: true } } }
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
          container.textContent = "Das Diagramm kann nicht angezeigt werden: " + error.message;
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
