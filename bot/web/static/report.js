// Broadcast report: while a broadcast is sending, ask for its progress every 2 seconds and update the
// figures, the progress bar and the funnel chart in place. Without this script the page is complete
// as of its load, with a Refresh link.
(function () {
  "use strict";
  var box = document.querySelector("[data-report-progress]");
  if (!box || box.getAttribute("data-status") !== "sending") {
    return;
  }
  var url = box.getAttribute("data-url");
  var format = new Intl.NumberFormat("en-GB");
  var timer = null;
  var failures = 0;

  function setAll(selector, text) {
    document.querySelectorAll(selector).forEach(function (node) { node.textContent = text; });
  }

  function show(p) {
    ["done", "total", "waiting", "sent", "delivered", "failed", "unknown", "cancelled", "awaiting", "unconfirmed"]
      .forEach(function (key) { setAll('[data-field="' + key + '"]', format.format(p[key])); });
    setAll('[data-field="percent"]', String(p.percent));
    setAll('[data-field="status"]', p.status_text);
    document.querySelectorAll("[data-filter-count]").forEach(function (item) {
      var field = item.getAttribute("data-filter-count");
      item.hidden = field !== "total" && !p[field];
    });
    var bar = document.querySelector("[data-field-progress]");
    if (bar) {
      bar.max = p.total || 1;
      bar.value = p.total ? p.done : 0;
      bar.textContent = p.percent + "%";
    }
    Object.keys(p.widths).forEach(function (key) {
      var rect = document.querySelector('[data-bar="' + key + '"]');
      var label = document.querySelector('[data-label="' + key + '"]');
      var count = key === "total" ? p.total : p[key];
      if (rect) {
        var width = count ? Math.max(p.widths[key], 1) : 0;
        rect.setAttribute("width", String(width));
        var title = rect.querySelector("title");
        if (title) { title.textContent = title.textContent.replace(/: [\d,]+$/, ": " + format.format(count)); }
        if (label) { label.setAttribute("x", String(Number(rect.getAttribute("x")) + 8 + p.widths[key])); }
      }
    });
    if (!p.sending) {
      stop();
      document.querySelectorAll("[data-when-sending], [data-refresh]").forEach(function (n) { n.hidden = true; });
      var finished = document.querySelector("[data-finished]");
      if (finished) { finished.hidden = false; }
      // Said once by a screen reader, rather than every figure every 2 seconds.
      var announce = document.querySelector("[data-announce]");
      if (announce) { announce.textContent = "Every message has gone: " + format.format(p.done) + " of " +
                      format.format(p.total) + " done."; }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (p) { failures = 0; show(p); })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {  // give up quietly: the Refresh link comes back
          stop();
          document.querySelectorAll("[data-refresh]").forEach(function (n) { n.hidden = false; });
        }
      });
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  }

  document.querySelectorAll("[data-refresh]").forEach(function (n) { n.hidden = true; });
  timer = window.setInterval(poll, 2000);
})();
