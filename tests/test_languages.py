"""language: picks the built-in phrases and the voice; pronounce: respells words."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import exit_and_stderr

from voiceguide import pipeline
from voiceguide.core.phrases import ENGLISH, TABLES
from voiceguide.core.pronounce import respeller
from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError
from voiceguide.speech.clips import ClipSource
from voiceguide.speech.testengine import TestEngine

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE_SCRIPTS = {
    "de": "nacken-entspannen",
    "es": "espalda-suave",
    "fr": "respiration-calme",
    "en": "back-spasm-relief",
}


def test_every_language_translates_every_phrase() -> None:
    for language, table in TABLES.items():
        assert set(table) == set(ENGLISH), language
        assert all(value.strip() for value in table.values())
        if language != "en":
            differ = [k for k in ENGLISH if table[k] != ENGLISH[k]]
            assert len(differ) > len(ENGLISH) - 3, language  # not English left in place


@pytest.mark.parametrize("language", sorted(LANGUAGE_SCRIPTS))
def test_bundled_script_speaks_its_languages_phrases(language: str, tmp_path: Path) -> None:
    script = ROOT / "scripts" / f"{LANGUAGE_SCRIPTS[language]}.yaml"
    options = pipeline.VoiceOptions(engine="test", use_cache=False)
    prepared = pipeline.prepare(script, options)
    assert prepared.session.language == language
    words = TABLES[language]
    spoken = {e.text for e in prepared.timeline.events if e.kind == "speech"}
    for key in ("side_left", "side_right", "switch_sides", "count_3", "count_1", "halfway"):
        assert words[key] in spoken, (language, key)
    assert words["inhale"] in spoken or words["pattern_box"] in str(spoken)
    chapters = [c.title for c in prepared.timeline.chapters]
    assert any(f"({words['left']})" in title for title in chapters)


@pytest.mark.parametrize("language", ["de", "es", "fr"])
def test_bundled_script_gets_a_voice_for_its_language(language: str) -> None:
    script = ROOT / "scripts" / f"{LANGUAGE_SCRIPTS[language]}.yaml"
    session = pipeline.load_session(script)
    engine = pipeline.clip_source(session, pipeline.VoiceOptions(use_cache=False)).engine
    # espeak-ng names its voices by language family: gmw/de, roa/es, roa/fr.
    assert engine.id.startswith("espeak-ng/") and f"/{language}/" in engine.id + "/"


def test_language_without_translation_is_a_script_error_naming_the_field() -> None:
    text = "title: T\nlanguage: pt-BR\nsteps:\n  - say: Olá.\n"
    with pytest.raises(ScriptError) as caught:
        parse_script(text, "p.yaml")
    assert str(caught.value).startswith("p.yaml:2:11: language: ")
    assert "'pt-BR'" in str(caught.value) and "--allow-fallback" in str(caught.value)
    session = parse_script(text, "p.yaml", allow_fallback=True)
    assert session.language == "pt-BR"


def test_allow_fallback_speaks_english_phrases(tmp_path: Path) -> None:
    script = tmp_path / "pt.yaml"
    script.write_text(
        "title: T\nlanguage: pt\nsteps:\n  - exercise: Alongamento\n    sides: both\n    hold: 5s\n"
    )
    options = pipeline.VoiceOptions(engine="test", use_cache=False, allow_fallback=True)
    spoken = {e.text for e in pipeline.prepare(script, options).timeline.events}
    assert "Left side." in spoken and "Switch sides." in spoken
    with pytest.raises(ScriptError, match="language"):
        pipeline.prepare(script, pipeline.VoiceOptions(engine="test", use_cache=False))


def test_respelling_is_whole_words_and_ignores_case() -> None:
    respell = respeller([("psoas", "so-as"), ("lower back", "lumbar")])
    assert respell("Stretch the Psoas; psoas.") == "Stretch the so-as; so-as."
    assert respell("psoasitis and mypsoas") == "psoasitis and mypsoas"
    assert respell("Relax your LOWER BACK and back.") == "Relax your lumbar and back."
    assert respeller([])("psoas") == "psoas"


class _Recording(TestEngine):
    def __init__(self) -> None:
        self.heard: list[str] = []

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        self.heard.append(text)
        return super().synthesize(text)


def test_pronounce_changes_what_the_engine_hears_not_the_transcript(tmp_path: Path) -> None:
    script = tmp_path / "p.yaml"
    script.write_text(
        textwrap.dedent(
            """\
            title: T
            pronounce:
              psoas: so-as
            steps:
              - say: Stretch the psoas gently.
            """
        )
    )
    session = pipeline.load_session(script)
    engine = _Recording()
    source = ClipSource(engine, None, respell=respeller(session.pronounce))
    clips = source.clips(["Stretch the psoas gently."])
    assert engine.heard == ["Stretch the so-as gently."]
    assert list(clips) == ["Stretch the psoas gently."]
    timeline = pipeline.prepare(script, pipeline.VoiceOptions(engine="test", use_cache=False))
    assert "Stretch the psoas gently." in {e.text for e in timeline.timeline.events}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("pronounce: [psoas]\n", "t.yaml:2:12: pronounce: expected a mapping"),
        ("pronounce:\n  'psoas!': so-as\n", "t.yaml:3:3: pronounce.psoas!: expected a word"),
        (
            "pronounce:\n  psoas: so-as\n  Psoas: so\n",
            "t.yaml:4:3: pronounce.Psoas: 'Psoas' is already",
        ),
        ("pronounce:\n  psoas: ''\n", "t.yaml:3:10: pronounce.psoas: expected some text"),
    ],
)
def test_bad_pronounce_is_refused_with_its_place(text: str, where: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script("title: T\n" + text + "steps:\n  - say: Hi.\n", "t.yaml")
    assert str(caught.value).startswith(where), str(caught.value)


_cli = exit_and_stderr


def test_cli_refuses_an_untranslated_language_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "pt.yaml"
    script.write_text("title: T\nlanguage: pt\nsteps:\n  - say: Olá.\n")
    code, err = _cli(["check", str(script), "--engine", "test", "--no-cache"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and f"{script}:2:11: language:" in err
    code, err = _cli(
        ["check", str(script), "--engine", "test", "--no-cache", "--allow-fallback"], capsys
    )
    assert code == 0, err


def test_cli_stems_need_an_ambience_and_voice_model_needs_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ROOT / "scripts/espalda-suave.yaml"
    out = tmp_path / "x.mp3"
    code, err = _cli(
        ["export", str(script), "-o", str(out), "--engine", "test", "--no-cache", "--stems"], capsys
    )
    assert code == 2 and "--stems needs an ambience" in err and not out.exists()
    code, err = _cli(
        [
            "export",
            str(script),
            "-o",
            str(out),
            "--no-cache",
            "--voice-model",
            str(tmp_path / "v.onnx"),
        ],
        capsys,
    )
    # The user's own bad argument: exit status 2, as for any other.
    assert code == 2 and "v.onnx: no such Piper voice model" in err and not out.exists()
    assert err.strip().count("\n") == 0
