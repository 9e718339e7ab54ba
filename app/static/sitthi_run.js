/* A background run's page (an import's, an export's): poll the run until it is done or failed,
   then load the page once more so its result shows. The box names its progress address and the
   prefix of its elements' ids. A file finished while its page watched (?watch=1: the page an
   export button leads to) is downloaded at once, as a direct download was, and only once. */
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) { return; }
  var prefix = box.getAttribute("data-prefix");
  var here = window.location.pathname;
  if (box.getAttribute("data-finished") === "1") {
    if (/[?&]watch=1/.test(window.location.search)) {
      window.history.replaceState(null, "", here);
      var file = document.getElementById(prefix + "-download");
      if (file) { file.click(); }
    }
    return;
  }
  var url = box.getAttribute("data-progress-url");
  function set(name, value) { var el = document.getElementById(prefix + "-" + name); if (el) { el.textContent = value; } }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        set("state", run.state_label);
        set("processed", run.processed);
        set("total", run.total);
        var bar = document.getElementById(prefix + "-progress");
        if (bar && run.total) { bar.style.width = Math.floor(100 * run.processed / run.total) + "%"; }
        if (run.finished) { window.location.replace(here + "?watch=1"); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 300);
})();
