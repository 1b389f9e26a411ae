/* Skiff courses: small conveniences for the exercise code boxes (the page works without it).
 *
 * In a textarea marked data-code-editor, Tab inserts four spaces instead of leaving the box
 * (Shift+Tab and Escape-then-Tab still move focus), and Ctrl/Cmd+Enter submits the answer.
 * When the check of an answer finishes (jobs.js fires "skiff:job-finished" on its progress
 * widget), the page reloads to show the result, whether the check passed, failed or could not
 * run.
 */
(function () {
  "use strict";

  var INDENT = "    ";
  var escaped = false;

  function onKey(event) {
    var box = event.target;
    if (event.key === "Escape") {
      escaped = true;
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && box.form) {
      event.preventDefault();
      if (box.form.requestSubmit) box.form.requestSubmit();
      else box.form.submit();
      return;
    }
    if (event.key !== "Tab" || event.shiftKey || escaped) {
      escaped = false;
      return;
    }
    event.preventDefault();
    var start = box.selectionStart;
    var end = box.selectionEnd;
    box.value = box.value.slice(0, start) + INDENT + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + INDENT.length;
  }

  document.addEventListener("skiff:job-finished", function (event) {
    if (event.target.closest && event.target.closest(".exercise-result")) {
      window.location.reload();
    }
  });

  document.querySelectorAll("textarea[data-code-editor]").forEach(function (box) {
    box.addEventListener("keydown", onKey);
  });
})();
