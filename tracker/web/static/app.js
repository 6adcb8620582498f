// Progressive enhancement: the visitor's own zone and a live countdown, filters applied as you
// choose them (the same tests the server applies), the feed address kept in step, a copy button.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var form = document.querySelector("[data-filters]");
  var serverNow = form ? Date.parse(form.getAttribute("data-now")) : NaN;
  var loaded = Date.now();
  function now() { return isNaN(serverNow) ? Date.now() : serverNow + (Date.now() - loaded); }

  document.querySelectorAll("[data-browser-zone]").forEach(function (el) { el.value = zone; });
  var note = document.querySelector("[data-zone-note]");
  if (note) { note.hidden = false; note.querySelector("[data-zone]").textContent = zone; }

  var fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZone: zone, timeZoneName: "short" });
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function countdown(ms) {
    if (ms <= 0) { return "passed"; }
    var hours = Math.floor(ms / 3600000);
    if (hours < 48) {
      var minutes = Math.floor((ms % 3600000) / 60000);
      return plural(hours, "hour") + " " + plural(minutes, "min");
    }
    return plural(Math.floor(hours / 24), "day");
  }
  function tick() {
    document.querySelectorAll("[data-instant]").forEach(function (t) {
      var item = t.closest(".item");
      var at = Date.parse(t.getAttribute("data-instant"));
      if (!item || isNaN(at)) { return; }
      var local = item.querySelector("[data-local]");
      if (local && t.getAttribute("data-allday") === "no") { local.textContent = "your time: " + fmt.format(new Date(at)); }
      var left = item.querySelector("[data-countdown]");
      if (left && t.getAttribute("data-allday") !== "fuzzy" && left.textContent !== "overdue") { left.textContent = countdown(at - now()); }
    });
  }
  tick();
  setInterval(tick, 30000);

  function feedLinks(base, values, states) {
    var path = values.programme ? "programmes/" + values.programme : "all";
    var calls = values.call ? [values.call] : [];
    if (values.state) {
      var inState = Object.keys(states).filter(function (c) { return states[c] === values.state; }).sort();
      calls = (calls.length ? calls : inState).filter(function (c) { return inState.indexOf(c) >= 0; });
    }
    var q = new URLSearchParams();
    calls.forEach(function (c) { q.append("call", c); });
    if (values.tag) { q.append("tag", values.tag); }
    if (values.kind) { q.append("kind", values.kind); }
    var s = q.toString();
    return base + "/feeds/" + path + ".ics" + (s ? "?" + s : "");
  }
  function feedTitle(values) {
    var parts = [];
    var text = function (name) { var el = form.elements[name]; return el.options[el.selectedIndex].text; };
    if (values.call) { parts.push(text("call")); }
    if (values.state) { parts.push(values.state === "open" ? "calls open now" : "forthcoming calls"); }
    if (values.tag) { parts.push("tagged " + values.tag); }
    if (values.kind) { parts.push({ opening: "openings", cutoff: "cut-offs", closing: "closings", milestone: "milestones" }[values.kind]); }
    if (values.programme) { return text("programme") + ": grant deadlines" + (parts.length ? ", " + parts.join(", ") : ""); }
    return "Grant deadlines" + (parts.length ? ": " + parts.join(", ") : " (everything)");
  }
  function setFeed(url, title) {
    var box = document.querySelector("[data-feed]");
    if (!box) { return; }
    var webcal = "webcal://" + url.split("://")[1];
    box.querySelector("[data-feed-url]").value = url;
    box.querySelector("[data-link=webcal]").href = webcal;
    box.querySelector("[data-link=download]").href = url;
    box.querySelector("[data-link=google]").href = "https://calendar.google.com/calendar/render?cid=" + encodeURIComponent(webcal);
    ["outlook", "outlook365"].forEach(function (k) {
      var a = box.querySelector("[data-link=" + k + "]");
      var host = k === "outlook" ? "outlook.live.com" : "outlook.office.com";
      a.href = "https://" + host + "/calendar/0/addfromweb?url=" + encodeURIComponent(url) + "&name=" + encodeURIComponent(title);
    });
    box.querySelector("[data-feed-title]").textContent = title;
  }
  if (form) {
    var states = {};
    document.querySelectorAll(".item").forEach(function (li) { states[li.getAttribute("data-call")] = li.getAttribute("data-state"); });
    var apply = function () {
      var v = {};
      ["q", "call", "tag", "programme", "kind", "state"].forEach(function (k) { v[k] = form.elements[k].value; });
      var words = v.q.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      document.querySelectorAll(".item").forEach(function (li) {
        var ok = (!v.call || li.getAttribute("data-call") === v.call)
          && (!v.tag || li.getAttribute("data-tags").split(" ").indexOf(v.tag) >= 0)
          && (!v.programme || li.getAttribute("data-programmes").split(" ").indexOf(v.programme) >= 0)
          && (!v.kind || li.getAttribute("data-kind") === v.kind)
          && (!v.state || li.getAttribute("data-state") === v.state)
          && words.every(function (w) { return li.getAttribute("data-text").indexOf(w) >= 0; });
        li.hidden = !ok;
        if (ok) { shown += 1; }
      });
      document.querySelector("[data-count]").textContent = shown;
      document.querySelector("[data-empty]").hidden = shown > 0;
      setFeed(feedLinks(form.getAttribute("data-base"), v, states), feedTitle(v));
      var q = new URLSearchParams();
      Object.keys(v).forEach(function (k) { if (v[k]) { q.set(k, v[k]); } });
      history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
    };
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  }
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var box = b.closest(".copy");
      var input = box.querySelector("input");
      var done = function () { box.querySelector("[data-copied]").textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else { input.select(); document.execCommand("copy"); done(); }
    });
  });
})();
