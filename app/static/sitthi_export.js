/* An export's run page: poll the run until it is done or failed, then reload the page once. A
   file finished while its page watched (?watch=1: the page the export button leads to) is
   downloaded at once, as a direct download was, and only once. */
(function () {
  var box = document.getElementById("export-run");
  if (!box) { return; }
  var watching = /[?&]watch=1/.test(window.location.search);
  var here = window.location.pathname;
  if (box.getAttribute("data-finished") === "1") {
    var link = document.getElementById("export-download");
    if (watching) {
      window.history.replaceState(null, "", here);
      if (link) { link.click(); }
    }
    return;
  }
  var url = box.getAttribute("data-progress-url");
  function set(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        set("export-state", run.state_label);
        set("export-processed", run.processed);
        set("export-total", run.total);
        var bar = document.getElementById("export-progress");
        if (bar && run.total) { bar.style.width = Math.floor(100 * run.processed / run.total) + "%"; }
        if (run.finished) { window.location.replace(here + "?watch=1"); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 300);
})();
