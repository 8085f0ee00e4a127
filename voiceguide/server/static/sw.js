// voiceguide's service worker: the pages and the sessions already played stay
// available with the network off (a phone on the floor in a room with poor Wi-Fi).
// Network first, always: a script edited on the server is heard at once; the cache
// answers only when the server cannot.
"use strict";

const CACHE = "voiceguide-v1";
const SHELL = [
  "/", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png",
  "/static/app.css", "/static/player.js", "/static/cues.js", "/static/offline.js", "/static/journal.js",
  "/static/icon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// A page asks to keep what a played session needs: its page, plan, transcript, audio.
self.addEventListener("message", (event) => {
  const urls = event.data && event.data.keep;
  if (Array.isArray(urls)) event.waitUntil(keep(urls));
});

async function keep(urls) {
  const cache = await caches.open(CACHE);
  for (const url of urls) {
    const key = new URL(url, self.location.origin).pathname;
    if (await cache.match(key)) continue; // the audio is large: fetched once
    const response = await fetch(key, { cache: "no-store" });
    if (response.status === 200) await cache.put(key, response);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // The session log is health data: never kept in the cache, always the server's answer.
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/history")) return;
  event.respondWith(networkElseCache(request, url.pathname));
});

async function networkElseCache(request, key) {
  try {
    const response = await fetch(request);
    if (response.status === 200 && !key.endsWith(".mp3")) refresh(key, response.clone());
    return response;
  } catch (error) {
    const cached = await (await caches.open(CACHE)).match(key);
    if (!cached) throw error;
    const range = request.headers.get("range");
    return range ? part(cached, range) : cached;
  }
}

async function refresh(key, response) {
  // Only what is kept already: a page looked at once is not kept for good.
  const cache = await caches.open(CACHE);
  if (await cache.match(key)) await cache.put(key, response);
}

async function part(cached, range) {
  // The media element asks for ranges; the cache holds the whole file.
  const body = await cached.blob();
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  let start = match && match[1] ? Number(match[1]) : 0;
  let end = match && match[2] ? Number(match[2]) : body.size - 1;
  if (match && !match[1] && match[2]) { start = Math.max(0, body.size - Number(match[2])); end = body.size - 1; }
  end = Math.min(end, body.size - 1);
  if (!match || start > end) {
    return new Response(null, { status: 416, headers: { "Content-Range": "bytes */" + body.size } });
  }
  return new Response(body.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": cached.headers.get("Content-Type") || "audio/mpeg",
      "Content-Length": String(end - start + 1),
      "Content-Range": "bytes " + start + "-" + end + "/" + body.size,
      "Accept-Ranges": "bytes",
    },
  });
}
