/* Search-as-you-type selects for relations to big tables (officers, units, requests).
   Filters are added to the page after load, so new selects are picked up as they appear. */
(function ($) {
  function init(el) {
    var $el = $(el);
    if ($el.data("sitthiReady")) { return; }
    $el.data("sitthiReady", true);
    $el.select2({
      theme: "bootstrap",
      allowClear: true,
      placeholder: $el.data("placeholder") || "",
      minimumInputLength: 1,
      ajax: {
        url: $el.data("url"),
        dataType: "json",
        delay: 250,
        data: function (params) { return { q: params.term }; },
        processResults: function (data) { return { results: data.results }; }
      }
    });
  }
  function scan(root) { $(root).find("select.sitthi-ajax-select").each(function () { init(this); }); }
  $(function () {
    scan(document);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) { m.addedNodes.forEach(function (n) { if (n.nodeType === 1) { scan(n); } }); });
    }).observe(document.body, { childList: true, subtree: true });
  });
})(jQuery);
