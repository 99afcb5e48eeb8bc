// The task form as the caseworker fills it in (progressive enhancement; the server checks all):
// focus on the first error, asterisks for fields another answer makes required, a day limit on
// dates that cannot lie in the future, and "Zeile hinzufügen" / "Zeile entfernen" for repeating rows.
(function () {
  "use strict";
  var form = document.getElementById("task-form");
  if (!form) { return; }
  var script = document.getElementById("task-form-script");
  var text = { add: script.dataset.add, remove: script.dataset.remove, required: script.dataset.required };
  var rulesNode = document.getElementById("form-rules");
  var rules = rulesNode ? JSON.parse(rulesNode.textContent) : { required_if: [], not_future: [] };

  function fieldId(name) { return "f-" + name.replace(/\./g, "-"); }

  // --- after a validation error: the first wrong field gets the focus --------------------------
  var firstError = form.querySelector("[aria-invalid='true']");
  if (firstError) { firstError.focus(); }

  // --- required because of another answer -------------------------------------------------------
  function valueOf(name) {
    var element = form.elements.namedItem(name);
    if (!element) { return undefined; }
    if (element.type === "checkbox") { return element.checked; }
    return element.value;
  }

  function markRequired(name, on) {
    var input = document.getElementById(fieldId(name));
    var label = form.querySelector("label[for='" + fieldId(name) + "']");
    if (!input || !label) { return; }
    var mark = label.querySelector(".cond-required");
    if (on && !mark) {
      mark = document.createElement("span");
      mark.className = "cond-required";
      mark.innerHTML = ' <span aria-hidden="true">*</span><span class="sr-only"></span>';
      mark.querySelector(".sr-only").textContent = "(" + text.required + ")";
      label.appendChild(mark);
    } else if (!on && mark) {
      mark.remove();
    }
    if (on) { input.setAttribute("aria-required", "true"); } else { input.removeAttribute("aria-required"); }
  }

  function applyRules() {
    var wanted = {};
    rules.required_if.forEach(function (rule) {
      var holds = String(valueOf(rule.field)) === String(rule.value);
      rule.required.forEach(function (name) { wanted[name] = wanted[name] || holds; });
    });
    Object.keys(wanted).forEach(function (name) { markRequired(name, wanted[name]); });
  }
  form.addEventListener("change", applyRules);
  applyRules();

  rules.not_future.forEach(function (name) {
    var input = document.getElementById(fieldId(name));
    if (input && rules.today) { input.setAttribute("max", rules.today); }
  });

  // --- repeating rows --------------------------------------------------------------------------
  function renumber(fieldset) {
    var name = fieldset.dataset.name;
    var pattern = new RegExp("^(f-)?" + name.replace(/\./g, "[.-]") + "[.-](\\d+|#)[.-]");
    fieldset.querySelectorAll(":scope > .row-group").forEach(function (row, index) {
      row.dataset.index = String(index);
      row.setAttribute("aria-label", fieldset.dataset.label + " " + (index + 1));
      row.querySelectorAll("[name], [id], label[for], [aria-describedby]").forEach(function (element) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
          var value = element.getAttribute(attribute);
          if (!value) { return; }
          element.setAttribute(attribute, value.split(" ").map(function (part) {
            return part.replace(pattern, function (match, prefix) {
              var sep = prefix ? "-" : ".";
              return (prefix || "") + (prefix ? name.replace(/\./g, "-") : name) + sep + index + sep;
            });
          }).join(" "));
        });
      });
    });
  }

  function removeButton(fieldset, row) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "row-remove";
    button.textContent = text.remove;
    button.addEventListener("click", function () {
      var next = row.nextElementSibling && row.nextElementSibling.classList.contains("row-group") ?
        row.nextElementSibling : row.previousElementSibling;
      row.remove();
      renumber(fieldset);
      var focusTarget = next && next.querySelector("input, select, textarea");
      (focusTarget || fieldset.querySelector(".row-add")).focus();
    });
    row.appendChild(button);
  }

  form.querySelectorAll("fieldset.rows").forEach(function (fieldset) {
    var template = fieldset.querySelector(":scope > template");
    fieldset.querySelectorAll(":scope > .row-group").forEach(function (row) { removeButton(fieldset, row); });
    var add = document.createElement("button");
    add.type = "button";
    add.className = "row-add";
    add.textContent = text.add;
    add.addEventListener("click", function () {
      var row = document.createElement("div");
      row.className = "row-group";
      row.setAttribute("role", "group");
      row.appendChild(template.content.cloneNode(true));
      fieldset.insertBefore(row, template);
      removeButton(fieldset, row);
      renumber(fieldset);
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
    });
    fieldset.appendChild(add);
  });
})();
