// voiceguide web player: follows the planned timeline while the audio plays.
// Plain script, no build step: the page is complete without it, this adds the live parts.
(function () {
  "use strict";

  const $ = (selector) => document.querySelector(selector);
  const sessionId = document.body.dataset.session;
  const audio = $("#audio");
  if (!sessionId || !audio) return;

  const ui = {
    play: $("#play"), back: $("#back"), next: $("#next"),
    exercise: $("#exercise"), side: $("#side"), step: $("#step"), phase: $("#phase"),
    chapterCount: $("#chapter-count"),
    hold: $("#hold"), holdLeft: $("#hold-left"), holdFill: $("#hold-fill"),
    status: $("#status"), announcer: $("#announcer"), announcePhases: $("#announce-phases"),
    resume: $("#resume"), resumeText: $("#resume-text"),
    restart: $("#restart"), strip: $("#strip"), bars: $("#strip-bars"), playhead: $("#playhead"),
    elapsed: $("#elapsed"), remaining: $("#remaining"),
    chapters: Array.from(document.querySelectorAll(".chapter")), transcript: $("#transcript"),
    chapterList: $("#chapters"), length: $("#length"),
  };
  const STEP_S = 15;
  const storageKey = "voiceguide:position:" + sessionId;
  // The page's words in the script's language, from the table of spoken phrases.
  const labelsElement = $("#labels");
  const words = labelsElement ? JSON.parse(labelsElement.textContent) : {};
  const say = (key, values) => (words[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  const language = document.documentElement.lang || "en";

  let plan = null; // the timeline, as `voiceguide check --json` prints it
  let duration = 0; // the cached file's, once the element plays it
  // Until a session is first rendered its audio is a stream (no length, no seeking)
  // and the page knows only an estimate; the finished file replaces the stream.
  const fileUrl = audio.getAttribute("src");
  let onFile = document.body.dataset.cached === "true";
  let fileReady = onFile;
  let switching = null; // {at, play} while the element changes to the file
  let wanted = null; // a position asked for that the stream cannot reach
  let resumeTried = false;
  let sounds = [];
  document.body.dataset.audio = onFile ? "file" : "stream";
  let chapters = ui.chapters.map((b) => ({
    start: Number(b.dataset.start), title: b.querySelector(".chapter-title").textContent, side: b.dataset.side || null,
  }));
  let speech = [], holds = [], breaths = [];
  let shown = {};
  let cues = [];
  let wakeLock = null;

  // ---- time helpers -------------------------------------------------------

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds + 1e-6));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function lastAtOrBefore(list, t) {
    // list sorted by start; binary search for the last item with start <= t
    let lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].start <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function containing(list, t) {
    const i = lastAtOrBefore(list, t);
    return i >= 0 && t < list[i].end ? list[i] : null;
  }

  function splitSide(chapter) {
    // The plan says the side; the title ends with its word, as the planner wrote it.
    if (!chapter.side) return { name: chapter.title, side: "" };
    const suffix = " (" + words[chapter.side] + ")";
    const name = chapter.title.endsWith(suffix) ? chapter.title.slice(0, -suffix.length) : chapter.title;
    return { name: name, side: words["side_" + chapter.side] };
  }

  // ---- what is happening now ---------------------------------------------

  function setText(element, key, text) {
    if (shown[key] !== text) { element.textContent = text; shown[key] = text; }
  }

  // ---- what a screen reader hears --------------------------------------------
  // One live region, spoken when playing carries the session into a new part (and,
  // if the person asks, a new breathing phase); a seek moves without a word, since
  // the person chose where to go and the control they used says it.

  let heardAt = null; // media time of the last frame drawn while playing on
  const announced = { chapter: undefined, breath: undefined };

  function announce(text) { ui.announcer.textContent = text; }

  function partWords(index) {
    const { name, side } = splitSide(chapters[index]);
    return [say("part_of", { n: index + 1, m: chapters.length }), name, side].filter(Boolean).join(". ") + ".";
  }

  let landedAt = null; // where the last seek landed
  // A seek to a part's start may land a hair before it (the media's own frame
  // grid): crossing the boundary just after landing is the seek, not playing on.
  const LANDING_S = 0.25;

  function followAloud(t, index, breath) {
    const justLanded = landedAt !== null && t >= landedAt && t - landedAt < LANDING_S;
    const playedOn =
      heardAt !== null && !audio.paused && t >= heardAt && t - heardAt < 1.0 && !justLanded;
    if (playedOn && index !== announced.chapter) announce(partWords(index));
    else if (playedOn && breath && breath !== announced.breath && ui.announcePhases.checked) {
      announce(words[breath.cue] || words.breathe);
    }
    announced.chapter = index;
    announced.breath = breath;
    heardAt = audio.paused ? null : t;
  }

  // Shown, and said too: the end, and what went wrong (not "Loading…" at every seek).
  function tell(text) { ui.status.textContent = text; announce(text); }

  try { ui.announcePhases.checked = localStorage.getItem("voiceguide:announce-phases") === "true"; } catch (e) { /* private mode */ }
  ui.announcePhases.addEventListener("change", () => {
    try { localStorage.setItem("voiceguide:announce-phases", String(ui.announcePhases.checked)); } catch (e) { /* private mode */ }
  });
  audio.addEventListener("seeking", () => { heardAt = null; landedAt = audio.currentTime; });

  function chapterIndexAt(t) { return Math.max(0, lastAtOrBefore(chapters, t)); }

  function now() { return switching ? switching.at : wanted !== null ? wanted : audio.currentTime || 0; }
  function total() { return duration || (plan ? plan.duration : 0); }

  function render() {
    const t = now();
    const total = duration || (plan ? plan.duration : 0);
    if (chapters.length) {
      const index = chapterIndexAt(t);
      const { name, side } = splitSide(chapters[index]);
      setText(ui.exercise, "exercise", name);
      setText(ui.chapterCount, "count", say("part_of", { n: index + 1, m: chapters.length }));
      setText(ui.side, "side", side);
      ui.side.hidden = !side;
      if (shown.chapter !== index) {
        ui.chapters.forEach((b, i) => b.setAttribute("aria-current", i === index ? "true" : "false"));
        shown.chapter = index;
        updateMediaMetadata(index);
      }
    }
    if (speech.length && (t > 0 || !audio.paused)) {
      const i = lastAtOrBefore(speech, t);
      setText(ui.step, "step", i >= 0 ? speech[i].text : speech[0].text);
    }
    const hold = containing(holds, t);
    ui.hold.hidden = !hold;
    if (hold) {
      setText(ui.holdLeft, "holdLeft", clock(Math.ceil(hold.end - t - 1e-6)));
      ui.holdFill.style.width = (100 * (t - hold.start) / (hold.end - hold.start)).toFixed(2) + "%";
    }
    // The breathing phase, unless the voice is saying just that right now.
    const breath = containing(breaths, t);
    const phase = breath ? words[breath.cue] || words.breathe : "";
    const plain = (text) => (text || "").toLowerCase().replace(/[^\p{L} ]/gu, "").trim();
    ui.phase.hidden = !phase || plain(phase) === plain(shown.step);
    if (phase) setText(ui.phase, "phase", phase);
    if (chapters.length && plan) followAloud(t, chapterIndexAt(t), breath);
    followTranscript();
    setText(ui.elapsed, "elapsed", clock(t));
    if (total > 0) {
      const fraction = Math.min(1, t / total);
      ui.playhead.style.left = (100 * fraction).toFixed(3) + "%";
      setText(ui.remaining, "remaining", "-" + clock(total - t));
      ui.strip.setAttribute("aria-valuenow", String(Math.round(t)));
      ui.strip.setAttribute("aria-valuetext", say("position_text", { time: clock(t), total: clock(total) }) + ", " + (shown.exercise || ""));
    }
  }

  let frame = 0;
  function tick() {
    render();
    maybeSwitch();
    frame = audio.paused ? 0 : requestAnimationFrame(tick);
  }

  // ---- the timeline strip --------------------------------------------------

  function drawStrip() {
    const total = plan.duration;
    const bars = document.createDocumentFragment();
    const add = (cls, start, end) => {
      const bar = document.createElement("div");
      bar.className = "bar " + cls;
      bar.style.left = (100 * start / total) + "%";
      if (end !== null) bar.style.width = Math.max(0.15, 100 * (end - start) / total) + "%";
      bars.appendChild(bar);
    };
    chapters.forEach((c, i) => { if (i) add("bar-chapter", c.start, null); });
    holds.forEach((e) => add("bar-hold", e.start, e.end));
    mergeRuns(breaths).forEach((e) => add("bar-breath", e.start, e.end));
    speech.forEach((e) => add("bar-speech", e.start, e.end));
    ui.bars.replaceChildren(bars);
  }

  function mergeRuns(list) {
    const runs = [];
    for (const e of list) {
      const last = runs[runs.length - 1];
      if (last && e.start - last.end < 0.05) last.end = e.end; else runs.push({ start: e.start, end: e.end });
    }
    return runs;
  }

  function seekTo(seconds, play) {
    const end = total();
    const t = Math.max(0, end > 0 ? Math.min(seconds, Math.max(0, end - 0.05)) : seconds);
    if (!onFile && !reachable(t)) {
      // The stream cannot go there: the file can, as soon as it is ready.
      wanted = t;
      if (play) wantedPlay = true;
      ui.status.textContent = words.preparing_session;
      if (fileReady) switchToFile();
      render();
      return;
    }
    heardAt = null;
    audio.currentTime = t;
    render();
    if (play && audio.paused) start();
  }

  function reachable(t) {
    const ranges = audio.seekable;
    for (let i = 0; i < ranges.length; i++) if (ranges.start(i) <= t && t <= ranges.end(i)) return true;
    return false;
  }

  function stripSeek(event) {
    if (!plan) return;
    const rect = ui.strip.getBoundingClientRect();
    seekTo(total() * Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)), false);
  }

  ui.strip.addEventListener("click", stripSeek);
  ui.strip.addEventListener("keydown", (event) => {
    const t = audio.currentTime;
    const moves = {
      ArrowLeft: t - STEP_S, ArrowDown: t - STEP_S, ArrowRight: t + STEP_S, ArrowUp: t + STEP_S,
      Home: 0, End: total(), PageUp: chapterStart(-1), PageDown: chapterStart(1),
    };
    if (event.key in moves) { event.preventDefault(); event.stopPropagation(); seekTo(moves[event.key], false); }
  });

  // ---- chapters ----------------------------------------------------------

  function chapterStart(offset) {
    const t = now();
    if (!chapters.length) return t;
    let index = chapterIndexAt(t);
    // "previous" from a few seconds into a chapter means its own start, as music players do
    if (offset < 0 && t - chapters[index].start > 3) offset = 0;
    index = Math.min(chapters.length - 1, Math.max(0, index + offset));
    return chapters[index].start;
  }

  ui.chapterList.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".chapter");
    if (button && plan) seekTo(chapters[Number(button.dataset.index)].start, true);
  });
  ui.next.addEventListener("click", () => { if (plan && chapters.length) seekTo(chapterStart(1), false); });
  ui.back.addEventListener("click", () => seekTo(now() - STEP_S, false));

  function buildChapters() {
    // The page lists the estimated chapters by title only; the plan gives their times.
    const items = document.createDocumentFragment();
    chapters.forEach((c, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chapter";
      button.dataset.index = String(i);
      button.dataset.start = String(c.start);
      if (c.side) button.dataset.side = c.side;
      const title = document.createElement("span");
      title.className = "chapter-title";
      title.textContent = c.title;
      const time = document.createElement("span");
      time.className = "chapter-time";
      time.textContent = clock(c.start);
      button.append(title, time);
      li.appendChild(button);
      items.appendChild(li);
    });
    ui.chapterList.replaceChildren(items);
    ui.chapters = Array.from(ui.chapterList.querySelectorAll(".chapter"));
    shown.chapter = undefined;
  }

  // ---- transcript from the WebVTT track -----------------------------------

  function buildTranscript(track) {
    cues = Array.from(track.cues || []);
    const items = document.createDocumentFragment();
    cues.forEach((cue, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cue";
      button.dataset.index = String(i);
      const time = document.createElement("span");
      time.className = "cue-time";
      time.textContent = clock(cue.startTime);
      button.append(time, document.createTextNode(cue.text));
      button.addEventListener("click", () => seekTo(cue.startTime, false));
      li.appendChild(button);
      items.appendChild(li);
    });
    ui.transcript.replaceChildren(items);
    shown.cue = undefined;
    followTranscript();
  }

  function followTranscript() {
    // The cue being said, or the last one said: the same rule as the step text.
    const t = now();
    let current = -1;
    for (let i = 0; i < cues.length && cues[i].startTime <= t + 1e-3; i++) current = i;
    if (current === shown.cue) return;
    shown.cue = current;
    ui.transcript.querySelectorAll(".cue").forEach((button, i) => {
      button.classList.toggle("active", i === current);
      button.classList.toggle("past", i < current);
      if (i === current) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
    });
    const element = ui.transcript.querySelector(".cue.active");
    if (element) {
      // Scroll the transcript box only, never the page the person is looking at.
      const box = ui.transcript;
      const top = element.offsetTop - box.offsetTop - box.clientHeight / 3;
      if (Math.abs(box.scrollTop - top) > 4) box.scrollTop = top;
    }
  }

  function followTrack(trackElement) {
    const track = trackElement.track;
    track.mode = "hidden"; // load the cues and fire cuechange without drawing captions
    const ready = () => buildTranscript(track);
    trackElement.addEventListener("load", ready);
    if (trackElement.readyState === 2) ready();
    track.addEventListener("cuechange", followTranscript);
  }

  function addTrack() {
    // Only with the file: an element waits for its text tracks before it plays,
    // and the transcript is there only once the render is done.
    if (audio.querySelector("track")) return;
    const trackElement = document.createElement("track");
    trackElement.kind = "captions";
    trackElement.src = "/sessions/" + encodeURIComponent(sessionId) + ".vtt";
    trackElement.srclang = language;
    trackElement.label = words.transcript;
    trackElement.default = true;
    audio.appendChild(trackElement);
    followTrack(trackElement);
  }

  const trackElement = audio.querySelector("track");
  if (trackElement) followTrack(trackElement);

  // ---- play / pause ------------------------------------------------------

  let wantedPlay = false;
  function start() {
    if (switching) { switching.play = true; return; }
    if (wanted !== null) { wantedPlay = true; return; }
    const playing = audio.play();
    if (audio.readyState < 3) ui.status.textContent = words.preparing_audio;
    if (playing && playing.catch) {
      playing.catch((error) => { tell(say("could_not_start", { error: error.message })); });
    }
  }

  function toggle() {
    if (switching) switching.play = !switching.play;
    else if (wanted !== null) wantedPlay = !wantedPlay;
    else if (audio.paused) start();
    else audio.pause();
  }

  ui.play.addEventListener("click", toggle);
  ui.restart.addEventListener("click", () => { seekTo(0, false); ui.resume.hidden = true; forget(); });

  audio.addEventListener("play", () => {
    if (switching) return;
    document.body.classList.add("is-playing");
    ui.play.setAttribute("aria-label", words.pause);
    if (!frame) frame = requestAnimationFrame(tick);
    keepScreenOn();
    setPlaybackState("playing");
  });
  let kept = false;
  audio.addEventListener("playing", () => {
    ui.status.textContent = "";
    if (onFile && !switching && !kept) {
      // Played from the finished file: offline.js keeps what it needs for use offline.
      kept = true;
      const base = "/sessions/" + encodeURIComponent(sessionId);
      const urls = [fileUrl, base + ".json", base + ".vtt"];
      document.dispatchEvent(new CustomEvent("voiceguide:played", { detail: { urls: urls } }));
    }
  });
  audio.addEventListener("waiting", () => { ui.status.textContent = words.loading; });
  audio.addEventListener("pause", () => {
    if (switching) return;
    document.body.classList.remove("is-playing");
    ui.play.setAttribute("aria-label", words.play);
    remember();
    releaseScreen();
    setPlaybackState("paused");
    render();
  });
  audio.addEventListener("ended", () => {
    if (!onFile && !fileReady) { ui.status.textContent = words.loading; return; }
    forget(); tell(words.done); });
  audio.addEventListener("error", () => {
    tell(say("audio_failed", { error: audio.error ? audio.error.code : "?" }));
  });
  audio.addEventListener("timeupdate", () => {
    if (switching) return;
    if (audio.paused) render();
    maybeRemember();
    updatePosition();
    maybeSwitch();
  });
  audio.addEventListener("seeked", () => { if (switching) return; render(); updatePosition(); remember(); });
  function onMetadata() {
    if (!onFile) return; // a stream: no length, and nothing to resume in it
    duration = isFinite(audio.duration) ? audio.duration : 0;
    if (switching) { finishSwitch(); return; }
    if (!resumeTried) { resumeTried = true; resumePosition(); }
    render();
    updatePosition();
  }
  audio.addEventListener("loadedmetadata", onMetadata);

  // ---- from the stream to the file -----------------------------------------------

  function whenFileReady() {
    // A HEAD of the audio is answered once the finished file is there.
    let tries = 0;
    const ask = () => fetch(fileUrl, { method: "HEAD", cache: "no-store" })
      .then((response) => {
        if (!response.ok) throw new Error(response.status);
        fileReady = true;
        maybeSwitch();
      })
      .catch(() => { if (++tries < 30) setTimeout(ask, 2000); });
    ask();
  }

  function quietAhead(t) {
    // Seconds until the next sound (Infinity after the last): a switch made in
    // silence is not heard, and the session simply goes on a moment later.
    for (const s of sounds) { if (s.end > t) return s.start > t ? s.start - t : 0; }
    return Infinity;
  }

  function maybeSwitch() {
    if (onFile || !fileReady || switching) return;
    if (audio.ended) return; // the stream played to its end: so did the session
    if (wanted !== null || audio.paused || (plan && quietAhead(audio.currentTime) > 0.8)) switchToFile();
  }

  function switchToFile() {
    const at = wanted !== null ? wanted : audio.currentTime;
    const play = wanted !== null ? wantedPlay : !audio.paused;
    wanted = null;
    wantedPlay = false;
    switching = { at: at, play: play };
    onFile = true;
    ui.status.textContent = "";
    // Another URL: the browser must not take the stream for the file.
    audio.src = fileUrl + "?file";
  }

  function finishSwitch() {
    const { at, play } = switching;
    const done = () => {
      switching = null;
      document.body.dataset.audio = "file";
      addTrack();
      render();
      updatePosition();
      if (play) { audio.play().catch((error) => { tell(say("could_not_start", { error: error.message })); }); }
    };
    audio.addEventListener("seeked", done, { once: true });
    audio.currentTime = at;
  }

  // Single keys can be typed by accident, or by speech input: they can be turned off.
  const shortcuts = $("#shortcuts");
  try { shortcuts.checked = localStorage.getItem("voiceguide:shortcuts") !== "false"; } catch (e) { /* private mode */ }
  shortcuts.addEventListener("change", () => {
    try { localStorage.setItem("voiceguide:shortcuts", String(shortcuts.checked)); } catch (e) { /* private mode */ }
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || !shortcuts.checked) return;
    // What a person types (the check-in's note) is text, not a command.
    if (event.target.closest && event.target.closest("textarea, input:not([type=checkbox]):not([type=radio]), select, [contenteditable]")) return;
    const onControl = event.target.closest && event.target.closest("button, a, input, [role=slider]");
    if ((event.key === " " || event.key === "k") && !onControl) { event.preventDefault(); toggle(); }
    else if (event.key === "j" || (event.key === "ArrowLeft" && !onControl)) seekTo(audio.currentTime - STEP_S, false);
    else if (event.key === "l" || (event.key === "ArrowRight" && !onControl)) seekTo(audio.currentTime + STEP_S, false);
    else if (event.key === "n" && chapters.length) seekTo(chapterStart(1), false);
    else if (event.key === "p" && chapters.length) seekTo(chapterStart(-1), false);
  });

  // ---- resume after a reload -------------------------------------------------

  let lastSaved = 0;
  function remember() {
    if (switching) return;
    const t = audio.currentTime;
    if (onFile && !(duration > 0) && isFinite(audio.duration)) duration = audio.duration;
    if (!(duration > 0) || t < 1) return;
    try { localStorage.setItem(storageKey, JSON.stringify({ t: t, duration: duration })); } catch (e) { /* private mode */ }
    lastSaved = Date.now();
  }
  function maybeRemember() { if (Date.now() - lastSaved > 2000) remember(); }
  function forget() { try { localStorage.removeItem(storageKey); } catch (e) { /* private mode */ } }

  function resumePosition() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    // A different length means the script changed: its old positions mean nothing now.
    if (!saved || Math.abs(saved.duration - duration) > 0.5 || saved.t < 3 || saved.t > duration - 3) return;
    audio.currentTime = saved.t;
    ui.resumeText.textContent = say("resumed", { time: clock(saved.t) });
    ui.resume.hidden = false;
  }
  window.addEventListener("pagehide", remember);

  // ---- lock screen, headphones and the screen itself ---------------------------

  const media = "mediaSession" in navigator ? navigator.mediaSession : null;

  function artwork(text) {
    // The chapter, drawn as the "album art" a lock screen shows.
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 512;
    const g = canvas.getContext("2d");
    if (!g) return [];
    g.fillStyle = "#0e1216"; g.fillRect(0, 0, 512, 512);
    g.strokeStyle = "#8fc7b2"; g.lineWidth = 10; g.beginPath(); g.arc(256, 170, 70, 0, 2 * Math.PI); g.stroke();
    g.fillStyle = "#e9e3d8"; g.font = "600 40px system-ui, sans-serif"; g.textAlign = "center";
    const words = text.split(" "), lines = [];
    let line = "";
    for (const word of words) {
      const tryLine = line ? line + " " + word : word;
      if (g.measureText(tryLine).width > 440 && line) { lines.push(line); line = word; } else line = tryLine;
    }
    lines.push(line);
    lines.slice(0, 3).forEach((l, i) => g.fillText(l, 256, 320 + i * 50));
    return [{ src: canvas.toDataURL("image/png"), sizes: "512x512", type: "image/png" }];
  }

  function updateMediaMetadata(index) {
    if (!media || !window.MediaMetadata) return;
    // The lock screen's title is the part being done, with its side: what a
    // person lying down needs from a glance.
    const session = plan ? plan.title : $("#title").textContent;
    const chapter = chapters[index];
    let title = session;
    if (chapter) {
      const { name, side } = splitSide(chapter);
      title = side ? name + " · " + side : name;
    }
    media.metadata = new MediaMetadata({ title: title, artist: "voiceguide", album: session, artwork: artwork(title) });
  }

  function setPlaybackState(state) { if (media) media.playbackState = state; }

  function updatePosition() {
    if (!media || !media.setPositionState || !(duration > 0)) return;
    try {
      media.setPositionState({ duration: duration, playbackRate: audio.playbackRate, position: Math.min(audio.currentTime, duration) });
    } catch (e) { /* a browser that refuses a value mid-seek */ }
  }

  if (media) {
    const handlers = {
      play: () => start(),
      pause: () => audio.pause(),
      seekbackward: (d) => seekTo(audio.currentTime - ((d && d.seekOffset) || STEP_S), false),
      seekforward: (d) => seekTo(audio.currentTime + ((d && d.seekOffset) || STEP_S), false),
      seekto: (d) => seekTo(d.seekTime, false),
      previoustrack: () => seekTo(chapterStart(-1), false),
      nexttrack: () => seekTo(chapterStart(1), false),
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try { media.setActionHandler(action, handler); } catch (e) { /* action not offered here */ }
    }
  }

  async function keepScreenOn() {
    if (!("wakeLock" in navigator) || wakeLock) return;
    try {
      wakeLock = await navigator.wakeLock.request("screen");
      wakeLock.addEventListener("release", () => { wakeLock = null; });
    } catch (e) { wakeLock = null; /* refused: battery saver, or not visible */ }
  }
  function releaseScreen() { if (wakeLock) { wakeLock.release(); wakeLock = null; } }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !audio.paused) keepScreenOn();
  });

  // ---- the plan ------------------------------------------------------------

  fetch("/sessions/" + encodeURIComponent(sessionId) + ".json")
    .then((response) => { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then((timeline) => {
      plan = timeline;
      const byStart = (a, b) => a.start - b.start;
      speech = plan.events.filter((e) => e.kind === "speech").sort(byStart);
      holds = plan.events.filter((e) => e.kind === "hold").sort(byStart);
      breaths = plan.events.filter((e) => e.kind === "breath").sort(byStart);
      sounds = plan.events.filter((e) => e.kind === "speech" || e.kind === "tone").sort(byStart);
      chapters = plan.chapters.map((c) => ({ start: c.start, end: c.end, title: c.title, side: c.side || null }));
      if (document.body.dataset.estimated === "true") {
        buildChapters();
        ui.length.textContent = clock(plan.duration);
        ui.strip.setAttribute("aria-valuemax", String(Math.round(plan.duration)));
        document.body.dataset.estimated = "false";
      }
      drawStrip();
      shown = { cue: shown.cue };
      render();
      // For cues.js (vibration and the breathing view), which may load before or after.
      window.voiceguidePlan = plan;
      document.dispatchEvent(new CustomEvent("voiceguide:plan", { detail: { plan: plan } }));
      document.body.dataset.ready = "true";
    })
    .catch((error) => { tell(say("plan_failed", { error: error.message })); });

  if (!fileReady) whenFileReady();
  // A file the browser already holds can load before this script runs, and then
  // its loadedmetadata has come and gone: a reload would not resume.
  if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) onMetadata();
})();
