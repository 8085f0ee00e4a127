"""Pulls a timeline's PCM into a sound device, rendered ahead on a background thread.

The device asks for frames from its own thread (``pull``); a render thread
keeps a short queue of mastered blocks ahead of it. The position in the
timeline moves only with the frames the device takes, so timing follows the
device's clock. Edits (``edit``) drop what was rendered ahead and take effect
at the first sample the device has not yet taken.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.model import Event, Timeline
from ..pipeline import Bed, Mastered, bed_for, mix_into, with_speech
from .bed import BedTrack

BLOCK_S = 0.05
# Rendered ahead of the device: several of its periods, so that a callback only
# copies what is ready even after the render thread was kept from running a
# while (edits drop it, so it costs no reaction time).
AHEAD_S = 2.0
# Enough pulls to take back what any device holds (device.py, pulse.py).
PULLS_KEPT = 1000

Edit = Callable[[Timeline, int], Timeline]
WaitPoints = Callable[[Timeline], list[int]]


@dataclass
class Mark:
    """Something that happened, at a device frame and a timeline sample (for --journal)."""

    what: str
    device_frame: int
    timeline_sample: int
    detail: dict[str, object] = field(default_factory=dict)


class Player:
    def __init__(
        self,
        timeline: Timeline,
        mastered: Mastered,
        *,
        final: bool = True,
        wait_points: list[int] | None = None,
        ahead_s: float = AHEAD_S,
        bed: Bed | None = None,
    ) -> None:
        self.timeline = timeline
        self.mastered = mastered
        self.final = final  # False while only the opening is planned
        # The ambience as the export has it (``bed`` is levelled with ``mastered``).
        self._bed = bed
        self.bed_track = BedTrack(bed_for(bed, timeline, final=final)) if bed else None
        self._sounds = _sorted_sounds(timeline)
        self._ends = [e.end_sample for e in self._sounds]
        self._block = round(BLOCK_S * timeline.sample_rate_hz)
        self.ahead_samples = round(ahead_s * timeline.sample_rate_hz)
        self._lock = threading.Condition()
        self._queue: deque[np.ndarray] = deque()
        self._render_at = 0  # next timeline sample to render
        self.played = 0  # next timeline sample the device will take
        self.device_frames = 0
        self.starved_frames = 0
        self.paused = False
        self.waiting = False
        self._wait_points = sorted(wait_points or [])
        self._stopped = False
        self._sealed = False
        self._edits: list[tuple[int, Edit]] = []
        self._extra: dict[str, np.ndarray] = {}
        self.finished = threading.Event()
        self.marks: list[Mark] = []
        # Laid over whatever plays (the acknowledgement of a spoken command).
        self._overlay = np.zeros(0, dtype=np.float32)
        # What the device holds beyond what it took, and when the last of the
        # session's own sound sent to it will have been heard (monotonic s):
        # a microphone must not take it for a command.
        self.latency_s = 0.0
        self.sounded_until_s = 0.0
        # What the last pulls gave (device frame, frames, timeline sample,
        # timeline samples moved): a cut takes frames back (``retract``) and
        # the timeline moves back with them. Never back past ``_barrier``, the
        # device frame of the last change of state (pause, wait, edit).
        self._pulls: deque[tuple[int, int, int, int]] = deque(maxlen=PULLS_KEPT)
        self._barrier = 0
        # How much of what was pulled the device holds unheard (the output says).
        self.unheard_frames: Callable[[], int] = lambda: 0
        self._thread = threading.Thread(target=self._render_loop, name="render", daemon=True)

    # -- the device's side ---------------------------------------------------------------
    def pull(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples for the device (silence while paused or waiting)."""
        out = np.zeros(frames, dtype=np.float32)
        with self._lock:
            filled = 0
            begin = self.played
            was_waiting = self.waiting
            if self.paused and self.bed_track is not None:
                out[:] = self.bed_track.held(self.played, frames, paused=True)
            if not self.paused:
                self._render_ahead(frames)
                while filled < frames and self._queue:
                    block = self._queue[0]
                    take = min(len(block), frames - filled)
                    out[filled : filled + take] = block[:take]
                    filled += take
                    if take == len(block):
                        self._queue.popleft()
                    else:
                        self._queue[0] = block[take:]
                self.played += filled
                self._arrive()
                if filled < frames and self.bed_track is not None and self.waiting:
                    out[filled:] = self.bed_track.held(self.played, frames - filled, paused=False)
                if filled < frames and not self.waiting and not self._at_end():
                    self.starved_frames += frames - filled
            sounding = len(self._overlay) > 0 or self._sounds_in(begin, self.played)
            if len(self._overlay):
                take = min(frames, len(self._overlay))
                out[:take] += self._overlay[:take]
                self._overlay = self._overlay[take:]
            if sounding:
                rate = self.timeline.sample_rate_hz
                self.sounded_until_s = time.monotonic() + self.latency_s + frames / rate
            moved = self.played - begin
            self._pulls.append((self.device_frames, frames, begin, moved))
            if self.waiting and not was_waiting:
                self._barrier = self.device_frames + moved
            self.device_frames += frames
            self._lock.notify_all()
        return out

    def retract(self, frames: int) -> None:
        """The last ``frames`` pulled were never heard (the device dropped them):
        the device's count and the timeline move back to where it stopped, and
        what plays next is rendered from there."""
        with self._lock:
            target, played = self._at_device_frame(self.device_frames - frames)
            if target >= self.device_frames:
                return
            while self._pulls and self._pulls[-1][0] >= target:
                self._pulls.pop()
            if self._pulls:
                start, _, begin, moved = self._pulls[-1]
                kept = target - start
                self._pulls[-1] = (start, kept, begin, min(kept, moved))
            self.device_frames = target
            if played != self.played:
                self.played = played
                self._queue.clear()
                self._render_at = played
                if self.finished.is_set() and not self._at_end():
                    self.finished.clear()
            self._lock.notify_all()

    def _at_device_frame(self, frame: int) -> tuple[int, int]:
        """The device frame nearest ``frame`` that the pulls kept reach back to (never
        before the last change of state), and the timeline sample played there."""
        frame = max(frame, self._barrier)
        if frame >= self.device_frames:
            return self.device_frames, self.played
        for start, _length, begin, moved in reversed(self._pulls):
            if start <= frame:
                return frame, begin + min(frame - start, moved)
            earliest = (start, begin)
        return earliest if self._pulls else (self.device_frames, self.played)

    def heard(self) -> tuple[Timeline, int]:
        """Like ``position``, but where the listener is: the device may hold a
        while of sound not yet heard (``unheard_frames``)."""
        with self._lock:
            _, at = self._at_device_frame(self.device_frames - self.unheard_frames())
            return self.timeline, at

    def _arrive(self) -> None:
        if self._wait_points and self.played >= self._wait_points[0] and not self.waiting:
            self.waiting = True
            self.marks.append(Mark("wait", self.device_frames, self.played))
        if self.final and self.played >= self.timeline.duration_samples:
            self.finished.set()

    def _sounds_in(self, begin: int, end: int) -> bool:
        index = bisect.bisect_right(self._ends, begin)
        return index < len(self._sounds) and self._sounds[index].start_sample < end

    def quiet_since(self, since_s: float) -> bool:
        """Whether none of the session's own sound was heard from ``since_s`` on."""
        with self._lock:
            return since_s > self.sounded_until_s

    def overlay(
        self, what: str, samples: np.ndarray, *, after_current: bool = False, **detail: object
    ) -> None:
        """``samples`` laid over what plays from the next frame the device takes
        (or, ``after_current``, once what is laid over it now has played)."""
        with self._lock:
            if after_current:
                self._overlay = np.concatenate([self._overlay, samples.astype(np.float32)])
            else:
                if len(self._overlay) < len(samples):
                    self._overlay = np.concatenate(
                        [self._overlay, np.zeros(len(samples) - len(self._overlay), np.float32)]
                    )
                self._overlay[: len(samples)] += samples
            self.marks.append(Mark(what, self.device_frames, self.played, dict(detail)))

    def _at_end(self) -> bool:
        return self.final and self.played >= self.timeline.duration_samples

    # -- the render thread -----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=2)

    def _render_limit(self) -> int:
        limit = self.timeline.duration_samples
        if self._wait_points:
            limit = min(limit, self._wait_points[0])
        return limit

    def _render_loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and (
                    self._queued() >= self.ahead_samples or self._render_at >= self._render_limit()
                ):
                    self._lock.wait(0.5)
                if self._stopped:
                    return
                self._render_block()

    def _queued(self) -> int:
        return sum(len(block) for block in self._queue)

    def _render_block(self) -> None:
        start = self._render_at
        end = min(start + self._block, self._render_limit())
        index = bisect.bisect_right(self._ends, start)
        block = np.zeros(end - start, dtype=np.float32)
        mix_into(block, start, self._sounds, index, self.mastered)
        if self.bed_track is not None:
            block += self.bed_track.render(start, end)
        self._queue.append(block)
        self._render_at = end

    def _render_ahead(self, frames: int) -> None:
        """Renders here what the render thread has not: the device must never wait."""
        while self._queued() < frames and self._render_at < self._render_limit():
            self._render_block()

    # -- controls -----------------------------------------------------------------------------
    def edit(self, what: str, change: Edit, **detail: object) -> None:
        """Apply ``change(timeline, at)`` at the first sample not yet taken by the device."""
        with self._lock:
            at = self.played
            self._apply(at, change)
            self.marks.append(Mark(what, self.device_frames, at, dict(detail)))
            self._barrier = self.device_frames
            self._lock.notify_all()

    def _apply(self, at: int, change: Edit) -> None:
        self._edits.append((at, change))
        self._set(change(self.timeline, at), self.mastered, at=at)
        # What was rendered ahead is from before the change.
        self._queue.clear()
        self._render_at = at

    def say(self, text: str, clip: np.ndarray) -> None:
        """A phrase said live (recap, closing cue), levelled like the session's own.

        Levelling takes a while: it is done outside the lock the device waits on.
        """
        while True:
            with self._lock:
                mastered = self.mastered
                if ("speech", text) in mastered.clips:
                    self._extra[text] = clip
                    return
            levelled = with_speech(mastered, text, clip, self.timeline.sample_rate_hz)
            with self._lock:
                if self.mastered is mastered:
                    self._extra[text] = clip
                    self.mastered = levelled
                    return

    def spoken(self, text: str) -> np.ndarray:
        """A phrase ``say`` levelled."""
        with self._lock:
            return self.mastered.clips[("speech", text)]

    def upgrade(
        self,
        timeline: Timeline,
        mastered: Mastered,
        wait_points: WaitPoints,
        *,
        final: bool = True,
        bed: Bed | None = None,
    ) -> None:
        """More of the session (or all of it, ``final``), planned while the opening
        plays: the same as what it replaces up to that one's end, so the edits made
        so far, made again on it, give the same timeline there.

        The edits and phrases are made again outside the lock the device waits on,
        and again if a key changed them meanwhile.
        """
        while True:
            with self._lock:
                if self._sealed:
                    return
                done, extra = list(self._edits), dict(self._extra)
            edited, levelled = timeline, mastered
            for at, change in done:
                edited = change(edited, at)
            for text, clip in extra.items():
                levelled = with_speech(levelled, text, clip, timeline.sample_rate_hz)
            waits = wait_points(edited)
            with self._lock:
                if self._edits != done or self._extra.keys() != extra.keys():
                    continue
                self.final = final
                # What is queued was rendered with the opening's levels; the
                # rest gets the whole session's.
                self._set(edited, levelled, at=self._render_at, bed=bed)
                self._wait_points = [
                    w for w in waits if w > self.played or (self.waiting and w == self.played)
                ]
                what = "planned" if final else "opening"
                self.marks.append(Mark(what, self.device_frames, self.played))
                self._lock.notify_all()
                return

    def seal(self) -> None:
        """What plays now is all there will be (q was pressed): its end is the end."""
        with self._lock:
            self._sealed = True
            self.final = True

    def _set(
        self, timeline: Timeline, mastered: Mastered, *, at: int, bed: Bed | None = None
    ) -> None:
        self.timeline = timeline
        self.mastered = mastered
        self._sounds = _sorted_sounds(timeline)
        self._ends = [e.end_sample for e in self._sounds]
        if bed is not None:
            self._bed = bed
        if self.bed_track is not None and self._bed is not None:
            self.bed_track.change(at, bed_for(self._bed, timeline, final=self.final))

    def pause(self) -> None:
        with self._lock:
            self.paused = True
            self._queue.clear()
            self._render_at = self.played
            self.marks.append(Mark("pause", self.device_frames, self.played))
            self._barrier = self.device_frames

    def resume(self, change: Edit | None = None) -> None:
        with self._lock:
            self._apply(self.played, change or _unchanged)
            if self.bed_track is not None:
                self.bed_track.moving(self.played, was_paused=self.paused)
            self.paused = False
            self.marks.append(Mark("resume", self.device_frames, self.played))
            self._barrier = self.device_frames
            self._lock.notify_all()

    def release_wait(self) -> None:
        with self._lock:
            if self.waiting:
                self._wait_points.pop(0)
                self.waiting = False
                if self.bed_track is not None:
                    self.bed_track.moving(self.played, was_paused=False)
                self.marks.append(Mark("go", self.device_frames, self.played))
                self._barrier = self.device_frames
                self._lock.notify_all()

    def position(self) -> tuple[Timeline, int]:
        with self._lock:
            return self.timeline, self.played


def _sorted_sounds(timeline: Timeline) -> list[Event]:
    return sorted(timeline.sounds(), key=lambda e: e.start_sample)


def _unchanged(timeline: Timeline, at: int) -> Timeline:
    return timeline
