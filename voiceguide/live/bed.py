"""The ambience bed under a live session: the export's bed, following the edits.

Sample ``p`` of the timeline gets the bed the export has there: the loop at
``p`` times the gain the export computes from the timeline (fades, ducking
under sounds). A key changes the timeline, so the gain is computed again from
the edited one; the old gain crosses into the new over ``CHANGE_S``, so an
edit (or the whole session replacing its opening, with its own levels) never
makes the bed jump. While the session is paused the bed goes on, turning down
to ``PAUSED_DB`` below where it was over ``PAUSE_FADE_S`` and coming back as
smoothly when it resumes: the room keeps its sound, and a listener with eyes
closed hears that the session is waiting rather than over. While ``--wait``
waits for a key, the bed goes on as it was.

The loop keeps running while the timeline stands still (paused, waiting):
the loop's index is the timeline position plus the frames played standing
still, so the bed never repeats or skips a bit of its loop.
"""

from __future__ import annotations

import numpy as np

from ..pipeline import Bed

CHANGE_S = 1.0
PAUSED_DB = -12.0
PAUSE_FADE_S = 1.0


def _raised(t: np.ndarray) -> np.ndarray:
    """0 at t <= 0, 1 at t >= 1, a raised cosine between."""
    clipped = np.clip(t, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * clipped)


class BedTrack:
    """The bed's samples for spans of a timeline that changes while it plays."""

    def __init__(self, bed: Bed) -> None:
        self.loop = bed.loop
        self.rate = bed.rate
        # (from sample, bed): each bed's gain takes over from the one before it
        # over CHANGE_S from its sample.
        self._beds: list[tuple[int, Bed]] = [(0, bed)]
        self._change = round(CHANGE_S * bed.rate)
        self._pause_fade = round(PAUSE_FADE_S * bed.rate)
        self._paused_factor = 10 ** (PAUSED_DB / 20)
        self.offset = 0  # frames played while the timeline stood still
        self._held_frames = 0  # frames into the current pause
        self._held_from = 1.0  # the pause factor when the pause began
        self._rise: tuple[int, float] | None = None  # (resumed at, factor then)

    def change(self, at: int, bed: Bed) -> None:
        """From ``at`` on, the gain follows ``bed`` (retimed for an edited timeline)."""
        self._beds = [(s, b) for s, b in self._beds if s < at]
        self._beds.append((at, bed))

    def _gain(self, positions: np.ndarray) -> np.ndarray:
        start = int(positions[0])
        # Beds fully taken over before this span make everything before them moot
        # (a second later: an edit may render again from where the device is,
        # up to the player's render-ahead behind).
        while len(self._beds) > 1 and self._beds[1][0] + self._change + self.rate <= start:
            self._beds.pop(0)
        gain = self._beds[0][1].gain_at(positions)
        for at, bed in self._beds[1:]:
            weight = _raised((positions - at) / self._change)
            if weight[-1] == 0.0:
                continue
            gain = gain * (1.0 - weight) + bed.gain_at(positions) * weight
        if self._rise is not None:
            at, factor = self._rise
            if start >= at + self._pause_fade:
                self._rise = None
            else:
                rising = _raised((positions - at) / self._pause_fade)
                gain = gain * (factor + (1.0 - factor) * rising)
        return gain

    def _factor_at(self, position: int) -> float:
        if self._rise is None:
            return 1.0
        at, factor = self._rise
        weight = float(_raised(np.array([(position - at) / self._pause_fade]))[0])
        return factor + (1.0 - factor) * weight

    def render(self, start: int, stop: int) -> np.ndarray:
        """The bed under timeline samples ``start`` to ``stop``."""
        positions = np.arange(start, stop)
        samples = self.loop[(positions + self.offset) % len(self.loop)]
        return (samples * self._gain(positions)).astype(np.float32)

    def held(self, position: int, frames: int, *, paused: bool) -> np.ndarray:
        """``frames`` of bed while the timeline stands at ``position``."""
        if self._held_frames == 0:
            self._held_from = self._factor_at(position)
        gain = float(self._gain(np.array([position]))[0]) / max(self._factor_at(position), 1e-9)
        if paused:
            k = self._held_frames + np.arange(frames)
            down = _raised(k / self._pause_fade)
            factor = self._held_from + (self._paused_factor - self._held_from) * down
        else:
            factor = np.full(frames, self._held_from)
        index = (position + self.offset + np.arange(frames)) % len(self.loop)
        self.offset += frames
        self._held_frames += frames
        return (self.loop[index] * gain * factor).astype(np.float32)

    def moving(self, position: int, *, was_paused: bool) -> None:
        """The timeline moves again from ``position``: the bed comes back up."""
        if self._held_frames and was_paused:
            down = float(_raised(np.array([self._held_frames / self._pause_fade]))[0])
            factor = self._held_from + (self._paused_factor - self._held_from) * down
            self._rise = (position, factor)
        self._held_frames = 0
