// The instance view's diagram: bpmn-js marks where the case stands (blue), the path it took
// (grey) and puts the day counts on the steps (progressive enhancement: the tables on the page
// say the same without JavaScript).
(function () {
  "use strict";
  var container = document.getElementById("instance-diagram");
  if (!container || typeof window.BpmnJS === "undefined") { return; }
  fetch(container.dataset.url, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (view) {
      var viewer = new window.BpmnJS({ container: container });
      return viewer.importXML(view.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport");
        view.done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "kim-done"); } });
        view.current.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "kim-active"); } });
        view.timings.forEach(function (timing) {
          if (!registry.get(timing.bpmn_id)) { return; }
          var badge = document.createElement("span");
          badge.className = "kim-timing kim-timing-" + timing.state;
          badge.textContent = timing.label;  // text, never HTML
          overlays.add(timing.bpmn_id, { position: { bottom: -4, left: 0 }, html: badge });
        });
        container.dataset.ready = "true";
      });
    })
    .catch(function (error) {
      container.textContent = "Das Diagramm kann nicht angezeigt werden: " + error.message;
      container.dataset.ready = "failed";
    });
})();
