/* The import run page: poll the run's progress until it is done or failed, then reload the page
   once so the result and the rejected rows appear. */
(function () {
  var box = document.getElementById("import-run");
  if (!box || box.getAttribute("data-finished") === "1") { return; }
  var url = box.getAttribute("data-progress-url");
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        set("import-state", run.state_label);
        set("import-processed", run.processed);
        set("import-total", run.total);
        var bar = document.getElementById("import-progress");
        if (bar && run.total) { bar.style.width = Math.floor(100 * run.processed / run.total) + "%"; }
        if (run.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
