"""Google Cast and Sonos at their library boundary; discovery, naming and following.

Neither has a peer that runs here, so pychromecast's and soco's objects are
replaced by fakes that record the exact calls voiceguide makes, and the
metadata it passes is parsed back with the libraries' own parsers.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_cli import run  # tests/test_cli.py

from voiceguide.cast import base, chromecast, discovery, sonos
from voiceguide.cast.base import CastError, Found, Metadata, State, Status
from voiceguide.cast.session import follow

METADATA = Metadata(
    title="Back spasm relief",
    duration_s=754.25,
    size_bytes=12_068_000,
    artist="voiceguide",
    album="Back spasm relief",
)
URL = "http://192.0.2.7:40123/tok/back-spasm-relief.mp3"


class Recorder:
    """Records every call to its methods as (name, args, kwargs)."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.answers = answers or {}

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return self.answers.get(name)

        return method


# -- Google Cast ---------------------------------------------------------------


class FakeMediaController(Recorder):
    status = SimpleNamespace(player_state="PLAYING", adjusted_current_time=12.5, duration=754.25)


def fake_chromecast() -> Any:
    return SimpleNamespace(
        media_controller=FakeMediaController(),
        cast_info=SimpleNamespace(friendly_name="Kitchen speaker"),
        uuid=uuid.UUID(int=7),
        socket_client=SimpleNamespace(is_connected=True),
        waited=[],
        disconnected=[],
    )


def test_chromecast_plays_with_title_and_music_metadata() -> None:
    pytest.importorskip("pychromecast", reason="needs pychromecast (pip install -e '.[cast]')")
    device = fake_chromecast()
    speaker = chromecast.ChromecastSpeaker(device)
    asyncio.run(speaker.play(URL, METADATA))
    controller = device.media_controller
    assert controller.calls == [
        (
            "play_media",
            (URL, "audio/mpeg"),
            {
                "title": "Back spasm relief",
                "stream_type": "BUFFERED",
                "metadata": {
                    "metadataType": 3,
                    "title": "Back spasm relief",
                    "artist": "voiceguide",
                    "albumName": "Back spasm relief",
                },
                "media_info": {"duration": 754.25},
            },
        ),
        ("block_until_active", (), {"timeout": chromecast.START_TIMEOUT_S}),
    ]
    assert asyncio.run(speaker.status()) == Status(State.PLAYING, 12.5, 754.25)
    controller.status = SimpleNamespace(
        player_state="IDLE", adjusted_current_time=None, duration=None
    )
    assert asyncio.run(speaker.status()).state == State.STOPPED
    asyncio.run(speaker.stop())
    assert controller.calls[-1] == ("stop", (), {"timeout": 5.0})


def test_chromecast_connects_directly_to_the_found_host(monkeypatch: pytest.MonkeyPatch) -> None:
    pychromecast = pytest.importorskip("pychromecast", reason="needs pychromecast")
    from pychromecast.models import CastInfo, HostServiceInfo, MDNSServiceInfo

    device = Recorder()
    device.socket_client = SimpleNamespace(is_connected=True)
    device.cast_info = SimpleNamespace(friendly_name="Kitchen speaker")
    made: list[tuple[Any, ...]] = []

    def get_chromecast_from_cast_info(info: Any, zconf: Any, **kwargs: Any) -> Any:
        made.append((info, zconf, kwargs))
        return device

    monkeypatch.setattr(
        pychromecast, "get_chromecast_from_cast_info", get_chromecast_from_cast_info
    )
    info = CastInfo(
        {MDNSServiceInfo("Chromecast-abc._googlecast._tcp.local.")},
        uuid.UUID(int=7),
        "Google Home",
        "Kitchen speaker",
        "192.0.2.9",
        8009,
        "audio",
        "Google",
    )
    found = chromecast.found_from(info)
    assert (found.name, found.kind, found.host, found.location) == (
        "Kitchen speaker",
        "chromecast",
        "192.0.2.9",
        "192.0.2.9:8009",
    )
    speaker = asyncio.run(found.connect())
    assert speaker.name == "Kitchen speaker"
    ((direct, zconf, kwargs),) = made
    assert direct.services == {HostServiceInfo("192.0.2.9", 8009)}
    assert (direct.uuid, direct.friendly_name, zconf) == (info.uuid, "Kitchen speaker", None)
    assert kwargs == {"tries": 2, "timeout": chromecast.CONNECT_TIMEOUT_S}
    assert device.calls == [("wait", (), {"timeout": chromecast.CONNECT_TIMEOUT_S})]


def test_chromecast_failure_is_one_line() -> None:
    device = fake_chromecast()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("connection reset")

    device.media_controller.play_media = refuse
    with pytest.raises(CastError, match=r"^Kitchen speaker: play failed: connection reset$"):
        asyncio.run(chromecast.ChromecastSpeaker(device).play(URL, METADATA))


# -- Sonos ---------------------------------------------------------------------


