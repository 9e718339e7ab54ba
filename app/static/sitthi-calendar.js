/* The calendar of every date field (input.sitthi-date, rendered by app/date_input.py).
   A Thai reader picks and reads Buddhist-Era years (17/05/2523), an English one Gregorian years;
   the server reads what is typed by the same rule (app.domain.inputs.entered_date), so typing
   and picking always agree. Built with DOM calls only: the Content-Security-Policy forbids eval
   and inline handlers. */
(function () {
  "use strict";
  var NAMES = {
    th: { months: ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
                   "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"],
          days: ["อา", "จ", "อ", "พ", "พฤ", "ศ", "ส"], today: "วันนี้", clear: "ล้าง",
          previous: "เดือนก่อน", next: "เดือนถัดไป", year: "ปี พ.ศ.", month: "เดือน" },
    en: { months: ["January", "February", "March", "April", "May", "June", "July", "August",
                   "September", "October", "November", "December"],
          days: ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"], today: "Today", clear: "Clear",
          previous: "Previous month", next: "Next month", year: "Year", month: "Month" }
  };
  var ERA_OFFSET = 543;
  var open = null;  // { input, popup, shown: first day of the month shown }
  var quiet = false;  // focusing the field after a pick must not open the calendar again

  function offset(input) { return input.getAttribute("data-era") === "be" ? ERA_OFFSET : 0; }
  function names(input) { return NAMES[input.getAttribute("lang") === "en" ? "en" : "th"]; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function isoDay(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
  }
  function typedDay(input) {
    var text = input.value.trim(), m = /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})$/.exec(text);
    if (m) {
      var day = new Date(+m[3] - offset(input), +m[2] - 1, +m[1]);
      return day.getMonth() === +m[2] - 1 ? day : null;
    }
    return isoDay(text);
  }
  function shown(input, day) {
    return pad(day.getDate()) + "/" + pad(day.getMonth() + 1) + "/" + (day.getFullYear() + offset(input));
  }
  function bounds(input) {
    return { min: isoDay(input.getAttribute("data-min")), max: isoDay(input.getAttribute("data-max")) };
  }
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function choose(day) {
    var input = open.input;
    input.value = day ? shown(input, day) : "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    close();
    quiet = true;
    input.focus();
    quiet = false;
  }

  function draw() {
    var input = open.input, popup = open.popup, label = names(input), limit = bounds(input);
    var first = open.shown, picked = typedDay(input), today = new Date();
    popup.textContent = "";
    var head = element("div", "sitthi-cal-head");
    var previous = element("button", "btn btn-default btn-xs", "\u2039");
    previous.type = "button";
    previous.setAttribute("aria-label", label.previous);
    previous.addEventListener("click", function () { move(-1); });
    var month = element("select", "sitthi-cal-month");
    month.setAttribute("aria-label", label.month);
    label.months.forEach(function (name, index) {
      var option = element("option", null, name);
      option.value = index;
      option.selected = index === first.getMonth();
      month.appendChild(option);
    });
    month.addEventListener("change", function () {
      open.shown = new Date(open.shown.getFullYear(), +month.value, 1); draw();
    });
    var year = element("select", "sitthi-cal-year");
    year.setAttribute("aria-label", label.year);
    var lowest = limit.min ? limit.min.getFullYear() : 1930;
    var highest = limit.max ? limit.max.getFullYear() : today.getFullYear() + 10;
    lowest = Math.min(lowest, first.getFullYear());
    highest = Math.max(highest, first.getFullYear());
    for (var y = highest; y >= lowest; y--) {
      var option = element("option", null, String(y + offset(input)));
      option.value = y;
      option.selected = y === first.getFullYear();
      year.appendChild(option);
    }
    year.addEventListener("change", function () {
      open.shown = new Date(+year.value, open.shown.getMonth(), 1); draw();
    });
    var next = element("button", "btn btn-default btn-xs", "\u203a");
    next.type = "button";
    next.setAttribute("aria-label", label.next);
    next.addEventListener("click", function () { move(1); });
    [previous, month, year, next].forEach(function (node) { head.appendChild(node); });
    popup.appendChild(head);

    var grid = element("table", "sitthi-cal-grid");
    var row = element("tr");
    label.days.forEach(function (name) { row.appendChild(element("th", null, name)); });
    grid.appendChild(row);
    var cursor = new Date(first.getFullYear(), first.getMonth(), 1 - first.getDay());
    for (var week = 0; week < 6; week++) {
      row = element("tr");
      for (var weekday = 0; weekday < 7; weekday++) {
        var cell = element("td"), day = new Date(cursor);
        if (day.getMonth() === first.getMonth()) {
          var button = element("button", "sitthi-cal-day", String(day.getDate()));
          button.type = "button";
          button.setAttribute("data-day", shown(input, day));
          if (picked && day.getTime() === picked.getTime()) { button.className += " sitthi-cal-picked"; }
          if (day.toDateString() === today.toDateString()) { button.className += " sitthi-cal-today"; }
          button.disabled = (limit.min && day < limit.min) || (limit.max && day > limit.max) || false;
          button.addEventListener("click", (function (d) { return function () { choose(d); }; })(day));
          cell.appendChild(button);
        }
        row.appendChild(cell);
        cursor.setDate(cursor.getDate() + 1);
      }
      grid.appendChild(row);
    }
    popup.appendChild(grid);

    var foot = element("div", "sitthi-cal-foot");
    var todayButton = element("button", "btn btn-link btn-xs", label.today);
    todayButton.type = "button";
    todayButton.addEventListener("click", function () {
      choose(new Date(today.getFullYear(), today.getMonth(), today.getDate()));
    });
    var clear = element("button", "btn btn-link btn-xs", label.clear);
    clear.type = "button";
    clear.addEventListener("click", function () { choose(null); });
    foot.appendChild(todayButton);
    foot.appendChild(clear);
    popup.appendChild(foot);
  }

  function move(months) {
    open.shown = new Date(open.shown.getFullYear(), open.shown.getMonth() + months, 1);
    draw();
  }

  function show(input) {
    if (open && open.input === input) { return; }
    close();
    var start = typedDay(input) || bounds(input).max && new Date() > bounds(input).max && bounds(input).max || new Date();
    var popup = element("div", "sitthi-cal");
    popup.setAttribute("role", "dialog");
    // a click inside redraws it (its target leaves the page): it must not read as a click outside
    popup.addEventListener("click", function (event) { event.stopPropagation(); });
    open = { input: input, popup: popup, shown: new Date(start.getFullYear(), start.getMonth(), 1) };
    draw();
    document.body.appendChild(popup);
    var box = input.getBoundingClientRect();
    popup.style.top = (window.scrollY + box.bottom + 2) + "px";
    popup.style.left = (window.scrollX + box.left) + "px";
  }

  function close() {
    if (open) { open.popup.remove(); open = null; }
  }

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (quiet) { return; }
    if (target.matches && target.matches("input.sitthi-date")) { show(target); }
    else if (open && !open.popup.contains(target)) { close(); }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.sitthi-date")) { show(target); return; }
    if (open && !open.popup.contains(target)) { close(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && open) { close(); }
  });
  // Typing a whole date moves the open calendar to it.
  document.addEventListener("input", function (event) {
    if (open && event.target === open.input) {
      var day = typedDay(open.input);
      if (day) { open.shown = new Date(day.getFullYear(), day.getMonth(), 1); draw(); }
    }
  });
})();
