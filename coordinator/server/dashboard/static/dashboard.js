// The dashboard's own script: copy buttons, drag-to-rank, focus after a swap.
// No inline scripts (the Content-Security-Policy allows only files from this server).
(function () {
  "use strict";

  function copy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var done = function () {
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(target.value).then(done, function () {
        target.select();
        document.execCommand("copy");
        done();
      });
    } else {
      target.select();
      document.execCommand("copy");
      done();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });

  function init(root) {
    root.querySelectorAll(".sortable").forEach(function (list) {
      if (list._sortable || typeof Sortable === "undefined") return;
      // Sortable fires a bubbling "end" event; the form posts on it (hx-trigger="end").
      list._sortable = new Sortable(list, {
        handle: ".handle",
        animation: 120,
        ghostClass: "dragging",
        onEnd: function () {
          list._sortable.option("disabled", true);
        },
      });
    });
  }

  // After a whole page is swapped in (a boosted link or form, or a button targeting the
  // body), keyboard focus goes where a person starts: the element marked autofocus,
  // else the main region (the old focused element is gone with the old body).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target !== document.body) return;
    var start = document.querySelector("[autofocus]") || document.getElementById("main");
    if (start && document.activeElement !== start) start.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof htmx !== "undefined") {
      htmx.onLoad(init);
    } else {
      init(document);
    }
  });
})();
