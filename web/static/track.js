"use strict";
// The receipt's QR code opens /track#code=...: fill the form from the fragment (never sent to the server), take
// the code out of the address bar and history, and look the case up. An old /track?code= link only fills the form.
(function () {
  var form = document.getElementById("track-form"), input = document.getElementById("f-code");
  var match = /(?:^#|&)code=([^&]*)/.exec(location.hash);
  if (match || location.search) { history.replaceState(null, "", location.pathname); }
  if (match) {
    try { input.value = decodeURIComponent(match[1]).slice(0, 64); } catch (e) { input.value = ""; }
    if (input.value) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }
})();
