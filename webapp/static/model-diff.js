// Two bpmn-js viewers side by side: the older version with removed (red) and changed (orange)
// elements, the newer one with added (green) and changed elements. The page lists the same
// changes as text, so it is complete without this script.
(function () {
  "use strict";
  var root = document.getElementById("model-diff");
  if (!root || typeof window.BpmnJS === "undefined") { return; }

  function show(containerId, xml, markers) {
    var container = document.getElementById(containerId);
    var viewer = new window.BpmnJS({ container: container });
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      Object.keys(markers).forEach(function (cls) {
        markers[cls].forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, cls); } });
      });
      container.dataset.ready = "true";
    }).catch(function (error) {
      // e.g. a version saved without diagram layout (BPMN DI): the list of changes still stands
      container.textContent = "Das Diagramm kann nicht angezeigt werden: " + error.message;
      container.dataset.ready = "failed";
    });
  }

  fetch(root.dataset.url, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (diff) {
      var changed = diff.changed.map(function (c) { return c.id; });
      return Promise.all([
        show("diff-old", diff.old_xml, { "diff-removed": diff.removed, "diff-changed": changed }),
        show("diff-new", diff.new_xml, { "diff-added": diff.added, "diff-changed": changed })
      ]);
    })
    .then(function () { root.dataset.ready = "true"; });
})();
