/* The compose page's live preview: as the organiser types or ticks, the form is posted (after a
   short pause) to /console/broadcasts/preview and the preview beside the form is replaced by the
   fragment the server renders from the same operations the CLI and the chat console use.
   The message (and call to action) in each other language is posted with the rest, and the
   fragment gives each language's figures.
   Without this script the page still works: the Preview button posts the whole form. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form) { return; }
  var target = document.getElementById(form.getAttribute("data-preview-target"));
  var url = form.getAttribute("data-preview-url");
  var PAUSE = 350;  // ms after the last keystroke
  var timer = null;
  var asked = 0;    // the latest request: an older answer arriving late is dropped
  var inFlight = null;
  var status = document.querySelector("[data-live-status]");
  // What to say when the preview cannot be shown, in the page's language (the template sets them).
  function words(name) { return form.getAttribute("data-say-" + name) || ""; }

  function showAlertFields() {
    var alert = form.querySelector('input[name="kind"][value="alert"]');
    var isAlert = Boolean(alert && alert.checked);
    form.querySelectorAll("[data-alert-only]").forEach(function (el) { el.hidden = !isAlert; });
  }

  function say(text) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = text;
    target.replaceChildren(p);
    if (status) { status.textContent = text; }
  }

  // A screen reader hears the figures that changed, not the whole preview again: the totals, then
  // each language's line and the note of a version outside GSM-7 (UCS-2) when there are several.
  function announce() {
    if (!status) { return; }
    var parts = [];
    ["[data-problem]", "[data-counts]", "[data-sms-figures]", "[data-language]", "[data-ucs2]"].forEach(
      function (selector) {
        target.querySelectorAll(selector).forEach(function (found) {
          var text = found.textContent.trim();
          if (text) { parts.push(text); }
        });
      });
    status.textContent = parts.join(" ");
  }

  function refresh() {
    var mine = ++asked;
    if (inFlight) { inFlight.abort(); }
    inFlight = new AbortController();
    var data = new URLSearchParams(new FormData(form));
    data.delete("action");
    target.setAttribute("aria-busy", "true");
    fetch(url, { method: "POST", body: data, credentials: "same-origin", signal: inFlight.signal,
                 headers: { "Accept": "text/html" } })
      .then(function (response) {
        return response.text().then(function (text) { return { response: response, text: text }; });
      })
      .then(function (got) {
        if (mine !== asked) { return; }
        if (got.response.redirected) {  // the session ended: the answer is the sign-in page
          say(words("signed-out"));
        } else if (got.text.indexOf("bc-preview") === -1) {
          say(words("failed").replace("%s", String(got.response.status)));
        } else {
          target.innerHTML = got.text;  // rendered and escaped by the server's templates
          announce();
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError" && mine === asked) {
          say(words("offline"));
        }
      })
      .finally(function () {
        if (mine === asked) { target.removeAttribute("aria-busy"); }
      });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, PAUSE);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", function (event) {
    if (event.target.name === "kind") { showAlertFields(); }
    soon();
  });
  showAlertFields();
  var note = document.querySelector("[data-live-note]");
  if (note) { note.hidden = false; }
  var button = form.querySelector("[data-preview-button]");
  if (button) { button.hidden = true; }
})();
