// Check-in at the door. Without this file every button is a small form that posts and comes back;
// with it the list filters as you type, a tap saves at once (the row changes before the answer
// comes), and a check-in that could not be sent is kept in this browser (localStorage) and sent
// again when the connection comes back, the row saying "Waiting for connection" until it is saved.
(function () {
  "use strict";
  var list = document.querySelector("[data-checkin]");
  if (!list || !window.fetch) { return; }
  var KEY = "muster-checkin:" + list.getAttribute("data-checkin");
  var RETRY_MS = 3000;
  var sync = document.getElementById("ci-sync");
  var countIn = document.querySelector("[data-count='in']");
  var none = document.getElementById("ci-none");
  var search = document.getElementById("ci-q");
  var inFlight = {};
  var timer = null;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
  }
  function save(pending) {
    try { window.localStorage.setItem(KEY, JSON.stringify(pending)); } catch (e) { /* private mode: memory only */ }
  }
  var pending = load();

  function rowOf(id) { return list.querySelector("[data-supporter='" + id + "']"); }

  // Draw a row as checked in (or not), with what became of it: "saved", "waiting", "saving" or an error.
  function draw(row, checkedIn, state, message) {
    var form = row.querySelector("form");
    var name = row.querySelector(".ci-name").textContent;
    row.classList.toggle("is-in", checkedIn);
    row.classList.toggle("is-waiting", state === "waiting");
    row.classList.toggle("is-error", state === "error");
    form.querySelector("[name='attended']").value = checkedIn ? "undo" : "1";
    var button = form.querySelector("button");
    button.textContent = checkedIn ? "Undo" : "Check in";
    button.setAttribute("aria-label", (checkedIn ? "Undo check-in for " : "Check in ") + name);
    var words = {
      saved: checkedIn ? "Checked in · saved" : "Undone · saved",
      saving: checkedIn ? "Checked in · saving…" : "Undoing…",
      waiting: (checkedIn ? "Checked in" : "Undone") + " · waiting for connection",
      error: message || "Not saved"
    };
    row.querySelector("[data-state]").textContent = words[state] || (checkedIn ? "Checked in" : "");
  }

  function showSync() {
    var waiting = Object.keys(pending).length;
    if (!waiting) {
      sync.hidden = true;
      return;
    }
    sync.hidden = false;
    sync.className = "ci-sync is-waiting";
    sync.textContent = (waiting === 1 ? "1 check-in" : waiting + " check-ins") +
      " waiting for connection: kept on this phone, sent as soon as it is back.";
  }

  function retryLater() {
    if (timer === null && Object.keys(pending).length) {
      timer = window.setTimeout(function () { timer = null; flush(); }, RETRY_MS);
    }
  }

  function send(id) {
    var job = pending[id];
    if (!job || inFlight[id]) { return; }
    inFlight[id] = job;
    fetch(job.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(job.fields).toString()
    }).then(function (response) {
      if (response.status >= 500) { throw new Error("service unavailable"); }
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      delete inFlight[id];
      var row = rowOf(id);
      if (pending[id] !== job) { send(id); return; }  // tapped again meanwhile: send the latest
      delete pending[id];
      save(pending);
      showSync();
      if (answer.ok) {
        if (countIn) { countIn.textContent = answer.data.checked_in; }
        if (row) { draw(row, answer.data.attended === true, "saved"); }
      } else if (row) {  // refused (too early, no longer in scope): say why, show it as it was
        draw(row, job.fields.attended !== "1", "error", answer.data.error);
      }
    }, function () {
      delete inFlight[id];
      var row = rowOf(id);
      if (row && pending[id]) { draw(row, pending[id].fields.attended === "1", "waiting"); }
      showSync();
      retryLater();
    });
  }

  function flush() { Object.keys(pending).forEach(send); }

  list.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("ci-mark")) { return; }
    event.preventDefault();
    var row = form.closest("[data-supporter]");
    var id = row.getAttribute("data-supporter");
    var fields = {};
    new FormData(form).forEach(function (value, name) { fields[name] = value; });
    var checkingIn = fields.attended === "1";
    if (countIn) { countIn.textContent = Math.max(0, Number(countIn.textContent) + (checkingIn ? 1 : -1)); }
    pending[id] = { action: form.getAttribute("action"), fields: fields };
    save(pending);
    draw(row, checkingIn, "saving");
    send(id);
  });

  // Filter the list as a name is typed; Search (or Enter) still asks the server, for walk-ins too.
  if (search) {
    search.addEventListener("input", function () {
      var wanted = search.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(list.querySelectorAll("[data-supporter]"), function (row) {
        var match = !wanted || row.getAttribute("data-name").indexOf(wanted) !== -1;
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      if (none) { none.hidden = shown > 0; }
    });
  }

  window.addEventListener("online", flush);
  // Check-ins kept from before (the page was reloaded while offline): show them, and send them.
  Object.keys(pending).forEach(function (id) {
    var row = rowOf(id);
    if (row) { draw(row, pending[id].fields.attended === "1", "waiting"); }
  });
  showSync();
  flush();
}());
