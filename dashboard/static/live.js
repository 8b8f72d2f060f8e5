// Live updates for the overview, the incident list and the big screen.
// The page renders its picture into #live's data attributes; this script subscribes to the
// server's event stream and, when a streamed picture differs, updates the counters marked
// data-live-field and shows the refresh banner (or, on the big screen, reloads at once).
// A static file because the Content-Security-Policy forbids inline scripts.
"use strict";

(function () {
  const anchor = document.getElementById("live");
  if (anchor === null || typeof window.EventSource !== "function") {
    return; // without EventSource the page is simply static, as before
  }
  const fields = ["incidents", "open_incidents", "critical", "latest_ms", "score"];
  // dataset turns data-open-incidents into openIncidents.
  const shown = (field) => anchor.dataset[field.replace(/_(\w)/g, (_, c) => c.toUpperCase())];
  const source = new EventSource(anchor.dataset.stream);

  source.addEventListener("picture", function (event) {
    const picture = JSON.parse(event.data);
    anchor.dataset.received = String(Number(anchor.dataset.received || "0") + 1);
    const changed = fields.some((field) => String(picture[field]) !== shown(field));
    if (!changed) {
      return;
    }
    if (anchor.dataset.reload === "true") {
      source.close();
      window.location.reload();
      return;
    }
    for (const element of document.querySelectorAll("[data-live-field]")) {
      const value = picture[element.dataset.liveField];
      if (value !== undefined) {
        element.textContent = String(value);
      }
    }
    anchor.hidden = false;
  });

  // Alerts stored since the previous "alerts" event, by severity: added to the counters marked
  // data-new-alerts (a severity or "total"), which then show how many arrived since page load.
  source.addEventListener("alerts", function (event) {
    const added = JSON.parse(event.data);
    for (const element of document.querySelectorAll("[data-new-alerts]")) {
      const more = Number(added[element.dataset.newAlerts] || 0);
      element.textContent = String(Number(element.textContent) + more);
    }
    const box = document.getElementById("new-alerts");
    if (box !== null && Number(added.total) > 0) {
      box.hidden = false;
    }
  });
})();
