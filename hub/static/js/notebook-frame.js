// Runs inside the sandboxed notebook frame (an opaque origin, no access to the hub's page):
// typesets $…$ / $$…$$ math with the vendored KaTeX, then tells the hub's page how tall the
// notebook is so the frame can be sized without scroll bars.
(function () {
  "use strict";
  if (typeof window.renderMathInElement === "function") {
    window.renderMathInElement(document.body, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "$", right: "$", display: false },
        { left: "\\(", right: "\\)", display: false },
      ],
      ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code"],
      throwOnError: false,
      trust: false,
      maxSize: 50,
      maxExpand: 1000,
    });
  }
  function reportHeight() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    window.parent.postMessage({ skiffNotebookHeight: height }, "*");
  }
  reportHeight();
  window.addEventListener("load", reportHeight);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(reportHeight).observe(document.body);
  }
})();
