// The modeler page: loads a deployed version or a draft into bpmn-js (BPMN) or dmn-js (DMN),
// and talks to the JSON API for everything else: drafts (save), model checks (Prüfen),
// publishing and approval, and uploading a file. The page's data-* attributes say what to
// open; texts come translated from the server (data-messages).
//
// Publishing never stores what the owner did not see: the check runs first (nothing is stored
// when it fails), a dialog shows what changes (publish-dialog.js), and only then does anything
// get published. "Hochladen und veröffentlichen" sends the opened file's bytes unchanged, and
// only a file that opened; a file that did not open leaves the previous diagram in place.
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  if (!app) { return; }
  var data = app.dataset;
  var kind = data.kind;
  var messages = JSON.parse(data.messages);
  var API = "/api/v1";
  var state = {
    key: data.key, draftId: data.draftId ? Number(data.draftId) : null, draft: null,
    definitionVersion: data.version ? Number(data.version) : null,
    definitionId: data.definitionId ? Number(data.definitionId) : null,
    filename: data.key + (kind === "dmn" ? ".dmn" : ".bpmn"), dirty: false, file: null,
    markers: [], overlays: []
  };
  var canvasEl = document.getElementById("canvas");
  var statusEl = document.getElementById("modeler-status");
  var errorEl = document.getElementById("modeler-error");
  var modeler = null;
  var buttons = {};
  ["save", "check", "publish", "approve", "discard", "download", "upload-publish"].forEach(function (name) {
    buttons[name] = document.getElementById("btn-" + name);
  });

  var dialogs = window.KimPublishDialog;
  var format = dialogs.format;

  function say(text) { errorEl.hidden = true; errorEl.textContent = ""; statusEl.textContent = text; }

  function fail(text) {
    statusEl.textContent = "";
    errorEl.textContent = text;
    errorEl.hidden = false;
  }

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") { options.headers["X-CSRF-Token"] = data.csrf; }
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (_e) { json = null; }
        return { status: response.status, ok: response.ok, body: json, text: text, headers: response.headers };
      });
    });
  }

  function apiError(result) {
    var body = result.body || {};
    var fields = body.fields ? Object.keys(body.fields).map(function (k) { return k + ": " + body.fields[k]; }) : [];
    return messages.error + " " + result.status + ": " + (body.message || result.text || "") +
      (fields.length ? " (" + fields.join("; ") + ")" : "");
  }

  // --- problems on the diagram -------------------------------------------------------------

  function clearProblems() {
    if (kind === "bpmn" && modeler) {
      var canvas = modeler.get("canvas");
      state.markers.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
      modeler.get("overlays").remove({ type: "kim-problem" });
    }
    state.markers = [];
    document.getElementById("problem-list").textContent = "";
    document.getElementById("problems").hidden = true;
  }

  function selectElement(id) {
    if (kind !== "bpmn") { return; }
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return; }
    modeler.get("selection").select(element);
    var canvas = modeler.get("canvas");
    if (typeof canvas.scrollToElement === "function") { canvas.scrollToElement(element); }
  }

  // ``elsewhere``: the problems are of a file that is not on the canvas (one that did not open),
  // so they are listed but never marked on the diagram that is shown.
  function showProblems(problems, elsewhere) {
    clearProblems();
    if (!problems || !problems.length) { return; }
    var list = document.getElementById("problem-list");
    var registry = kind === "bpmn" && !elsewhere ? modeler.get("elementRegistry") : null;
    problems.forEach(function (problem) {
      var severity = problem.severity === "warning" ? "warning" : "error";
      var item = document.createElement("li");
      item.className = "problem-" + severity;
      var label = (severity === "warning" ? messages.warning_label : messages.error_label) + " – " +
        (problem.element_id || messages.whole_model) + ": " + problem.message;
      var element = registry && problem.element_id ? registry.get(problem.element_id) : null;
      if (element) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.dataset.elementId = problem.element_id;
        button.textContent = label;
        button.addEventListener("click", function () { selectElement(problem.element_id); });
        item.appendChild(button);
        var marker = "kim-problem-" + severity;
        modeler.get("canvas").addMarker(element, marker);
        state.markers.push([element, marker]);
        var badge = document.createElement("span");
        badge.className = "kim-problem-badge " + marker;
        badge.textContent = "!";
        badge.title = problem.message;
        modeler.get("overlays").add(element, "kim-problem", { position: { top: -10, right: 10 }, html: badge });
      } else {
        item.textContent = label;
      }
      list.appendChild(item);
    });
    document.getElementById("problems").hidden = false;
  }

  // --- loading ---------------------------------------------------------------------------

  function showWarnings(warnings) {
    var box = document.getElementById("import-warnings");
    var list = box.querySelector("ul");
    list.textContent = "";
    var lost = (warnings || []).filter(function (w) { return !/unknown attribute/.test(w.message); });
    lost.forEach(function (w) {
      var item = document.createElement("li");
      item.textContent = w.message;
      list.appendChild(item);
    });
    box.hidden = lost.length === 0;
  }

  // Some tools (Activiti's exports, for one) bind the prefix "camunda" to their own namespace.
  // bpmn-js cannot write one prefix for two namespaces, so such a file could be opened but never
  // saved; the prefix is renamed instead - names keep their namespace, so nothing changes meaning.
  var CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn";

  function withOwnPrefixes(xml) {
    var bound = /xmlns:camunda="([^"]*)"/.exec(xml);
    if (!bound || bound[1] === CAMUNDA_NS) { return xml; }
    var prefix = /activiti/i.test(bound[1]) ? "activiti" : "vendor";
    while (xml.indexOf("xmlns:" + prefix + "=") !== -1) { prefix += "x"; }
    return xml.replace(/xmlns:camunda=/g, "xmlns:" + prefix + "=")
      .replace(/(<\/?|\s)camunda:/g, "$1" + prefix + ":");
  }

  // The whole diagram in view, right of the palette: bpmn-js's "fit-viewport" puts the pool's left
  // edge, where the lane labels are, under the palette.
  function fitBesidePalette() {
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport");
    var palette = canvasEl.querySelector(".djs-palette");
    var box = canvas.viewbox();
    if (!palette || !box.inner.width || !box.inner.height) { return; }
    var margin = 12;
    var gutter = palette.getBoundingClientRect().right - canvas.getContainer().getBoundingClientRect().left + margin;
    var scale = Math.min(1, (box.outer.width - gutter - margin) / box.inner.width,
      (box.outer.height - 2 * margin) / box.inner.height);
    if (scale <= 0) { return; }
    canvas.viewbox({ x: box.inner.x - gutter / scale, y: box.inner.y - margin / scale,
      width: box.outer.width / scale, height: box.outer.height / scale });
  }

  function importXML(xml) {
    clearProblems();
    return modeler.importXML(withOwnPrefixes(xml)).then(function (result) {
      showWarnings(result.warnings);
      if (kind === "bpmn") {
        fitBesidePalette();
      } else {
        var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
        if (table) { return modeler.open(table); }
      }
      return null;
    }).then(function () {
      state.dirty = false;
      canvasEl.dataset.ready = "true";
    });
  }

  function loadInitial() {
    if (state.draftId) {
      return request("GET", API + "/model-drafts/" + state.draftId).then(function (result) {
        if (!result.ok) { throw new Error(apiError(result)); }
        useDraft(result.body);
        return importXML(result.body.content).then(function () { showProblems(result.body.problems); });
      });
    }
    if (data.initialXml) { return importXML(data.initialXml); }
    return fetch(data.sourceUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(messages.error + " " + response.status); }
      var disposition = response.headers.get("Content-Disposition") || "";
      var named = /filename="?([^";]+)"?/.exec(disposition);
      if (named) { state.filename = named[1]; }
      return response.text();
    }).then(importXML);
  }

  function statusLabel(status) { return messages["status_" + status] || status; }

  function useDraft(draft) {
    state.draft = draft;
    state.draftId = draft.id;
    state.key = draft.key || state.key;
    state.filename = draft.filename || state.filename;
    state.definitionId = draft.published_definition_id || draft.base_definition_id || state.definitionId;
    var submitted = draft.status === "submitted";
    buttons.approve.hidden = !(submitted && draft.submitted_by && draft.submitted_by !== data.user);
    buttons.discard.hidden = !(draft.status === "draft" || submitted);
    say(format(messages.draft_status, { id: draft.id, status: statusLabel(draft.status) }));
  }

  function listOpenDrafts() {
    var url = API + "/model-drafts?key=" + encodeURIComponent(state.key);
    return request("GET", url).then(function (result) {
      if (!result.ok || !result.body) { return; }
      var open = (result.body.items || []).filter(function (d) {
        return (d.status === "draft" || d.status === "submitted") && d.id !== state.draftId && d.kind === kind;
      });
      var list = document.getElementById("draft-links");
      list.textContent = "";
      open.forEach(function (d) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "/modeler/" + kind + "/" + encodeURIComponent(d.key) + "?draft=" + d.id;
        link.textContent = messages.open_drafts + ": " +
          format(messages.draft_status, { id: d.id, status: statusLabel(d.status) }) +
          " (" + (d.updated_by || "") + ")";
        item.appendChild(link);
        list.appendChild(item);
      });
      list.hidden = open.length === 0;
    }).then(function () { app.dataset.draftsLoaded = "true"; });
  }

  // --- actions ---------------------------------------------------------------------------

  function currentXML() {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  function rememberDraftInUrl() {
    var url = "/modeler/" + kind + "/" + encodeURIComponent(state.key) + "?draft=" + state.draftId;
    window.history.replaceState(null, "", url);
  }

  function saveDraft() {
    return currentXML().then(function (xml) {
      var editable = state.draft && (state.draft.status === "draft" || state.draft.status === "submitted");
      if (editable) {
        return request("PUT", API + "/model-drafts/" + state.draftId, { content: xml, version: state.draft.version });
      }
      var body = { filename: state.filename, content: xml };
      if (state.definitionId && !state.file) { body.base_definition_id = state.definitionId; }
      return request("POST", API + "/model-drafts", body);
    }).then(function (result) {
      if (result.status === 409) { throw new Error((result.body && result.body.message) || messages.stale); }
      if (!result.ok) { throw new Error(apiError(result)); }
      useDraft(result.body);
      state.dirty = false;
      rememberDraftInUrl();
      say(format(messages.saved, { version: result.body.version }));
      return result.body;
    });
  }

  function errorCount(problems) {
    return (problems || []).filter(function (p) { return p.severity !== "warning"; }).length;
  }

  // The server's check of a text (the editor's XML) or of a file's bytes, unchanged.
  function serverCheck(body) {
    return request("POST", API + "/model-checks", body).then(function (result) {
      if (!result.ok) { throw new Error(apiError(result)); }
      return result.body;
    });
  }

  function fileForm(file) {
    var form = new FormData();
    form.append("file", file, file.name);
    return form;
  }

  function check() {
    return currentXML().then(function (xml) {
      return serverCheck({ filename: state.filename, content: xml });
    }).then(function (checked) {
      showProblems(checked.problems);
      say(checked.problems.length ? messages.problems + ": " + checked.problems.length : messages.check_ok);
      return checked;
    });
  }

  var confirmDialog = document.getElementById("publish-confirm");
  var confirmLabel = document.getElementById("btn-confirm-publish").textContent;

  // After the check passed: show what changes and let the owner decide. Resolves true to go on.
  // ``approving``: a second owner releases a submitted draft (it is published, not submitted).
  function confirmed(checked, approving) {
    showProblems(checked.problems);
    if (!checked.ok) {
      throw new Error(format(messages.check_refused, { count: errorCount(checked.problems) }));
    }
    var nodes = dialogs.summary(checked.changes, messages, state.key, !approving && data.approval === "true");
    document.getElementById("btn-confirm-publish").textContent = approving ? messages.confirm_approve : confirmLabel;
    return dialogs.confirm(confirmDialog, nodes).then(function (yes) {
      if (!yes) { say(messages.cancelled); }
      return yes;
    });
  }

  function showHeading(key, name, version) {
    document.getElementById("heading-name").textContent = name || key;
    document.getElementById("heading-meta").textContent = key + " · " + messages.version_label + " " + version;
    document.title = document.title.replace(/: .* – /, ": " + (name || key) + " – ");
  }

  function published(result, text) {
    state.draft = null;
    state.draftId = null;
    state.definitionVersion = result.body.version;
    if (result.body.definition_id) { state.definitionId = result.body.definition_id; }
    state.file = null;
    state.dirty = false;
    state.key = result.body.process_id || state.key;
    buttons.approve.hidden = true;
    buttons.discard.hidden = true;
    clearProblems();
    var url = "/modeler/" + kind + "/" + encodeURIComponent(state.key) + "?version=" + result.body.version;
    window.history.replaceState(null, "", url);
    showHeading(state.key, result.body.name, result.body.version);
    say(format(text, { version: result.body.version }));
  }

  function refusedByServer(result) {
    if (result.status === 422 && result.body) {
      var fields = result.body.fields || {};
      showProblems(result.body.problems || Object.keys(fields).map(function (id) {
        return { element_id: id === "file" ? null : id, severity: "error", message: fields[id] };
      }));
      throw new Error(messages.nothing_published + " " + (result.body.message || messages.problems));
    }
    throw new Error(messages.nothing_published + " " + apiError(result));
  }

  // 201 published, 202 submitted for approval (the server made a submitted draft), else refused.
  function publishedOrSubmitted(result) {
    if (result.status === 201) { return published(result, messages.published); }
    if (result.status === 202) {
      state.file = null;
      state.dirty = false;
      if (result.body && result.body.draft) { useDraft(result.body.draft); rememberDraftInUrl(); }
      say(messages.submitted);
      return null;
    }
    return refusedByServer(result);
  }

  function ownDraft() {
    return !!(state.draftId && state.draft && (state.draft.status === "draft" || state.draft.status === "submitted"));
  }

  // A draft the owner saved is saved again (it stays theirs, whatever happens); anything else is
  // published as text in one request, so a refusal leaves nothing behind - no version, no draft.
  function publish() {
    var xml;
    return currentXML().then(function (text) {
      xml = text;
      return serverCheck({ filename: state.filename, content: xml });
    }).then(function (checked) { return confirmed(checked, false); }).then(function (yes) {
      if (!yes) { return null; }
      if (!ownDraft()) {
        var file = new File([xml], state.filename, { type: "application/xml" });
        return request("POST", data.uploadUrl, fileForm(file)).then(publishedOrSubmitted);
      }
      var saving = state.dirty ? saveDraft() : Promise.resolve(state.draft);
      return saving.then(function () {
        return request("POST", API + "/model-drafts/" + state.draftId + "/publish");
      }).then(publishedOrSubmitted);  // a submission bumps the draft's version: 202 carries the new one
    });
  }

  // The approver sees what the submitted draft changes; approving names the draft version they saw
  // (409 if it changed meanwhile).
  function approve() {
    var reviewed;
    return request("GET", API + "/model-drafts/" + state.draftId).then(function (result) {
      if (!result.ok) { throw new Error(apiError(result)); }
      reviewed = result.body;
      return serverCheck({ filename: reviewed.filename, content: reviewed.content });
    }).then(function (checked) { return confirmed(checked, true); }).then(function (yes) {
      if (!yes) { return null; }
      var body = { version: reviewed.version };
      return request("POST", API + "/model-drafts/" + state.draftId + "/approve", body).then(function (result) {
        if (!result.ok) { return refusedByServer(result); }
        return published(result, messages.approved);
      });
    });
  }

  function discard() {
    if (!window.confirm(messages.confirm_discard)) { return Promise.resolve(); }  // nothing is undone by a click
    return request("POST", API + "/model-drafts/" + state.draftId + "/discard").then(function (result) {
      if (!result.ok) { throw new Error(apiError(result)); }
      state.draft = null;
      state.draftId = null;
      buttons.discard.hidden = true;
      buttons.approve.hidden = true;
      say(messages.discarded);
    });
  }

  function download() {
    return currentXML().then(function (xml) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      link.download = state.filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  // The diagram on the canvas, to put back when another file does not open (bpmn-js may already
  // have swapped in the other file's definitions, and saving would then write that file).
  function snapshot() {
    if (canvasEl.dataset.ready !== "true") { return Promise.resolve(null); }
    return currentXML().then(function (xml) { return { xml: xml, dirty: state.dirty, clean: state.fileClean }; },
      function () { return null; });
  }

  function restore(previous) {
    if (!previous) {
      canvasEl.dataset.ready = "failed";  // nothing to go back to: saving and publishing refuse
      return Promise.resolve();
    }
    return importXML(previous.xml).then(function () {
      state.dirty = previous.dirty;
      state.fileClean = previous.clean;
    });
  }

  // Why a file did not open, in German: bpmn-js's reason, and what the server's check says of
  // the file's bytes (e.g. a DOCTYPE) - listed, not marked on the diagram shown.
  function refuseFile(file, error) {
    var reason = dialogs.importReason(error, messages) || messages.js_unknown;
    return request("POST", API + "/model-checks", fileForm(file)).then(function (result) {
      var body = result.body || {};
      var fields = body.fields || {};
      showProblems(body.problems || Object.keys(fields).map(function (name) {
        return { element_id: null, severity: "error", message: body.message || fields[name] };
      }), true);
      throw new Error(format(messages.open_failed, { name: file.name, reason: reason }));
    });
  }

  function openFile(file) {
    state.file = null;
    state.openFailed = null;
    return Promise.all([file.arrayBuffer(), snapshot()]).then(function (loaded) {
      var xml = new TextDecoder("utf-8").decode(loaded[0]);
      return importXML(xml).then(function () {
        state.file = file;
        state.filename = file.name;
        state.draft = null;
        state.draftId = null;
        buttons.approve.hidden = true;
        buttons.discard.hidden = true;
        state.dirty = true;  // not stored anywhere yet
        state.fileClean = true;  // unchanged: "Hochladen" sends the file's own bytes
        say(format(messages.uploaded, { name: file.name }));
      }, function (error) {
        state.openFailed = file.name;
        return restore(loaded[1]).then(function () { return refuseFile(file, error); });
      });
    });
  }

  function uploadAndPublish() {
    if (state.openFailed) { throw new Error(format(messages.upload_failed_open, { name: state.openFailed })); }
    if (!state.file) { throw new Error(messages.upload_none); }
    if (!state.fileClean) { throw new Error(format(messages.upload_changed, { name: state.file.name })); }
    var file = state.file;
    return serverCheck(fileForm(file)).then(function (checked) {
      return confirmed(checked, false);
    }).then(function (yes) {
      if (!yes) { return null; }
      return request("POST", data.uploadUrl, fileForm(file)).then(publishedOrSubmitted);
    });
  }

  // Saving or publishing needs a diagram on the canvas that came from a model, not a failed import.
  function requireDiagram(action) {
    return function () {
      if (canvasEl.dataset.ready !== "true") { throw new Error(messages.no_diagram); }
      return action();
    };
  }

  function guard(action) {
    return function () {
      Object.keys(buttons).forEach(function (b) { buttons[b].disabled = true; });
      app.setAttribute("aria-busy", "true");
      Promise.resolve().then(action).catch(function (error) { fail(error.message); }).then(function () {
        Object.keys(buttons).forEach(function (b) { buttons[b].disabled = false; });
        app.removeAttribute("aria-busy");
      });
    };
  }

  function wire() {
    buttons.save.addEventListener("click", guard(requireDiagram(saveDraft)));
    buttons.check.addEventListener("click", guard(requireDiagram(check)));
    buttons.publish.addEventListener("click", guard(requireDiagram(publish)));
    buttons.approve.addEventListener("click", guard(approve));
    buttons.discard.addEventListener("click", guard(discard));
    buttons.download.addEventListener("click", guard(requireDiagram(download)));
    buttons["upload-publish"].addEventListener("click", guard(uploadAndPublish));
    document.getElementById("file-upload").addEventListener("change", function (event) {
      var file = event.target.files[0];
      event.target.value = "";  // the same file may be chosen again after a fix
      if (file) { guard(function () { return openFile(file); })(); }
    });
    window.addEventListener("beforeunload", function (event) {
      if (state.dirty) { event.preventDefault(); event.returnValue = messages.unsaved; }
    });
  }

  function json(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function createBpmn() {
    var base = app.dataset.staticBase || "/static/modeler/";
    return Promise.all([json(base + "spiffworkflow.json"), json(base + "camunda.json"), json(API + "/offices"),
      json(API + "/forms")]).then(function (loaded) {
      modeler = new window.BpmnJS({
        container: canvasEl, keyboard: { bindTo: document },
        moddleExtensions: { spiffworkflow: loaded[0], camunda: loaded[1] }
      });
      var offices = (loaded[2] && loaded[2].items) || [];
      var forms = (loaded[3] && loaded[3].items) || [];
      window.KimBpmnPanel.attach(modeler, document.getElementById("panel"), offices, forms);
    });
  }

  function createDmn() {
    modeler = new window.DmnJS({ container: canvasEl, common: { keyboard: { bindTo: document } } });
    return Promise.resolve();
  }

  wire();
  (kind === "bpmn" ? createBpmn() : createDmn()).then(function () {
    var events = kind === "bpmn" ? modeler.get("eventBus") : null;
    if (events) { events.on("commandStack.changed", function () { state.dirty = true; state.fileClean = false; }); }
    if (kind === "dmn") {
      modeler.on("views.changed", function () {
        var viewer = modeler.getActiveViewer();
        if (viewer) {
          viewer.get("eventBus").on("commandStack.changed", function () { state.dirty = true; state.fileClean = false; });
        }
      });
    }
    window.kimModeler = { modeler: modeler, state: state, withOwnPrefixes: withOwnPrefixes };
    return loadInitial();
  }).then(listOpenDrafts).catch(function (error) {
    canvasEl.dataset.ready = "failed";
    fail(messages.load_failed + ": " + (dialogs.importReason(error, messages) || error.message));
  });
})();