def test_sonos_plays_the_url_with_didl_lite_metadata() -> None:
    didl_lite = pytest.importorskip("didl_lite.didl_lite", reason="needs python-didl-lite")
    zone = Recorder(
        {
            "get_current_transport_info": {"current_transport_state": "PLAYING"},
            "get_current_track_info": {"position": "0:01:02", "duration": "0:12:34"},
        }
    )
    speaker = sonos.SonosSpeaker(zone, "Bedroom")
    asyncio.run(speaker.play(URL, METADATA))
    ((name, args, kwargs),) = zone.calls
    assert (name, args, set(kwargs)) == ("play_uri", (URL,), {"meta", "start"})
    assert kwargs["start"] is True
    (item,) = didl_lite.from_xml_string(kwargs["meta"])
    assert item.title == "Back spasm relief"
    assert item.upnp_class == "object.item.audioItem.musicTrack"
    (resource,) = item.resources
    assert resource.uri == URL
    assert resource.protocol_info.startswith("http-get:*:audio/mpeg:DLNA.ORG_PN=MP3")
    assert resource.duration == "0:12:34.250"
    assert resource.size == "12068000"
    assert asyncio.run(speaker.status()) == Status(State.PLAYING, 62.0, 754.0)
    asyncio.run(speaker.stop())
    assert zone.calls[-1] == ("stop", (), {})


def test_sonos_found_by_soco_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    soco_discovery = pytest.importorskip("soco.discovery", reason="needs soco")
    zone = Recorder()
    zone.player_name, zone.ip_address = "Bedroom", "192.0.2.30"
    asked: list[dict[str, Any]] = []

    def discover(**kwargs: Any) -> set[Any]:
        asked.append(kwargs)
        return {zone}

    monkeypatch.setattr(soco_discovery, "discover", discover)
    (found,) = asyncio.run(sonos.discover(2.5))
    assert (found.name, found.kind, found.host) == ("Bedroom", "sonos", "192.0.2.30")
    assert asked == [{"timeout": 3}]
    assert asyncio.run(found.connect()).zone is zone  # type: ignore[attr-defined]


# -- discovery and naming -------------------------------------------------------


def _found(name: str, kind: str = "upnp", host: str = "192.0.2.5") -> Found:
    async def connect() -> Any:
        raise AssertionError("not connected in these tests")

    return Found(name, kind, host, f"http://{host}/", connect=connect)


def test_a_missing_library_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pychromecast", None)
    monkeypatch.setitem(sys.modules, "pychromecast.discovery", None)
    result = asyncio.run(discovery.discover_all(0.1, kinds=("chromecast",)))
    assert result.found == []
    assert result.problems == [
        "chromecast: needs pychromecast (pip install 'voiceguide[cast]'; missing module "
        "pychromecast.discovery)"
    ]


def test_a_failing_backend_is_one_line_and_others_still_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(timeout_s: float) -> list[Found]:
        raise OSError("no multicast route")

    async def two(timeout_s: float) -> list[Found]:
        return [_found("Living Room", "sonos", "192.0.2.5"), _found("Attic", "sonos", "192.0.2.6")]

    async def upnp_too(timeout_s: float) -> list[Found]:
        # The Sonos player answers SSDP as well; listed once, as Sonos.
        return [_found("Living Room", "upnp", "192.0.2.5"), _found("TV", "upnp", "192.0.2.8")]

    monkeypatch.setattr(chromecast, "discover", broken)
    monkeypatch.setattr(sonos, "discover", two)
    from voiceguide.cast import upnp

    monkeypatch.setattr(upnp, "discover", upnp_too)
    result = asyncio.run(discovery.discover_all(0.1))
    assert [(f.name, f.kind) for f in result.found] == [
        ("Attic", "sonos"),
        ("Living Room", "sonos"),
        ("TV", "upnp"),
    ]
    assert result.problems == ["chromecast: discovery failed: no multicast route"]


def test_pick_by_exact_then_unique_partial_name() -> None:
    found = discovery.Discovery([_found("Living Room"), _found("Living Room TV"), _found("Attic")])
    assert discovery.pick("living room", found).name == "Living Room"
    assert discovery.pick("att", found).name == "Attic"
    with pytest.raises(CastError, match="'living' matches several speakers: 'Living Room' "):
        discovery.pick("living", found)
    with pytest.raises(CastError, match=r"^no speaker called 'Den'; found 'Living Room', "):
        discovery.pick("Den", found)
    empty = discovery.Discovery([], ["sonos: discovery failed: boom"])
    with pytest.raises(CastError, match=r"no speakers found on the network \(sonos: discovery"):
        discovery.pick("Den", empty)


# -- following playback ----------------------------------------------------------


class ScriptedSpeaker:
    name = "Scripted"

    def __init__(self, statuses: list[Status]) -> None:
        self.statuses = statuses
        self.polls = 0

    async def status(self) -> Status:
        self.polls += 1
        return self.statuses[min(self.polls, len(self.statuses)) - 1]


