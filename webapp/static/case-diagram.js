// Shows the case's process with bpmn-js and marks where the case stands (progressive
// enhancement: the page is complete without it). Opens on the current step at a readable size;
// zoom and pan with the toolbar (diagram-zoom.js), the mouse or Ctrl + wheel.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || typeof window.BpmnJS === "undefined") { return; }
  fetch(container.dataset.url, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (process) {
      var viewer = new window.BpmnJS({ container: container });
      return viewer.importXML(process.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        process.done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "kim-done"); } });
        process.active.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "kim-active"); } });
        if (window.KimDiagram) {
          window.KimDiagram.controls(viewer, container, function () { return process.active; });
          container.dataset.focused = String(window.KimDiagram.focus(viewer, process.active));
        }
        container.dataset.ready = "true";
      });
    })
    .catch(function (error) {
      // e.g. a model saved without diagram layout (BPMN DI): the page works without the picture
      container.textContent = (container.dataset.failed || "Das Diagramm kann nicht angezeigt werden.") +
        " (" + error.message + ")";
      container.dataset.ready = "failed";
    });
})();
