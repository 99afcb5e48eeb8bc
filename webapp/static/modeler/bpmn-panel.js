// The modeler's side panel: edits what the engine reads from a BPMN element, written exactly
// where engine/bpmn/metadata.py looks for it:
//   lane name = office code; user task properties dueIn, escalateAfter, remindBefore, formKey
//   as <spiffworkflow:properties><spiffworkflow:property name= value=/>; camunda:candidateGroups
//   and camunda:assignee as attributes; sequence flow conditions and timer values as
//   bpmn:FormalExpression. Every change goes through bpmn-js' modeling commands, so undo works
//   and the page notices unsaved changes.
(function () {
  "use strict";

  var SPIFF_PROPERTIES = "spiffworkflow:Properties";
  var CAMUNDA_PROPERTIES = "camunda:Properties";
  var TASK_PROPERTIES = ["dueIn", "escalateAfter", "remindBefore", "formKey"];
  var CAMUNDA_ALIAS = { dueIn: "camunda:dueDate", formKey: "camunda:formKey" };
  var TIMER_TYPES = ["timeDuration", "timeDate", "timeCycle"];

  function is(bo, type) { return bo && typeof bo.$instanceOf === "function" && bo.$instanceOf(type); }

  function extensionValues(bo) {
    return (bo.extensionElements && bo.extensionElements.get("values")) || [];
  }

  function propertyLists(bo, type) {
    return extensionValues(bo).filter(function (v) { return v.$type === type; });
  }

  function readProperty(bo, name) {
    // Same precedence as the engine: spiffworkflow beats camunda properties, which beat the
    // camunda attribute aliases.
    var value = null;
    [CAMUNDA_PROPERTIES, SPIFF_PROPERTIES].forEach(function (type) {
      propertyLists(bo, type).forEach(function (list) {
        (list.get(type === SPIFF_PROPERTIES ? "properties" : "values") || []).forEach(function (p) {
          if (p.name === name && p.value !== undefined) { value = p.value; }
        });
      });
    });
    if ((value === null || value === "") && CAMUNDA_ALIAS[name]) { value = bo.get(CAMUNDA_ALIAS[name]) || null; }
    return value || "";
  }

  function timerDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0] || null;
  }

  function kindOf(element) {
    var bo = element.businessObject;
    if (is(bo, "bpmn:Lane")) { return "lane"; }
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) { return "userTask"; }
    if (is(bo, "bpmn:SequenceFlow")) { return "sequenceFlow"; }
    if (is(bo, "bpmn:Event") && timerDefinition(bo)) { return "timer"; }
    return "other";
  }

  function Panel(modeler, root, offices) {
    this.modeler = modeler;
    this.root = root;
    this.offices = offices;
    this.element = null;
    this.modeling = modeler.get("modeling");
    this.moddle = modeler.get("moddle");
    this.form = root.querySelector("#panel-form");
    this.empty = root.querySelector("#panel-empty");
    this.fields = {};
    var self = this;
    root.querySelectorAll("[data-prop]").forEach(function (input) {
      self.fields[input.dataset.prop] = input;
      var eventName = input.tagName === "SELECT" ? "change" : "input";
      input.addEventListener(eventName, function () { self.apply(input.dataset.prop, input.value); });
    });
    this.form.addEventListener("submit", function (event) { event.preventDefault(); });
    var eventBus = modeler.get("eventBus");
    eventBus.on("selection.changed", function (event) {
      var selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      self.show(selected && selected.labelTarget ? selected.labelTarget : selected);
    });
    eventBus.on("elements.changed", function (event) {
      if (!self.element) { return; }
      var current = self.modeler.get("elementRegistry").get(self.element.id);
      if (!current) { self.show(null); return; }
      if (event.elements.indexOf(current) !== -1 || current !== self.element) { self.show(current, true); }
    });
  }

  Panel.prototype.show = function (element, keepFocus) {
    this.element = element;
    var visible = !!element && element.type !== "bpmn:Process" && element.type !== "bpmn:Collaboration";
    this.form.hidden = !visible;
    this.empty.hidden = visible;
    if (!visible) { return; }
    var bo = element.businessObject;
    var kind = kindOf(element);
    this.root.querySelectorAll("[data-for]").forEach(function (group) { group.hidden = group.dataset.for !== kind; });
    this.root.querySelector("#p-id").textContent = bo.id;
    this.root.querySelector("#p-type").textContent = bo.$type.replace("bpmn:", "");
    var values = { name: bo.name || "" };
    if (kind === "lane") { values.office = this.officeCode(bo.name || ""); }
    if (kind === "userTask") {
      TASK_PROPERTIES.forEach(function (name) { values[name] = readProperty(bo, name); });
      values.candidateGroups = bo.get("camunda:candidateGroups") || "";
      values.assignee = bo.get("camunda:assignee") || "";
    }
    if (kind === "sequenceFlow") { values.condition = (bo.conditionExpression && bo.conditionExpression.body) || ""; }
    if (kind === "timer") {
      var definition = timerDefinition(bo);
      var type = TIMER_TYPES.filter(function (t) { return definition.get(t); })[0] || "timeDuration";
      values.timerType = type;
      values.timerValue = (definition.get(type) && definition.get(type).body) || "";
    }
    var focused = document.activeElement;
    var self = this;
    Object.keys(values).forEach(function (prop) {
      var input = self.fields[prop];
      if (!input || (keepFocus && input === focused)) { return; }
      if (prop === "office" && values.office && !input.querySelector("option[value='" + values.office + "']")) {
        input.appendChild(new Option(values.office, values.office));
      }
      input.value = values[prop];
    });
  };

  Panel.prototype.officeCode = function (laneName) {
    var wanted = laneName.trim().toLowerCase();
    var match = this.offices.filter(function (o) { return o.code.toLowerCase() === wanted || o.name.toLowerCase() === wanted; })[0];
    return match ? match.code : laneName.trim();
  };

  Panel.prototype.apply = function (prop, value) {
    var element = this.element;
    if (!element) { return; }
    if (prop === "name") {
      this.modeling.updateProperties(element, { name: value || undefined });
    } else if (prop === "office") {
      if (value) { this.modeling.updateProperties(element, { name: value }); }
    } else if (TASK_PROPERTIES.indexOf(prop) !== -1) {
      this.writeProperty(element, prop, value.trim());
    } else if (prop === "candidateGroups" || prop === "assignee") {
      var attrs = {};
      attrs["camunda:" + prop] = value.trim() || undefined;
      this.modeling.updateProperties(element, attrs);
    } else if (prop === "condition") {
      var expression = value.trim() ? this.moddle.create("bpmn:FormalExpression", { body: value }) : undefined;
      this.modeling.updateProperties(element, { conditionExpression: expression });
    } else if (prop === "timerType" || prop === "timerValue") {
      this.writeTimer(element, this.fields.timerType.value, this.fields.timerValue.value.trim());
    }
  };

  Panel.prototype.writeProperty = function (element, name, value) {
    var bo = element.businessObject;
    var modeling = this.modeling;
    var extensions = bo.extensionElements;
    if (!extensions) {
      if (!value) { return; }
      extensions = this.moddle.create("bpmn:ExtensionElements", { values: [] });
      extensions.$parent = bo;
      modeling.updateProperties(element, { extensionElements: extensions });
    }
    var list = propertyLists(bo, SPIFF_PROPERTIES)[0];
    if (!list && value) {
      list = this.moddle.create(SPIFF_PROPERTIES, { properties: [] });
      list.$parent = extensions;
      modeling.updateModdleProperties(element, extensions, { values: extensions.get("values").concat([list]) });
    }
    if (list) {
      var existing = list.get("properties").filter(function (p) { return p.name === name; })[0];
      if (!value && existing) {
        modeling.updateModdleProperties(element, list, {
          properties: list.get("properties").filter(function (p) { return p !== existing; }) });
      } else if (value && existing) {
        modeling.updateModdleProperties(element, existing, { value: value });
      } else if (value) {
        var property = this.moddle.create("spiffworkflow:Property", { name: name, value: value });
        property.$parent = list;
        modeling.updateModdleProperties(element, list, { properties: list.get("properties").concat([property]) });
      }
    }
    // A file from Camunda Modeler may hold the same setting elsewhere; keep one truth.
    propertyLists(bo, CAMUNDA_PROPERTIES).forEach(function (camunda) {
      camunda.get("values").forEach(function (p) {
        if (p.name === name) { modeling.updateModdleProperties(element, p, { value: value || undefined }); }
      });
    });
    if (CAMUNDA_ALIAS[name] && bo.get(CAMUNDA_ALIAS[name])) {
      var alias = {};
      alias[CAMUNDA_ALIAS[name]] = value || undefined;
      modeling.updateProperties(element, alias);
    }
  };

  Panel.prototype.writeTimer = function (element, type, value) {
    var definition = timerDefinition(element.businessObject);
    var update = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    if (value) {
      var expression = this.moddle.create("bpmn:FormalExpression", { body: value });
      expression.$parent = definition;
      update[type] = expression;
    }
    this.modeling.updateModdleProperties(element, definition, update);
  };

  function fillOptions(select, datalist, offices) {
    offices.forEach(function (o) {
      select.appendChild(new Option(o.code + " – " + o.name, o.code));
      var option = document.createElement("option");
      option.value = o.code;
      option.label = o.name;
      datalist.appendChild(option);
    });
  }

  window.KimBpmnPanel = {
    attach: function (modeler, root, offices, forms) {
      fillOptions(root.querySelector("#p-office"), root.querySelector("#offices-list"), offices);
      var formsList = root.querySelector("#forms-list");
      forms.forEach(function (f) {
        var option = document.createElement("option");
        option.value = f.key;
        if (f.title) { option.label = f.title; }
        formsList.appendChild(option);
      });
      return new Panel(modeler, root, offices);
    },
    readProperty: readProperty
  };
})();
