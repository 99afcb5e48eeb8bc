// Publishing asks first: a dialog shows what the new version changes against the current one
// (the "changes" of POST /api/v1/model-checks, computed by engine.bpmn.diff) and which model and
// version it publishes. Also here: the German reasons for bpmn-js/dmn-js import errors, which
// the libraries only give in English. Texts come from the page (data-messages).
(function () {
  "use strict";

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_m, name) { return values[name] !== undefined ? values[name] : ""; });
  }

  function paragraph(text, className) {
    var p = document.createElement("p");
    p.textContent = text;
    if (className) { p.className = className; }
    return p;
  }

  function label(changes, id) {
    var name = (changes.names || {})[id];
    return name && name !== id ? name + " (" + id + ")" : id;
  }

  function list(title, items, className) {
    var section = document.createElement("div");
    section.className = "publish-changes " + className;
    section.appendChild(paragraph(title + " (" + items.length + "):"));
    var ul = document.createElement("ul");
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      ul.appendChild(li);
    });
    section.appendChild(ul);
    return section;
  }

  // What the dialog says, as DOM nodes: model and version, then added/removed/changed elements.
  function summary(changes, messages, openedKey, approval) {
    var nodes = [];
    if (!changes) { return [paragraph(messages.confirm_unknown)]; }
    var values = { name: changes.name, key: changes.process_id, next: changes.next_version,
      current: changes.current_version, opened: openedKey };
    if (openedKey && changes.process_id !== openedKey) {
      nodes.push(paragraph(format(messages.confirm_other_key, values), "publish-warning"));
    }
    if (changes.current_version === null || changes.current_version === undefined) {
      nodes.push(paragraph(format(messages.confirm_new, values)));
    } else if (changes.identical && !changes.retired) {
      nodes.push(paragraph(format(messages.confirm_identical, values)));
    } else {
      nodes.push(paragraph(format(messages.confirm_version, values)));
      if (changes.retired) { nodes.push(paragraph(format(messages.confirm_retired, values), "publish-warning")); }
      var added = changes.added || [], removed = changes.removed || [], changed = changes.changed || [];
      if (added.length) { nodes.push(list(messages.added, added.map(function (id) { return label(changes, id); }), "added")); }
      if (removed.length) {
        nodes.push(list(messages.removed, removed.map(function (id) { return label(changes, id); }), "removed"));
      }
      if (changed.length) {
        nodes.push(list(messages.changed, changed.map(function (c) {
          return label(changes, c.id) + ": " + c.changes.join("; ");
        }), "changed"));
      }
      if (!added.length && !removed.length && !changed.length) { nodes.push(paragraph(messages.confirm_no_changes)); }
    }
    if (approval) { nodes.push(paragraph(messages.confirm_approval)); }
    return nodes;
  }

  // Opens the dialog; resolves true when the owner confirms, false on "Abbrechen" or Escape.
  function confirm(dialog, nodes) {
    var body = dialog.querySelector("#publish-summary");
    body.textContent = "";
    nodes.forEach(function (node) { body.appendChild(node); });
    return new Promise(function (resolve) {
      var ok = dialog.querySelector("#btn-confirm-publish");
      var cancel = dialog.querySelector("#btn-cancel-publish");
      function done(answer) {
        ok.removeEventListener("click", yes);
        cancel.removeEventListener("click", no);
        dialog.removeEventListener("cancel", no);
        if (dialog.open) { dialog.close(); }
        resolve(answer);
      }
      function yes() { done(true); }
      function no(event) { if (event) { event.preventDefault(); } done(false); }
      ok.addEventListener("click", yes);
      cancel.addEventListener("click", no);
      dialog.addEventListener("cancel", no);
      dialog.showModal();
      ok.focus();
    });
  }

  // bpmn-js and dmn-js report import errors in English; these are the ones a file can cause.
  var IMPORT_ERRORS = [
    [/unparsable content/i, "js_unparsable"],
    [/no diagram to display|no displayable contents/i, "js_no_diagram"],
    [/failed to parse document as <bpmn:/i, "js_not_bpmn"],
    [/failed to parse document as <dmn:/i, "js_not_dmn"],
    [/(BPMNDiagram|BPMNPlane|DMNDiagram) <.*> not found/i, "js_no_diagram"]
  ];

  function importReason(error, messages) {
    var text = (error && error.message) || String(error);
    for (var i = 0; i < IMPORT_ERRORS.length; i += 1) {
      if (IMPORT_ERRORS[i][0].test(text)) { return messages[IMPORT_ERRORS[i][1]]; }
    }
    return null;
  }

  window.KimPublishDialog = { summary: summary, confirm: confirm, importReason: importReason, format: format };
})();
