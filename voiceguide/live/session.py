"""``voiceguide play``: a session through the sound device, steered by keys."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from .. import pipeline
from ..core.model import Session, Timeline
from ..errors import AudioDeviceError, UsageError, UserError
from ..history.log import Outcome
from ..history.recorder import Recorder
from ..pipeline import STEP_GAP_S, Bed, Mastered, write_text_atomic
from ..report import timeline_json
from ..speech.clips import OUTPUT_RATE_HZ, ClipSource
from . import checkin, edits, listen, recap
from .device import Output, open_output
from .keys import Keys, NoKeys, keys
from .keys import available as keys_available
from .listen import Heard, Listener
from .opening import OPENING_S, opening
from .player import Player
from .pulse import PulseOutput
from .status import StatusLine, status_line

# The device has taken nothing for this long: it has gone away.
STALL_S = 3.0
POLL_S = 0.1
LISTEN_POLL_S = 0.02
SKIP_LEAD_S = 0.5
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True)
class PlayOptions:
    device: str | None = None
    start_from: str | None = None
    wait: bool = False
    extend_s: float = edits.DEFAULT_EXTEND_S
    journal: Path | None = None
    quiet: bool = False  # no line saying which voice speaks
    log: bool = True  # record the session in the session log
    check_in: bool = False  # ask for a pain rating before and after (on a terminal)
    log_path: Path | None = None  # the session log (default: the user's)
    listen: bool = False  # spoken commands from the microphone (live/listen.py)
    mic: str | None = None


@dataclass(frozen=True)
class PlayResult:
    title: str
    played_s: float
    finished: bool  # played to the end (or closed with q), not stopped


class Speaker:
    """Phrases said live, one at a time: engines keep global state."""

    def __init__(self, source: ClipSource) -> None:
        self.source = source
        self.lock = threading.Lock()

    def clip(self, text: str) -> np.ndarray:
        with self.lock:
            return self.source.clip(text)


class _Background:
    """Prepares and masters the whole session while its opening plays."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._work = work
        self.thread = threading.Thread(target=self._run, name="prepare", daemon=True)

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # reported by the controller, on its thread
            self.error = exc
        finally:
            self.done.set()


def play(
    path: Path,
    voice: pipeline.VoiceOptions,
    options: PlayOptions,
    status_stream: TextIO | None = None,
) -> PlayResult:
    session = pipeline.with_voice_options(pipeline.load_session(path), voice)
    if options.wait and not keys_available():
        raise UsageError("--wait needs a keyboard: run play in a terminal")
    # Loading a neural voice is most of the wait for the first sound: it starts now,
    # beside opening the device.
    loaded = pipeline.preload_engine(session, voice)
    try:
        output = open_output(OUTPUT_RATE_HZ, options.device)
        recorder = Recorder.open(options.log, options.log_path)
        try:
            controller = _Controller(session, voice, options, output, status_stream, recorder)
            return controller.run(_session_id(path), _where(options.device))
        finally:
            recorder.close()
            output.close()
    finally:
        # Even when nothing needed the voice (every phrase cached, or a bad
        # --from): a process that exits while onnxruntime builds a session aborts.
        loaded()


