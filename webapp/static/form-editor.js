// Live preview for the form editor: after a pause in typing, the schema and UI hints are sent
// to POST /api/v1/forms/preview and the rendered fields replace the preview; problems are shown
// under the text area they concern. Saving stays a plain form post (works without JavaScript).
(function () {
  "use strict";
  var form = document.getElementById("form-editor");
  var preview = document.getElementById("preview");
  if (!form || !preview || !window.fetch) { return; }
  var areas = { schema: document.getElementById("schema"), ui: document.getElementById("ui") };
  var state = document.getElementById("preview-state");
  var timer = null;
  var sequence = 0;

  function showErrors(grouped) {
    ["schema", "ui"].forEach(function (name) {
      var box = document.getElementById(name + "-err");
      var messages = grouped[name] || [];
      box.textContent = "";
      messages.forEach(function (text) {
        var p = document.createElement("p");
        p.textContent = text;
        box.appendChild(p);
      });
      areas[name].setAttribute("aria-invalid", messages.length ? "true" : "false");
      areas[name].parentNode.classList.toggle("has-error", messages.length > 0);
    });
  }

  function group(fields) {
    var grouped = { schema: [], ui: [] };
    Object.keys(fields || {}).forEach(function (field) {
      var dot = field.indexOf(".");
      var area = (dot < 0 ? field : field.slice(0, dot)) === "ui" ? "ui" : "schema";
      var where = dot < 0 ? "" : field.slice(dot + 1);
      grouped[area].push(where ? where + ": " + fields[field] : fields[field]);
    });
    return grouped;
  }

  function parse(name, errors) {
    var text = areas[name].value.trim() || (name === "ui" ? "{}" : "");
    try {
      return JSON.parse(text);
    } catch (error) {
      errors[name] = [form.dataset.msgJson + " " + error.message];
      return undefined;
    }
  }

  function refresh() {
    var errors = {};
    var body = { schema: parse("schema", errors), ui: parse("ui", errors) };
    if (errors.schema || errors.ui) {
      showErrors(errors);
      preview.dataset.ready = "invalid";
      state.textContent = form.dataset.msgStale;
      return;
    }
    var mine = ++sequence;
    state.textContent = form.dataset.msgBusy;
    fetch(form.dataset.previewUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (mine !== sequence) { return; }  // a newer request is under way
      if (result.status === 200) {
        showErrors({});
        preview.innerHTML = result.data.html;  // rendered and escaped by the server's template
        preview.dataset.ready = "true";
        state.textContent = "";
      } else {
        showErrors(result.status === 422 ? group(result.data.fields) : { schema: [result.data.message] });
        preview.dataset.ready = "invalid";
        state.textContent = form.dataset.msgStale;
      }
    }).catch(function (error) {
      state.textContent = form.dataset.msgFailed + " " + error.message;
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }
  areas.schema.addEventListener("input", schedule);
  areas.ui.addEventListener("input", schedule);
})();
