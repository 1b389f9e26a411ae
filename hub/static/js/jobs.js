/* Skiff: keep background-job progress widgets up to date without reloading the page.
 *
 * Every element with a data-job-url attribute (see hub/infra/templates/jobs/_progress.html)
 * polls that URL (GET /jobs/<id>.json) until the job is done or failed, and updates its
 * <progress>, percentage, status and message. When the job finishes the element fires a
 * "skiff:job-finished" event (event.detail is the job's JSON); with data-job-reload="1" the
 * page reloads once the job is done. Text is set with textContent only, never as HTML.
 */
(function () {
  "use strict";

  var FIRST_DELAY = 1000;
  var MAX_DELAY = 10000;

  function field(el, name) {
    return el.querySelector('[data-job-field="' + name + '"]');
  }

  function render(el, job) {
    var pct = Math.max(0, Math.min(100, Number(job.progress) || 0));
    var bar = field(el, "progress");
    if (bar) {
      bar.value = pct;
      bar.textContent = pct + "%";
    }
    var percent = field(el, "percent");
    if (percent) percent.textContent = pct + "%";
    var status = field(el, "status");
    if (status) status.textContent = el.getAttribute("data-label-" + job.status) || job.status;
    var message = field(el, "message");
    if (message) message.textContent = job.message || "";
    var previous = el.getAttribute("data-job-status");
    if (previous) el.classList.remove("job-" + previous);
    el.classList.add("job-" + job.status);
    el.setAttribute("data-job-status", job.status);
  }

  function finished(status) {
    return status === "done" || status === "failed";
  }

  function watch(el) {
    var url = el.getAttribute("data-job-url");
    var delay = FIRST_DELAY;
    if (!url || finished(el.getAttribute("data-job-status"))) return;

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          render(el, job);
          if (finished(job.status)) {
            el.dispatchEvent(new CustomEvent("skiff:job-finished", { bubbles: true, detail: job }));
            if (job.status === "done" && el.getAttribute("data-job-reload") === "1") {
              window.location.reload();
            }
            return;
          }
          delay = FIRST_DELAY;
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          // The server is busy or restarting: try again, less and less often.
          delay = Math.min(delay * 2, MAX_DELAY);
          window.setTimeout(poll, delay);
        });
    }

    window.setTimeout(poll, delay);
  }

  function start() {
    var widgets = document.querySelectorAll("[data-job-url]");
    for (var i = 0; i < widgets.length; i++) watch(widgets[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
