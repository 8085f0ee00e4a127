// voiceguide web player: the session log. A run when play starts, how far it got
// (every 5 s, at each chapter, and by sendBeacon when the tab closes), and a
// check-in before and after. Only where this device may write to the log: the
// server answers /api/access 204 to this computer and to signed-in devices.
(function () {
  "use strict";

  const $ = (selector) => document.querySelector(selector);
  const sessionId = document.body.dataset.session;
  const audio = $("#audio");
  const panel = $("#checkin");
  if (!sessionId || !audio || !panel) return;

  const question = $("#checkin-question");
  const note = $("#checkin-note");
  const status = $("#checkin-status");
  const ratings = Array.from(panel.querySelectorAll(".rating"));
  const starts = Array.from(document.querySelectorAll(".chapter")).map((b) => Number(b.dataset.start));
  const PROGRESS_MS = 5000;

  let allowed = false;
  let moment = "before";
  let pain = null;
  let runId = null;
  let starting = null;
  let before = [];
  let ended = false;
  let reached = 0;
  let skipped = 0;
  let sentAt = 0;
  let chapter = -1;

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then((response) => (response.ok ? response.json() : Promise.reject(response.status)));
  }

  function ask(which) {
    moment = which;
    pain = null;
    note.value = "";
    ratings.forEach((button) => button.setAttribute("aria-pressed", "false"));
    question.textContent = question.dataset[which];
    status.textContent = "";
    panel.hidden = false;
    if (which === "after") panel.scrollIntoView({ block: "nearest" });
  }

  function close() { panel.hidden = true; }

  ratings.forEach((button) => button.addEventListener("click", () => {
    pain = Number(button.dataset.pain);
    ratings.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
  }));

  $("#checkin-skip").addEventListener("click", close);
  $("#checkin-save").addEventListener("click", () => {
    const text = note.value.trim();
    if (pain === null && !text) { close(); return; }
    const body = { moment: moment, pain: pain, note: text, session: sessionId };
    if (runId !== null) body.run = runId;
    const which = moment;
    post("/api/checkins", body).then((answer) => {
      if (which === "before" && runId === null) before.push(answer.id);
      status.textContent = status.dataset.saved;
      const announcer = $("#announcer");
      if (announcer) announcer.textContent = status.dataset.saved;
      panel.dataset.saved = which;
      setTimeout(close, 1500);
    }).catch(() => { status.textContent = ""; });
  });

  function progress(extra) {
    if (runId === null) return;
    sentAt = Date.now();
    const body = Object.assign({ reached_s: reached, steps_skipped: skipped }, extra || {});
    post("/api/runs/" + runId, body).catch(() => {});
  }

  function startRun() {
    if (!allowed || runId !== null || starting) return;
    starting = post("/api/runs", { session: sessionId, checkins: before }).then((answer) => {
      runId = answer.id;
      progress();
    }).catch(() => {}).finally(() => { starting = null; });
  }

  audio.addEventListener("play", () => {
    if (moment === "before" && !panel.hidden && pain === null) close();
    startRun();
  });
  audio.addEventListener("timeupdate", () => {
    reached = Math.max(reached, audio.currentTime || 0);
    let index = -1;
    starts.forEach((start, i) => { if (start <= audio.currentTime) index = i; });
    if (index !== chapter || Date.now() - sentAt > PROGRESS_MS) {
      chapter = index;
      progress();
    }
  });
  const next = $("#next");
  if (next) next.addEventListener("click", () => { if (!audio.paused) skipped += 1; });
  audio.addEventListener("ended", () => {
    ended = true;
    reached = Math.max(reached, audio.duration || 0);
    progress({ outcome: "finished" });
    if (allowed) ask("after");
  });
  // A closed tab still tells how far it got: a beacon outlives the page.
  window.addEventListener("pagehide", () => {
    if (runId === null || ended || !navigator.sendBeacon) return;
    reached = Math.max(reached, audio.currentTime || 0);
    const body = { reached_s: reached, steps_skipped: skipped, outcome: "stopped" };
    navigator.sendBeacon("/api/runs/" + runId, JSON.stringify(body));
  });

  fetch("/api/access", { credentials: "same-origin" }).then((response) => {
    allowed = response.status === 204;
    if (!allowed) return;
    if (audio.paused && !ended) ask("before");
    else startRun();
  }).catch(() => {});
})();