def _follow(statuses: list[Status], duration_s: float = 60.0) -> tuple[str, int]:
    speaker = ScriptedSpeaker(statuses)
    seen: list[Status] = []
    outcome = asyncio.run(follow(speaker, duration_s, seen.append, poll_s=0))  # type: ignore[arg-type]
    assert seen == [speaker.statuses[min(i, len(statuses) - 1)] for i in range(len(seen))]
    return outcome.message, speaker.polls


def test_follow_ends_when_the_speaker_has_played_to_the_end() -> None:
    statuses = [
        Status(State.STOPPED, 0.0),  # before it has loaded the URL
        Status(State.LOADING, 0.0),
        Status(State.PLAYING, 30.0),
        Status(State.PLAYING, 58.0),
        Status(State.STOPPED, 0.0),  # rewound when it stopped
    ]
    assert _follow(statuses) == ("finished on Scripted", 5)


def test_follow_tells_a_stop_on_the_speaker_from_the_end() -> None:
    statuses = [Status(State.PLAYING, 10.0), Status(State.PAUSED, 11.0), Status(State.STOPPED, 0.0)]
    assert _follow(statuses) == ("stopped on Scripted at 10 s", 3)


def test_follow_gives_up_on_a_speaker_that_never_plays(monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguide.cast import session

    monkeypatch.setattr(session, "START_TIMEOUT_S", 0.05)
    with pytest.raises(CastError, match=r"^Scripted did not start playing within 0 s$"):
        asyncio.run(follow(ScriptedSpeaker([Status(State.LOADING)]), 60.0, poll_s=0.01))  # type: ignore[arg-type]


class SeekingSpeaker(ScriptedSpeaker):
    """Plays at 4 s for every poll of the follower, then at 21 s (a seek) when
    asked once more; records the stop."""

    def __init__(self) -> None:
        super().__init__([Status(State.PLAYING, 4.0)])
        self.events: list[str] = []
        self.polled = asyncio.Event()

    async def play(self, url: str, metadata: Metadata) -> None:
        self.events.append("play")

    async def status(self) -> Status:
        self.polls += 1
        self.polled.set()
        return Status(State.PLAYING, 4.0 if self.polls == 1 else 21.0)

    async def stop(self) -> None:
        self.events.append("stop")

    async def close(self) -> None:
        self.events.append("close")


def test_a_stopped_cast_reports_where_the_speaker_stood_when_stopped(tmp_path: Path) -> None:
    # The follower polls once a second; a seek just before Ctrl-C would leave
    # the log a second behind. Stopping asks the speaker where it is first.
    from voiceguide.cast import session

    media_file = tmp_path / "s.mp3"
    media_file.write_bytes(b"\xff\xfb" * 100)
    speaker = SeekingSpeaker()

    async def connect() -> SeekingSpeaker:
        return speaker

    found = Found("Seeking", "upnp", "127.0.0.1", "x", connect)
    media = session.Media(media_file, Metadata("S", 60.0, 200))
    seen: list[Status] = []

    async def main() -> None:
        task = asyncio.create_task(
            session._play(media, found, "127.0.0.1", 0, seen.append, None, None)
        )
        await speaker.polled.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [s.position_s for s in seen] == [4.0, 21.0]
    assert speaker.events == ["play", "stop", "close"]


def test_clock_forms_round_trip() -> None:
    assert base.clock(754.25) == "0:12:34.250"
    assert base.clock(3723.0) == "1:02:03.000"
    assert base.parse_clock("1:02:03.5") == 3723.5
    assert base.parse_clock("NOT_IMPLEMENTED") is None
    assert base.parse_clock("") is None


# -- the commands ------------------------------------------------------------------


def test_a_bad_script_is_refused_before_any_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def no_search(timeout_s: float) -> discovery.Discovery:
        raise AssertionError("searched for speakers")

    monkeypatch.setattr(discovery, "discover_all", no_search)
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: Bad\nsteps:\n  - hodl: 3s\n")
    code, _, err = run(["cast", str(bad), "--to", "Den"], capsys)
    assert code == 2
    assert err.startswith(f"voiceguide: {bad}:3:5: steps[0]") and len(err.splitlines()) == 1


def test_speakers_lists_what_was_found_and_each_failing_kind_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fake(timeout_s: float) -> discovery.Discovery:
        assert timeout_s == 1.5
        return discovery.Discovery(
            [_found("Den", "upnp", "192.0.2.5"), _found("Living Room", "sonos", "192.0.2.6")],
            ["chromecast: needs pychromecast (pip install 'voiceguide[cast]'; missing module x)"],
        )

    monkeypatch.setattr(discovery, "discover_all", fake)
    code, out, err = run(["speakers", "--timeout", "1.5"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "Den          upnp           http://192.0.2.5/",
        "Living Room  sonos          http://192.0.2.6/",
    ]
    assert err.splitlines() == [
        "voiceguide: chromecast: needs pychromecast (pip install 'voiceguide[cast]'; "
        "missing module x)"
    ]
