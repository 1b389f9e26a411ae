// The notebook page: size the sandboxed frame to the height its own script reports. Only
// messages from that frame's window count, and the height is clamped.
(function () {
  "use strict";
  var frame = document.querySelector("iframe.notebook-frame");
  if (!frame) return;
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data.skiffNotebookHeight !== "number") return;
    var height = Math.max(120, Math.min(200000, Math.round(data.skiffNotebookHeight) + 24));
    frame.style.height = height + "px";
  });
})();
