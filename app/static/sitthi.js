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
      language: {
        inputTooShort: function () { return $el.data("msgShort"); },
        noResults: function () { return $el.data("msgNone"); },
        searching: function () { return $el.data("msgSearching"); },
        errorLoading: function () { return $el.data("lastError") || $el.data("msgError"); }
      },
      ajax: {
        url: $el.data("url"),
        dataType: "json",
        delay: 250,
        data: function (params) {
          var query = { q: params.term };
          var toggle = $el.data("scopeToggle");
          if (toggle && $("#" + toggle).is(":checked")) { query.nationwide = 1; }
          return query;
        },
        processResults: function (data) { return { results: data.results }; },
        // A refusal says why in the user's language (e.g. too many searches: wait N seconds).
        transport: function (params, success, failure) {
          var request = $.ajax(params);
          request.then(success);
          request.fail(function (xhr) {
            $el.data("lastError", (xhr.responseJSON && xhr.responseJSON.message) || "");
            failure.apply(this, arguments);
          });
          return request;
        }
      }
    });
  }
  function scan(root) { $(root).find("select.sitthi-ajax-select").each(function () { init(this); }); }
  $(function () {
    // Bulk decisions from an inbox carry the comment typed above the list.
    $(document).on("submit", "#action_form", function () {
      var comment = $("#sitthi-bulk-comment");
      if (comment.length) {
        $(this).find("input[name=comment]").remove();
        $("<input type='hidden' name='comment'>").val(comment.val()).appendTo(this);
      }
    });
    // Any other field above a list marked data-bulk-field="name" (a reason, a date) goes along too.
    $(document).on("submit", "#action_form", function () {
      var form = $(this);
      $("[data-bulk-field]").each(function () {
        var name = $(this).data("bulkField");
        form.find("input[type=hidden]").filter(function () { return this.name === name; }).remove();
        var value = $(this).is(":checkbox") ? ($(this).is(":checked") ? $(this).val() : "") : $(this).val();
        $("<input type='hidden'>").attr("name", name).val(value).appendTo(form);
      });
    });
    // FAB's empty choice has no text, and select2 then shows its value "__None".
    $('select option[value="__None"]').each(function () {
      if (!$(this).text()) { $(this).text("\u2014"); $(this).parent().trigger("change.select2"); }
    });
    scan(document);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) { m.addedNodes.forEach(function (n) { if (n.nodeType === 1) { scan(n); } }); });
    }).observe(document.body, { childList: true, subtree: true });
  });
})(jQuery);

/* A button that asks before it acts (data-confirm="question"): the Content-Security-Policy
   allows no inline onclick, so the question is asked here for every such button. */
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

/* The same for a form (data-confirm-submit="question"), asked when it is sent. */
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.hasAttribute && form.hasAttribute("data-confirm-submit")
      && !window.confirm(form.getAttribute("data-confirm-submit"))) {
    event.preventDefault();
  }
});

/* FAB's list script raises its alerts with English text ("No row selected"): show the translation
   the alert template carries (app/templates/appbuilder/general/alert.html). */
(function ($) {
  var original = window.ab_alert;
  if (!original) { return; }
  window.ab_alert = function (text) {
    var translations = $("#modal-alert").data("translations") || {};
    original(translations[text] || text);
  };
})(jQuery);

/* Assign function: once an officer is chosen, the functions they cannot receive (position level,
   duty line, already held) are greyed out with the reason, as the server would refuse them. */
(function ($) {
  $(function () {
    var $form = $("#assign-form");
    if (!$form.length) { return; }
    var $officer = $form.find("select[name=officer]");
    var $function = $form.find("select[name=function]");
    $function.find("option").each(function () { $(this).data("label", $(this).text()); });
    function restore() {
      $function.find("option").each(function () {
        $(this).prop("disabled", false).text($(this).data("label"));
      });
    }
    $officer.on("change", function () {
      restore();
      var officer = $officer.val();
      if (!officer) { return; }
      $.getJSON($form.data("functionsUrl"), { officer: officer }).done(function (data) {
        $.each(data.functions || [], function (_i, f) {
          var $option = $function.find("option[value='" + f.id + "']");
          if (!f.allowed) {
            $option.prop("disabled", true).text($option.data("label") + " — " + f.reason);
            if ($option.is(":selected")) { $function.val(""); }
          }
        });
      });
    });
  });
})(jQuery);
