// app.js is the dashboard's only script, and every page works without it. It does two things:
//
// Copy buttons: a button with data-copy puts that text (a full digest) on the clipboard. The
// buttons are rendered hidden and shown here, so a page without JavaScript shows none.
//
// Live pages: a page whose run goes on is kept current without reloading it. Once a second the
// script fetches the same page again and swaps in each element marked data-live for its new
// version; when the new page is no longer live (the run has ended), it swaps in the whole main
// content once and stops. Without JavaScript such a page reloads itself instead.
(function () {
  "use strict";

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-copy]");
    if (!btn || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(btn.dataset.copy).then(function () {
      btn.textContent = "copied";
    }, function () {
      btn.textContent = "copy failed";
    });
  });
  function showCopyButtons(root) {
    if (navigator.clipboard) {
      root.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
    }
  }
  showCopyButtons(document);

  var interval = 1000;
  var main = document.querySelector("main");
  if (!main || !document.querySelector("[data-live]")) {
    return;
  }

  function swapLive(next) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var fresh = next.querySelector('[data-live="' + el.dataset.live + '"]');
      if (fresh) {
        var node = document.importNode(fresh, true);
        el.replaceWith(node);
        showCopyButtons(node);
      }
    });
  }

  function tick() {
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("HTTP " + resp.status);
        }
        return resp.text();
      })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html");
        var nextMain = next.querySelector("main");
        if (!nextMain) {
          throw new Error("no main element");
        }
        if (!next.querySelector("[data-live]")) {
          main.replaceChildren.apply(main, Array.from(nextMain.childNodes).map(function (n) {
            return document.importNode(n, true);
          }));
          document.title = next.title;
          showCopyButtons(main);
          return;
        }
        swapLive(next);
        setTimeout(tick, interval);
      })
      .catch(function (err) {
        // Say so on the page and try again more slowly: a restart of the server is brief.
        var note = document.querySelector("[data-testid=live-status]");
        if (note) {
          note.textContent = "Live updates paused (" + err.message + "); retrying.";
        }
        setTimeout(tick, interval * 5);
      });
  }

  setTimeout(tick, interval);
})();
