// The felt and seen breathing cues, for a noisy room or for hearing loss:
// vibration patterns (off until the person turns them on) and a full-screen
// breathing view. Both follow the plan's times, read against the audio's clock.
// A plain ES module: player.js hands over the plan with a "voiceguide:plan" event.

const audio = document.querySelector("#audio");
const toggle = document.querySelector("#vibrate");
const view = document.querySelector("#breath-view");
const circle = document.querySelector("#breath-circle");
const word = document.querySelector("#breath-word");
const openButton = document.querySelector("#breath-view-open");
const closeButton = document.querySelector("#breath-view-close");
const words = JSON.parse(document.querySelector("#labels").textContent);

// One pulse to breathe in, a double to breathe out, a tap at a hold, a ripple at its end.
export const PATTERNS = {
  inhale: [400],
  exhale: [120, 100, 120],
  hold_in: [80],
  hold_out: [80],
  hold: [80],
  hold_end: [60, 60, 60, 60, 60],
};
// At one moment the most telling cue wins: the end of a hold, then the breath.
const RANK = { hold_end: 0, inhale: 1, exhale: 1, hold_in: 1, hold_out: 1, hold: 2 };
const SAME_MOMENT_S = 0.05;
const STORAGE = "voiceguide:vibrate";

let cues = []; // {t, kind}, in time order
let breaths = [];
let holds = [];
let heard = null; // the media time last checked while playing on, null after a seek

export function cuesOf(plan) {
  const found = [];
  for (const e of plan.events) {
    if (e.kind === "breath" && PATTERNS[e.cue]) found.push({ t: e.start, kind: e.cue });
    if (e.kind === "hold") found.push({ t: e.start, kind: "hold" }, { t: e.end, kind: "hold_end" });
  }
  found.sort((a, b) => a.t - b.t || RANK[a.kind] - RANK[b.kind]);
  const kept = [];
  for (const cue of found) {
    const last = kept[kept.length - 1];
    if (last && cue.t - last.t < SAME_MOMENT_S) continue; // ranked first above
    kept.push(cue);
  }
  return kept;
}

function vibrateCrossed(t) {
  const playingOn = heard !== null && t >= heard && t - heard < 1.0;
  if (playingOn && toggle.checked && navigator.vibrate) {
    for (const cue of cues) {
      if (cue.t > heard && cue.t <= t) navigator.vibrate(PATTERNS[cue.kind]);
    }
  }
  heard = audio.paused ? null : t;
}

function within(list, t) {
  return list.find((e) => e.start <= t && t < e.end) || null;
}

function drawView(t) {
  if (view.hidden) return;
  // The disc grows over a breath in, stays full while held, shrinks over a breath
  // out and stays small while empty; its colour is the phase's.
  const breath = within(breaths, t);
  const hold = within(holds, t);
  let phase = breath ? breath.cue : hold ? "hold" : "rest";
  let scale = 0.4;
  if (breath) {
    const done = Math.min(1, Math.max(0, (t - breath.start) / (breath.end - breath.start)));
    scale = { inhale: 0.4 + 0.6 * done, hold_in: 1, exhale: 1 - 0.6 * done, hold_out: 0.4 }[phase];
  } else if (hold) {
    scale = 1;
  }
  circle.style.transform = "scale(" + scale.toFixed(4) + ")";
  if (view.dataset.phase !== phase) {
    view.dataset.phase = phase;
    word.textContent = phase === "rest" ? "" : phase === "hold" ? words.hold : words[phase] || "";
  }
}

function check() {
  const t = audio.currentTime;
  vibrateCrossed(t);
  drawView(t);
}

function loop() {
  check();
  // Within a frame of the plan's time while playing, visible or not.
  if (!audio.paused) setTimeout(loop, 16);
}

function start(plan) {
  cues = cuesOf(plan);
  const byStart = (a, b) => a.start - b.start;
  breaths = plan.events.filter((e) => e.kind === "breath").sort(byStart);
  holds = plan.events.filter((e) => e.kind === "hold").sort(byStart);
  audio.addEventListener("play", () => { heard = audio.currentTime; loop(); });
  audio.addEventListener("seeking", () => { heard = null; });
  audio.addEventListener("seeked", () => { heard = audio.paused ? null : audio.currentTime; drawView(audio.currentTime); });
  if (!audio.paused) loop();
  drawView(audio.currentTime);
}

try { toggle.checked = localStorage.getItem(STORAGE) === "true"; } catch (e) { /* private mode */ }
toggle.addEventListener("change", () => {
  try { localStorage.setItem(STORAGE, String(toggle.checked)); } catch (e) { /* private mode */ }
  if (toggle.checked && navigator.vibrate) navigator.vibrate(PATTERNS.inhale); // feel what it will be
});

// A modal view: while it is open the page behind it is inert (out of reach of
// the keyboard and of a screen reader's reading), and Tab goes round its own
// controls rather than on to the browser's.
function setBehindInert(inert) {
  for (const element of document.body.children) if (element !== view) element.inert = inert;
}
openButton.addEventListener("click", () => {
  view.hidden = false;
  setBehindInert(true);
  drawView(audio.currentTime);
  if (view.requestFullscreen) view.requestFullscreen().catch(() => { /* shown in the page instead */ });
  closeButton.focus();
});
// Closed, focus goes back to the button that opened the view, once that button
// can take it: until the browser has left fullscreen (asynchronously, in a few
// milliseconds or, on a phone that animates it, a few hundred) everything outside
// the fullscreen element is inert and refuses focus. So focus is tried at once
// and again when the fullscreen is over, never on a guess at how long that takes.
let focusBack = false;
function returnFocus() {
  if (!focusBack || !view.hidden) return;
  const at = document.activeElement;
  if (at && at !== document.body && !view.contains(at)) { focusBack = false; return; } // put elsewhere since
  openButton.focus();
  if (document.activeElement === openButton) focusBack = false;
}
function closeView() {
  view.hidden = true;
  setBehindInert(false);
  focusBack = true;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  returnFocus();
}
closeButton.addEventListener("click", closeView);
view.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeView();
  if (event.key !== "Tab") return;
  const controls = Array.from(view.querySelectorAll("button, [href], input, [tabindex]:not([tabindex='-1'])"));
  const at = controls.indexOf(document.activeElement);
  event.preventDefault();
  controls[(at + (event.shiftKey ? -1 : 1) + controls.length) % controls.length].focus();
});
document.addEventListener("fullscreenchange", () => {
  if (document.fullscreenElement === view && view.hidden) {
    // Closed before the browser had gone fullscreen: the hidden view would fill
    // the screen and leave the page out of reach. Leave it; focus comes back then.
    focusBack = true;
    document.exitFullscreen().catch(() => {});
  } else if (!document.fullscreenElement) {
    if (!view.hidden) closeView(); // left with the browser's own Escape or gesture
    // Not within this event's task: focus cannot move back to the page until it is over.
    setTimeout(returnFocus, 0);
  }
});

if (window.voiceguidePlan) start(window.voiceguidePlan);
else document.addEventListener("voiceguide:plan", (event) => start(event.detail.plan), { once: true });
