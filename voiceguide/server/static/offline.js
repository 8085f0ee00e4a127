// Keeps a played session for use offline: the service worker is registered at the
// first play (a page only looked at needs nothing kept), then told what to keep.
"use strict";

document.addEventListener("voiceguide:played", (event) => {
  if (!("serviceWorker" in navigator)) return; // not a secure context, or no support
  navigator.serviceWorker.register("/sw.js")
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => registration.active.postMessage({ keep: [location.pathname, ...event.detail.urls] }))
    .catch(() => { /* refused: the session simply plays online only */ });
});
