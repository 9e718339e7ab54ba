/* Nothing typed is lost to an expired session.

   A form sent after the session ended (idle too long, or the page open past the CSRF token's
   life) is refused by the server, which sends the user to log in and back to the form
   (app/input_guard.py: a refused token returns to the form's page with ?restore=1). This script keeps,
   in this tab only, what the form held when it was sent: its text in sessionStorage, its chosen
   files in IndexedDB (files cannot be put back any other way). When the same form opens again
   straight after that refusal, the fields and files are put back and the user is told so. Any
   other page that opens means the form landed or was left: what was kept is deleted.

   Passwords and CSRF tokens are never kept; a form marked data-keep="no" is not kept. */
(function () {
  "use strict";
  var STATE = "sitthi-kept-form";
  var DATABASE = "sitthi-kept-files";
  var MAX_AGE_MS = 2 * 60 * 60 * 1000;  // the files of a form nobody came back to do not stay

  function here() { return window.location.pathname; }
  function read() {
    try { return JSON.parse(window.sessionStorage.getItem(STATE) || "null"); } catch (e) { return null; }
  }
  function write(state) {
    try { window.sessionStorage.setItem(STATE, JSON.stringify(state)); } catch (e) { /* storage full or off */ }
  }
  function database(then) {
    if (!window.indexedDB) { return; }
    var opening = window.indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = function () { opening.result.createObjectStore("files"); };
    opening.onsuccess = function () { then(opening.result); };
  }
  function forgetFiles() {
    database(function (db) { db.transaction("files", "readwrite").objectStore("files").clear(); });
  }
  function forget() {
    window.sessionStorage.removeItem(STATE);
    forgetFiles();
  }
  function kept(form) {
    if (!form.matches || !form.matches("form") || (form.method || "").toLowerCase() !== "post") { return false; }
    return form.getAttribute("data-keep") !== "no" && !form.querySelector("input[type=password]");
  }
  // Which form of the page it was: a page may hold several (a decision, an activation, a cancel).
  function keyOf(form) {
    return form.id ? "#" + form.id : String(Array.prototype.indexOf.call(document.forms, form));
  }
  function formOf(key) {
    if (!key) { return null; }
    var form = key.charAt(0) === "#" ? document.getElementById(key.slice(1)) : document.forms[+key];
    return form && kept(form) ? form : null;
  }
  function fieldsOf(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.name === "csrf_token" || element.disabled) { return; }
      var type = (element.type || "").toLowerCase();
      if (type === "file" || type === "password" || type === "submit" || type === "button") { return; }
      if ((type === "checkbox" || type === "radio") && !element.checked) { return; }
      if (element.tagName === "SELECT" && element.multiple) {
        Array.prototype.forEach.call(element.selectedOptions, function (option) {
          fields.push([element.name, option.value, option.textContent]);
        });
        return;
      }
      var label = element.tagName === "SELECT" && element.selectedIndex >= 0
        ? element.options[element.selectedIndex].textContent : null;
      fields.push([element.name, element.value, label]);
    });
    return fields;
  }
  function keepFiles(input) {
    var form = input.form;
    if (!form || !kept(form)) { return; }
    var files = Array.prototype.slice.call(input.files || []);
    database(function (db) {
      db.transaction("files", "readwrite").objectStore("files").put(
        { path: here(), at: Date.now(), files: files }, input.name);
    });
  }

  function putBack(form, state) {
    var byName = {};
    state.fields.forEach(function (field) { (byName[field[0]] = byName[field[0]] || []).push(field); });
    Object.keys(byName).forEach(function (name) {
      var values = byName[name];
      Array.prototype.forEach.call(form.elements, function (element) {
        if (element.name !== name) { return; }
        var type = (element.type || "").toLowerCase();
        if (type === "checkbox" || type === "radio") {
          element.checked = values.some(function (v) { return v[1] === element.value; });
        } else if (element.tagName === "SELECT") {
          values.forEach(function (v) {
            var option = Array.prototype.find.call(element.options, function (o) { return o.value === v[1]; });
            if (!option) {  // a search-as-you-type select holds only what was chosen: add it back
              option = new Option(v[2] || v[1], v[1]);
              element.add(option);
            }
            option.selected = true;
          });
          if (window.jQuery) { window.jQuery(element).trigger("change"); }
        } else if (type !== "file") {
          element.value = values[0][1];
        }
      });
    });
    database(function (db) {
      var store = db.transaction("files", "readonly").objectStore("files");
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
        var getting = store.get(input.name);
        getting.onsuccess = function () {
          var entry = getting.result;
          if (!entry || entry.path !== here() || !entry.files.length || !window.DataTransfer) { return; }
          var transfer = new DataTransfer();
          entry.files.forEach(function (file) { transfer.items.add(file); });
          input.files = transfer.files;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        };
      });
    });
    var notice = document.getElementById("sitthi-kept-notice");
    if (notice) {
      var box = document.createElement("div");
      box.className = "alert alert-info sitthi-kept";
      box.setAttribute("role", "status");
      box.textContent = notice.getAttribute("data-text");
      form.parentNode.insertBefore(box, form);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!kept(form)) { return; }
    write({ path: here(), at: Date.now(), phase: "sent", form: keyOf(form), fields: fieldsOf(form) });
  }, true);
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[type=file]") && event.isTrusted) {
      keepFiles(event.target);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var state = read();
    if (!state) { forgetFiles(); return; }
    var onLogin = !!document.querySelector("form input[type=password]") && /\/login\/?$/.test(here());
    if (Date.now() - state.at > MAX_AGE_MS) { forget(); return; }
    if (onLogin) {  // sent, refused, now logging in again: keep waiting for the form
      state.phase = "login";
      write(state);
      return;
    }
    var returned = /[?&]restore=1(&|$)/.test(window.location.search) || state.phase === "login";
    var form = formOf(state.form);
    if (returned && state.path === here() && form && !document.querySelector(".has-error")) {
      putBack(form, state);
    }
    window.sessionStorage.removeItem(STATE);
    if (!returned || state.path !== here()) { forgetFiles(); }
  });
})();