class _Controller:
    def __init__(
        self,
        session: Session,
        voice: pipeline.VoiceOptions,
        options: PlayOptions,
        output: Output | PulseOutput,
        status_stream: TextIO | None,
        recorder: Recorder | None = None,
    ) -> None:
        self.session = session
        self.recorder = recorder or Recorder(None)
        # What the device plays: a check-in's prompt, then the session.
        self.feed = checkin.Feed()
        self.voice = voice
        self.options = options
        self.output = output
        self.status = StatusLine(status_stream)
        self.speaker = Speaker(pipeline.clip_source(session, voice))
        if not options.quiet:
            # On stdout: stderr carries the status line and errors, one line each.
            spoken_by = pipeline.spoken_by(session, self.speaker.source.engine, voice)
            print(f"voice: {spoken_by}", flush=True)
        self.rate = OUTPUT_RATE_HZ
        self.counts = recap.count_words(session.language)
        self.closing = False
        self.recap = ""
        self.note = ""
        # n and b pressed while the session is still being prepared: they need
        # the whole plan, so they are carried out the moment it is there.
        self.deferred: list[str] = []
        self.deferred_lock = threading.Lock()
        self._planned_samples = -1
        self.ack = pipeline.acknowledgement()

    # -- getting ready -----------------------------------------------------------------
    def _whole(self) -> tuple[Timeline, Mastered, Bed | None]:
        with self.speaker.lock:
            prepared = pipeline.prepare_session(
                self.session, self.voice, source=self.speaker.source
            )
            self.speaker.source.clip(recap.closing_text(self.session.language))
        return (prepared.timeline, *pipeline.mastered_with_bed(prepared))

    def _player(self) -> tuple[Player, _Background | None]:
        if self.options.start_from is None:
            first = self._opening(OPENING_S[0])
            if first is not None:
                mastered, bed = pipeline.mastered_with_bed(first)
                player = Player(
                    first.timeline,
                    mastered,
                    final=False,
                    wait_points=self._waits(first.timeline),
                    bed=bed,
                )

                def finish() -> None:
                    for min_s in OPENING_S[1:]:
                        longer = self._opening(min_s)
                        if longer is None:
                            break
                        mastered, bed = pipeline.mastered_with_bed(longer)
                        player.upgrade(longer.timeline, mastered, self._waits, final=False, bed=bed)
                    timeline, mastered, bed = self._whole()
                    player.upgrade(timeline, mastered, self._waits, bed=bed)
                    with self.deferred_lock:
                        deferred, self.deferred = self.deferred, []
                    for action in deferred:
                        self._act(player, action)
                    self._ready_to_close(player)

                return player, _Background(finish)
        timeline, mastered, bed = self._whole()
        if self.options.start_from is not None:
            try:
                start = edits.start_of(timeline, len(self.session.steps), self.options.start_from)
            except ValueError as exc:
                raise UsageError(f"--from: {exc}") from None
            timeline = edits.splice(timeline, 0, start)
        player = Player(timeline, mastered, wait_points=self._waits(timeline), bed=bed)
        self._ready_to_close(player)
        return player, None

    def _ready_to_close(self, player: Player) -> None:
        """The closing cue levelled ahead: q must not make the sound stutter."""
        text = recap.closing_text(self.session.language)
        player.say(text, self.speaker.clip(text))

    def _opening(self, min_s: float) -> pipeline.Prepared | None:
        """The first steps lasting ``min_s``; None when they are the whole session."""
        with self.speaker.lock:
            part = opening(self.session, self.speaker.source, self.voice, min_s)
        return part if len(part.session.steps) < len(self.session.steps) else None

    def _waits(self, timeline: Timeline) -> list[int]:
        return edits.wait_points(timeline) if self.options.wait else []

    # -- playing -------------------------------------------------------------------------
    def run(self, session_id: str = "", where: str = "here") -> PlayResult:
        asking = self.options.check_in and keys_available()
        before = self._check_in() if asking else None
        player, background = self._player()
        planned_ms = round(pipeline.estimated_plan(self.session).duration_s * 1000)
        if player.final:
            planned_ms = self._ms(player.timeline.duration_samples)
        # The device's thread needs the interpreter lock every period; while the
        # rest of the session is prepared, it must get it back quickly.
        switch_interval_s = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        player.latency_s = self.output.buffer_frames / self.rate
        player.start()
        outcome: Outcome = "failed"
        listener: Listener | None = None
        try:
            self.feed.pull = player.pull
            self.output.on_dropped(player.retract)
            player.unheard_frames = self.output.unheard_frames
            self._start_output()
            # Written once the session sounds: the first word must not wait on a disk.
            self.recorder.start(session_id, self.session.title, "play", where, planned_ms)
            if before is not None:
                self.recorder.checkin("before", before, "", session_id)
            if background is not None:
                self._settle(player)
                background.thread.start()
            listener = self._listener(player) if self.options.listen else None
            with keys() as reader:
                self._loop(player, reader, background, listener)
            if player.finished.is_set():
                self._drain(player)
            outcome = "finished" if player.finished.is_set() and not self.closing else "stopped"
        except KeyboardInterrupt:
            outcome = "stopped"
            raise
        finally:
            if listener is not None:
                listener.close()
            sys.setswitchinterval(switch_interval_s)
            self.status.clear()
            player.stop()
            self.recorder.end(outcome, self._ms(player.heard()[1]))
            if self.options.journal is not None:
                _write_journal(self.options.journal, player)
        if asking:
            after = self._check_in()
            if after is not None:
                self.recorder.checkin("after", after, "", session_id)
        timeline, at = player.heard()
        return PlayResult(timeline.title, at / self.rate, player.finished.is_set())

    def _ms(self, samples: int) -> int:
        return round(samples * 1000 / self.rate)

    def _start_output(self) -> None:
        if not self.feed.started:
            self.feed.started = True
            self.output.start(self.feed)

    def _check_in(self) -> int | None:
        """The spoken question and a key: the rating, or None when skipped."""
        text = checkin.question(self.session.language)
        self.feed.say(self.speaker.clip(text))
        self._start_output()
        self.status.show(checkin.KEYS_HELP)
        try:
            with keys() as reader:
                return checkin.read_rating(reader)
        finally:
            self.feed.say(None)
            self.status.clear()

    def _listener(self, player: Player) -> Listener | None:
        """Spoken commands, or one line saying why not (play goes on with keys)."""
        reason = listen.unavailable()
        if reason is None:
            try:
                return Listener(player.quiet_since, self.options.mic)
            except AudioDeviceError as exc:
                reason = str(exc)
        self.status.clear()
        print(f"voiceguide: not listening: {reason}; keys only", file=sys.stderr, flush=True)
        return None

    def _loop(
        self,
        player: Player,
        reader: Keys,
        background: _Background | None,
        listener: Listener | None = None,
    ) -> None:
        frames, moved = player.device_frames, time.monotonic()
        # Keys are read in short turns while listening: a spoken command waits
        # for the turn to end.
        poll_s = LISTEN_POLL_S if listener is not None else POLL_S
        while not player.finished.is_set():
            for action in reader.read(poll_s):
                if action == "eof":
                    reader = NoKeys()
                elif self._act(player, action) == "stop":
                    return
            for heard in listener.read() if listener is not None else []:
                if self._heard(player, heard) == "stop":
                    return
            if background is not None and background.done.is_set() and background.error:
                error = background.error
                raise error if isinstance(error, UserError) else RuntimeError(error)
            timeline, at = player.heard()
            self.recorder.progress(
                self._ms(at),
                edits.step_at(timeline, at),
                self._planned(player, timeline),
            )
            line = status_line(
                timeline, at, paused=player.paused, waiting=player.waiting, planned=player.final
            )
            self.status.show(f"{line}  {self.note}" if self.note else line)
            if player.device_frames != frames:
                frames, moved = player.device_frames, time.monotonic()
            elif time.monotonic() - moved > STALL_S:
                raise AudioDeviceError(
                    "the audio device stopped taking sound (unplugged, or its sound server "
                    "ended); playback stopped"
                )

    def _planned(self, player: Player, timeline: Timeline) -> int | None:
        """The session's length once the whole of it is planned (and after each edit)."""
        if not player.final or timeline.duration_samples == self._planned_samples:
            return None
        self._planned_samples = timeline.duration_samples
        return self._ms(timeline.duration_samples)

    def _settle(self, player: Player) -> None:
        """Until the device has taken its first period (the server then holds a
        second of sound): preparing the rest of the session competes for the
        processor and the interpreter lock, and must not delay the first sound."""
        target = self.output.buffer_frames
        deadline = time.monotonic() + 2.0
        while player.device_frames < target and time.monotonic() < deadline:
            time.sleep(0.01)

    def _drain(self, player: Player) -> None:
        """Until the device has played what it took: closing it drops its buffer."""
        target = player.device_frames + 2 * self.output.buffer_frames
        deadline = time.monotonic() + 4 * self.output.buffer_frames / self.rate + 0.5
        while player.device_frames < target and time.monotonic() < deadline:
            time.sleep(0.01)

    def _act(
        self, player: Player, action: str, later: list[Callable[[], None]] | None = None
    ) -> str | None:
        """A key's action. Slow work that must not hold the device (making the
        recap) goes into ``later`` when given, for after the caller's cut."""
        self.note = ""
        if player.waiting and action not in ("quit", "pause"):
            with self.output.cut():
                player.release_wait()
            return None
        if action == "quit":
            if self.closing:
                return "stop"
            player.seal()
            self._say(player, "close", recap.closing_text(self.session.language), edits.closed)
            self.closing = True
        elif action == "pause":
            if not player.paused:
                with self.output.cut():
                    player.pause()
                # Said on resuming; made now, while nothing plays.
                timeline, at = player.heard()
                self.recap = recap.recap_text(timeline, at, planned=player.final)
                text = self.recap

                def make() -> None:
                    player.say(text, self.speaker.clip(text))

                if later is None:
                    make()
                else:
                    later.append(make)
            else:
                self._say(player, "resume", self.recap, edits.resumed)
        elif self.closing:
            pass
        elif action == "extend":
            self._extend(player)
        elif action in ("next", "back") and self._defer(player, action):
            self.note = "(a moment: still preparing the session)"
        elif action == "next":
            self.recorder.skipped()
            lead = round(SKIP_LEAD_S * self.rate)
            with self.output.cut():
                player.edit("next", lambda t, at: edits.skip_next(t, at, lead))
        elif action == "back":
            lead = round(min(SKIP_LEAD_S, STEP_GAP_S) * self.rate)
            with self.output.cut():
                player.edit("back", lambda t, at: edits.back_to_start(t, at, lead))
        return None

    def _heard(self, player: Player, heard: Heard) -> str | None:
        """A spoken command: acknowledged at once, then done as its key twin."""
        self.status.clear()
        if not heard.taken:
            # Most likely the session's own voice coming back: shown, not done.
            print(f'not taken (the session was sounding): "{heard.phrase}"', flush=True)
            return None
        print(f'heard: "{heard.phrase}"', flush=True)
        if heard.action == "quit":
            # Made before the cut: the session must not stand still meanwhile.
            self.speaker.clip(recap.closing_text(self.session.language))
        later: list[Callable[[], None]] = []
        with self.output.cut():
            player.overlay("heard", self.ack, phrase=heard.phrase)
            done, said = self._command(player, heard.action, later)
        # Nothing is pulled during a cut: the acknowledgement waits for all in it.
        for work in later:
            work()
        if said:
            self._say_over(player, said)
        return done

    def _command(
        self, player: Player, action: str, later: list[Callable[[], None]]
    ) -> tuple[str | None, str]:
        """A spoken command done: what ``_act`` returns, and a line to say over
        the session after the acknowledgement."""
        if action == "pause":
            return (None if player.paused else self._act(player, "pause", later)), ""
        if action == "resume":
            if player.paused:
                return self._act(player, "pause"), ""
            if player.waiting:
                player.release_wait()
            return None, ""
        if action == "recap":
            timeline, at = player.heard()
            return None, recap.recap_text(timeline, at, planned=player.final)
        if action == "repeat":
            return None, _instruction(*player.heard())
        done = self._act(player, action)
        if action == "extend" and not self.note:
            return done, recap.more_time_text(self.session.language, self.options.extend_s)
        return done, ""

    def _say_over(self, player: Player, text: str) -> None:
        """A phrase said over the session, after the acknowledgement, without
        moving it: the session goes on underneath."""
        player.say(text, self.speaker.clip(text))
        with self.output.cut():
            player.overlay("said", player.spoken(text), after_current=True, text=text)

    def _defer(self, player: Player, action: str) -> bool:
        with self.deferred_lock:
            if player.final:
                return False
            self.deferred.append(action)
            return True

    def _extend(self, player: Player) -> None:
        extra = round(self.options.extend_s * self.rate)
        found: list[bool] = []

        def change(timeline: Timeline, at: int) -> Timeline:
            longer = edits.extend(timeline, at, extra, self.counts)
            found.append(longer is not None)
            return longer or timeline

        with self.output.cut():
            player.edit("extend", change, seconds=self.options.extend_s)
        if found[0]:
            self.recorder.extended()
        else:
            self.note = "(nothing to extend here: + works during a hold, rest or pause)"

    def _say(
        self,
        player: Player,
        what: str,
        text: str,
        change: Callable[[Timeline, int, tuple, int], Timeline],
    ) -> None:
        clip = self.speaker.clip(text)
        player.say(text, clip)
        with self.output.cut():
            timeline, at = player.position()
            step = edits.step_at(timeline, at)
            lead_s = recap.RESUME_LEAD_S if what == "resume" else recap.LEAD_S
            block, length = recap.spoken_block(text, len(clip), step, self.rate, lead_s)
            if what == "resume":
                player.resume(lambda t, at: change(t, at, block, length))
            else:
                player.edit(what, lambda t, at: change(t, at, block, length), text=text)


def _instruction(timeline: Timeline, at: int) -> str:
    """The first thing said in the step playing at ``at`` (its instruction)."""
    step = edits.step_at(timeline, at)
    said = [e.text for e in timeline.sounds() if e.step == step and e.kind == "speech" and e.text]
    return said[0] if said else ""


def _session_id(path: Path) -> str:
    from ..server.library import session_id

    return session_id(path.stem)


def _where(device: str | None) -> str:
    return "here" if device is None else f"here ({device})"


def _write_journal(path: Path, player: Player) -> None:
    """What was played, for tests and for checking a session afterwards."""
    timeline, _ = player.position()
    data = {
        "timeline": timeline_json(timeline),
        "marks": [asdict(m) for m in player.marks],
        "device_frames": player.device_frames,
        "starved_frames": player.starved_frames,
        "finished": player.finished.is_set(),
    }
    write_text_atomic(path, json.dumps(data, indent=1))
