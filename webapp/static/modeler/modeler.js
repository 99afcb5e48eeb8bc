// The modeler page: loads a deployed version or a draft into bpmn-js (BPMN) or dmn-js (DMN),
// and talks to the JSON API for everything else: drafts (save), model checks (Prüfen),
// publishing and approval, and uploading a file. The page's data-* attributes say what to
// open; texts come translated from the server (data-messages).
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

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_m, name) { return values[name] !== undefined ? values[name] : ""; });
  }

  function say(text) { errorEl.hidden = true; statusEl.textContent = text; }

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

  function showProblems(problems) {
    clearProblems();
    if (!problems || !problems.length) { return; }
    var list = document.getElementById("problem-list");
    var registry = kind === "bpmn" ? modeler.get("elementRegistry") : null;
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

  function importXML(xml) {
    clearProblems();
    return modeler.importXML(withOwnPrefixes(xml)).then(function (result) {
      showWarnings(result.warnings);
      if (kind === "bpmn") {
        modeler.get("canvas").zoom("fit-viewport");
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

  function check() {
    return currentXML().then(function (xml) {
      return request("POST", API + "/model-checks", { filename: state.filename, content: xml });
    }).then(function (result) {
      if (!result.ok) { throw new Error(apiError(result)); }
      showProblems(result.body.problems);
      say(result.body.problems.length ? messages.problems + ": " + result.body.problems.length : messages.check_ok);
      return result.body;
    });
  }

  function published(result, text) {
    state.draft = null;
    state.draftId = null;
    state.definitionVersion = result.body.version;
    if (result.body.definition_id) { state.definitionId = result.body.definition_id; }
    state.file = null;
    buttons.approve.hidden = true;
    buttons.discard.hidden = true;
    clearProblems();
    var url = "/modeler/" + kind + "/" + encodeURIComponent(result.body.process_id || state.key) +
      "?version=" + result.body.version;
    window.history.replaceState(null, "", url);
    say(format(text, { version: result.body.version }));
  }

  function publish() {
    var saving = state.dirty || !state.draftId ? saveDraft() : Promise.resolve(state.draft);
    return saving.then(function () {
      return request("POST", API + "/model-drafts/" + state.draftId + "/publish");
    }).then(function (result) {
      if (result.status === 201) { return published(result, messages.published); }
      if (result.status === 202) {
        // the submission bumped the draft's version: keep the server's copy so the next save is not a conflict
        if (result.body && result.body.draft) { useDraft(result.body.draft); } else {
          state.draft.status = "submitted";
          state.draft.submitted_by = data.user;
        }
        say(messages.submitted);
        return null;
      }
      if (result.status === 422 && result.body && result.body.problems) {
        showProblems(result.body.problems);
        throw new Error(result.body.message || messages.problems);
      }
      throw new Error(apiError(result));
    });
  }

  function approve() {
    return request("POST", API + "/model-drafts/" + state.draftId + "/approve").then(function (result) {
      if (result.status === 422 && result.body && result.body.problems) {
        showProblems(result.body.problems);
        throw new Error(result.body.message || messages.problems);
      }
      if (!result.ok) { throw new Error(apiError(result)); }
      return published(result, messages.approved);
    });
  }

  function discard() {
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

  function openFile(file) {
    return file.text().then(function (xml) {
      state.file = file;
      state.filename = file.name;
      state.draft = null;
      state.draftId = null;
      return importXML(xml).then(function () {
        state.dirty = true;  // not stored anywhere yet
        state.fileClean = true;  // unchanged: "Hochladen" sends the file's own bytes
        say(format(messages.uploaded, { name: file.name }));
      });
    });
  }

  function uploadAndPublish() {
    var sending = state.file && state.fileClean ? Promise.resolve(state.file) : currentXML().then(function (xml) {
      return new File([xml], state.filename, { type: "application/xml" });
    });
    return sending.then(function (file) {
      var form = new FormData();
      form.append("file", file, file.name);
      return request("POST", data.uploadUrl, form);
    }).then(function (result) {
      if (result.status === 422 && result.body) {
        var fields = result.body.fields || {};
        showProblems(result.body.problems || Object.keys(fields).map(function (id) {
          return { element_id: id === "file" ? null : id, severity: "error", message: fields[id] };
        }));
        throw new Error(result.body.message || messages.problems);
      }
      if (result.status === 202) {
        state.file = null;
        if (result.body.draft) { useDraft(result.body.draft); rememberDraftInUrl(); }
        say(messages.submitted);
        return null;
      }
      if (!result.ok) { throw new Error(apiError(result)); }
      state.key = result.body.process_id;
      return published(result, messages.published);
    });
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
    buttons.save.addEventListener("click", guard(saveDraft));
    buttons.check.addEventListener("click", guard(check));
    buttons.publish.addEventListener("click", guard(publish));
    buttons.approve.addEventListener("click", guard(approve));
    buttons.discard.addEventListener("click", guard(discard));
    buttons.download.addEventListener("click", guard(download));
    buttons["upload-publish"].addEventListener("click", guard(uploadAndPublish));
    document.getElementById("file-upload").addEventListener("change", function (event) {
      var file = event.target.files[0];
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
        if (viewer) { viewer.get("eventBus").on("commandStack.changed", function () { state.dirty = true; }); }
      });
    }
    window.kimModeler = { modeler: modeler, state: state, withOwnPrefixes: withOwnPrefixes };
    return loadInitial();
  }).then(listOpenDrafts).catch(function (error) {
    canvasEl.dataset.ready = "failed";
    fail(messages.load_failed + ": " + error.message);
  });
})();
