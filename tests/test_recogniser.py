"""The recogniser's decoding path (voiceguide.live.listen.Recogniser) fed real
synthesised speech directly: no sound server, no thread, the same result for
the same audio."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="pip install 'voiceguide[listen]'")
if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)", allow_module_level=True)

from voiceguide.live import listen

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def clips() -> Iterator[object]:
    sys.path.insert(0, str(BENCH))
    try:
        import listen_clips

        yield listen_clips
    finally:
        sys.path.remove(str(BENCH))


def heard(clips: object, speech: np.ndarray, snr_db: float = 25.0) -> list[listen.Found]:
    """``speech`` at -20 dBFS with a second of pink noise either side, fed in 50 ms chunks."""
    rng = np.random.default_rng(7)
    speech = speech / clips.active_rms(speech) * 0.1  # type: ignore[attr-defined]
    pad = np.zeros(listen.RATE_HZ)
    signal = np.concatenate([pad, speech, pad])
    signal = signal + 0.1 * 10 ** (-snr_db / 20) * clips.noise("pink", len(signal), rng, [])  # type: ignore[attr-defined]
    pcm = clips.pcm(signal)  # type: ignore[attr-defined]
    recogniser = listen.Recogniser()
    found = []
    for at in range(0, len(pcm), 1600):
        found += recogniser.feed(pcm[at : at + 1600])
    return [f for f in found if f.accepted]


@pytest.mark.parametrize("phrase", ["pause", "continue", "more time", "resume", "how long"])
def test_a_command_said_alone_is_recognised_soon_after_it_ends(clips: object, phrase: str) -> None:
    speech = clips.trimmed(clips.espeak_said(phrase, "en-us+m7", 160, 50))  # type: ignore[attr-defined]
    found = heard(clips, speech)
    assert [f.phrase for f in found] == [phrase]
    end_s = 1.0 + len(speech) / listen.RATE_HZ
    assert abs(found[0].end_s - end_s) < 0.15
    assert found[0].decided_s - end_s < 0.5


@pytest.mark.parametrize("phrase", ["stop", "where am i"])
def test_the_piper_voice_is_recognised_too(clips: object, phrase: str) -> None:
    pytest.importorskip("piper", reason="pip install piper-tts")
    speech = clips.trimmed(clips.piper_said(phrase, 170))  # type: ignore[attr-defined]
    assert [f.phrase for f in heard(clips, speech)] == [phrase]


@pytest.mark.parametrize(
    "sentence",
    ["stop when it hurts", "breathe in slowly and hold it", "let your knees fall to one side"],
)
def test_a_sentence_is_not_a_command(clips: object, sentence: str) -> None:
    speech = clips.trimmed(clips.espeak_said(sentence, "en-us+m7", 160, 50))  # type: ignore[attr-defined]
    assert heard(clips, speech) == []


def test_the_same_audio_gives_the_same_result(clips: object) -> None:
    speech = clips.trimmed(clips.espeak_said("repeat", "en-us+m7", 150, 40))  # type: ignore[attr-defined]
    assert heard(clips, speech, snr_db=15) == heard(clips, speech, snr_db=15)
