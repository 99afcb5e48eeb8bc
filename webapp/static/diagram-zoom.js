// Zoom and pan for the bpmn-js diagrams (case page, supervisor heatmap): a small toolbar above the
// diagram (current step, +, -, whole diagram), keyboard-usable; dragging pans, Ctrl + wheel zooms
// (both come with the navigated viewer). The case page opens on the current step at a readable size.
(function () {
  "use strict";
  var LABELS = {
    de: { current: "Aktueller Schritt", zoomIn: "Vergrößern", zoomOut: "Verkleinern", fit: "Ganzes Diagramm",
          group: "Diagramm zoomen" },
    en: { current: "Current step", zoomIn: "Zoom in", zoomOut: "Zoom out", fit: "Whole diagram",
          group: "Zoom the diagram" }
  };
  var READABLE = 1.0; // 100 %: task names legible

  function labels() {
    return (document.documentElement.lang || "de").indexOf("en") === 0 ? LABELS.en : LABELS.de;
  }

  // Show the elements `ids` at a readable scale (or fit them if they are bigger than the view).
  function focus(viewer, ids) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var shapes = ids.map(function (id) { return registry.get(id); }).filter(function (e) { return e && e.width; });
    if (!shapes.length) { canvas.zoom("fit-viewport"); return false; }
    var box = shapes.reduce(function (b, e) {
      return { x1: Math.min(b.x1, e.x), y1: Math.min(b.y1, e.y), x2: Math.max(b.x2, e.x + e.width),
               y2: Math.max(b.y2, e.y + e.height) };
    }, { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity });
    var outer = canvas.viewbox().outer;
    var pad = 80;
    var scale = Math.min(READABLE, outer.width / (box.x2 - box.x1 + 2 * pad), outer.height / (box.y2 - box.y1 + 2 * pad));
    var width = outer.width / scale, height = outer.height / scale;
    canvas.viewbox({ x: (box.x1 + box.x2) / 2 - width / 2, y: (box.y1 + box.y2) / 2 - height / 2,
                     width: width, height: height });
    return true;
  }

  function button(text, name, title, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.dataset.zoom = name;
    if (title) { b.setAttribute("aria-label", title); b.title = title; }
    b.addEventListener("click", onClick);
    return b;
  }

  // A toolbar before `container`; `currentIds()` names the elements "current step" shows.
  function controls(viewer, container, currentIds) {
    var text = labels();
    var previous = container.previousElementSibling;
    if (previous && previous.classList.contains("diagram-tools")) { previous.remove(); }
    var bar = document.createElement("div");
    bar.className = "diagram-tools";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", text.group);
    var canvas = viewer.get("canvas");
    var zoomScroll = viewer.get("zoomScroll");
    if (currentIds) {
      bar.appendChild(button(text.current, "current", null, function () { focus(viewer, currentIds()); }));
    }
    bar.appendChild(button("+", "in", text.zoomIn, function () { zoomScroll.stepZoom(1); }));
    bar.appendChild(button("\u2212", "out", text.zoomOut, function () { zoomScroll.stepZoom(-1); }));
    bar.appendChild(button(text.fit, "fit", null, function () { canvas.zoom("fit-viewport"); }));
    container.parentNode.insertBefore(bar, container);
    return bar;
  }

  window.KimDiagram = { focus: focus, controls: controls };
})();
