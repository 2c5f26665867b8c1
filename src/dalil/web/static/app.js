// Send the session's CSRF token with every htmx request (the pages' forms carry it too).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
});

// A verdict or a reveal that failed: say why in the claim's card (htmx does not swap errors).
document.addEventListener("htmx:responseError", function (event) {
  var card = event.target.closest && event.target.closest("article.claim");
  var box = card && card.querySelector(".message");
  if (!box) { return; }
  var text = event.detail.xhr.responseText || "";
  var said = "";
  try { said = JSON.parse(text).error || ""; } catch (ignored) {
    var shown = new DOMParser().parseFromString(text, "text/html").querySelector(".error");
    said = shown ? shown.textContent : "";
  }
  box.textContent = said || "That did not work (" + event.detail.xhr.status + ").";
});

// The review queue from the keyboard: j or n next, k or p previous, s show the region
// (recorded), c confirm, x reject with the correction field focused (Enter sends it),
// Escape leaves a field. After a verdict the next open claim is selected; past the last
// one, the next claims are loaded.
(function () {
  var currentId = null;

  function queue() { return document.querySelector("section.queue[data-review='1']"); }
  function cards() {
    var q = queue();
    return q ? Array.prototype.slice.call(q.querySelectorAll("article.claim")) : [];
  }
  function current() {
    return currentId ? document.getElementById("claim-" + currentId) : null;
  }
  function select(card) {
    cards().forEach(function (c) { c.classList.remove("current"); });
    if (!card) { return; }
    card.classList.add("current");
    currentId = card.getAttribute("data-claim");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }
  function nextBatch() {
    var link = document.querySelector("a.next-batch");
    var q = queue();
    if (!link || !q) { return; }
    if (q.getAttribute("data-mine") === "1") {
      // what was reviewed here has left this reviewer's queue: skip only the claims left open
      var open = cards().filter(function (c) { return !c.classList.contains("done"); }).length;
      var skip = parseInt(q.getAttribute("data-skip"), 10) + open;
      window.location.assign(q.getAttribute("data-base") + "&skip=" + skip);
    } else {
      window.location.assign(link.href);
    }
  }
  function move(step, openOnly) {
    var all = cards();
    var i = all.indexOf(current());
    for (var j = i + step; j >= 0 && j < all.length; j += step) {
      if (!openOnly || !all[j].classList.contains("done")) { select(all[j]); return; }
    }
    if (step > 0) { nextBatch(); }
  }
  function press(card, selector) {
    var button = card && card.querySelector(selector);
    if (button) { button.click(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var first = cards().filter(function (c) { return !c.classList.contains("done"); })[0];
    if (first) { select(first); }
    var link = document.querySelector("a.next-batch");
    if (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); nextBatch(); });
    }
  });
  document.addEventListener("click", function (event) {
    var card = event.target.closest && event.target.closest("section.queue article.claim");
    if (card && !card.classList.contains("current")) { select(card); }
  });
  // a verdict answers with the claim's whole card (a reveal only with the region's picture)
  document.addEventListener("htmx:afterSettle", function (event) {
    var card = event.target;
    if (!card || !card.matches || !card.matches("section.queue article.claim")) { return; }
    if (card.getAttribute("data-claim") !== currentId) { return; }
    card.classList.add("current");
    if (card.classList.contains("done")) { move(1, true); }
  });
  document.addEventListener("keydown", function (event) {
    if (!queue() || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var field = event.target;
    if (field && /^(INPUT|TEXTAREA|SELECT)$/.test(field.tagName)) {
      if (event.key === "Escape") {
        field.blur();
        var open = current();
        if (open) { open.focus({ preventScroll: true }); }
      }
      return;
    }
    var card = current();
    switch (event.key) {
      case "j": case "n": move(1, false); break;
      case "k": case "p": move(-1, false); break;
      case "s": press(card, "button.show"); break;
      case "c": press(card, "button.confirm"); break;
      case "x":
        var correct = card && card.querySelector("form.reject input[name=correct]");
        if (correct) { correct.focus(); }
        break;
      default: return;
    }
    event.preventDefault();
  });
})();
