// Tells the portal the browser's time zone once, for a user who has none yet (base.html loads
// this only then). The server keeps it only while the user has not chosen a zone.
(function () {
  "use strict";
  var script = document.currentScript;
  var key = "refurb-time-zone-sent";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!script || !zone || window.sessionStorage.getItem(key) === zone) {
    return;
  }
  var headers = {};
  try {
    headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  } catch (error) {
    return;
  }
  var body = new URLSearchParams({ time_zone: zone });
  window
    .fetch(script.dataset.url, {
      method: "POST",
      headers: headers,
      body: body,
      credentials: "same-origin",
    })
    .then(function (response) {
      if (response.ok) {
        window.sessionStorage.setItem(key, zone);
      }
    })
    .catch(function () {
      // Nothing to tell the person: the zone can be chosen on the Settings page.
    });
})();
