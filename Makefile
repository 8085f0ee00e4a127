# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the demo needs only the program, the natural voice and the speaker
# backends; the developer tools (pytest, mypy, ruff, playwright, scipy...) come with `make test`.
DEMO_STAMP := $(VENV)/.demo-installed
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench fuzz clean

$(DEMO_STAMP): pyproject.toml requirements/neural-voice.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/neural-voice.txt
	$(BIN)/pip install --quiet -e '.[neural,cast,listen]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,system-voices,cast,neural,listen]'
	touch $(STAMP)

## Render the seed routine to audio/back-spasm-relief.mp3 and print its plan.
demo: $(DEMO_STAMP)
	$(BIN)/voiceguide export scripts/back-spasm-relief.yaml -o audio/back-spasm-relief.mp3 --subtitles
	$(BIN)/voiceguide check scripts/back-spasm-relief.yaml

## Lint, type-check and run every test.
test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check voiceguide tests bench
	$(BIN)/ruff format --check voiceguide tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests that keep time with a real peer (a sound card, a speaker, a browser)
# run on their own after the rest, so a busy second core cannot starve them.
REAL_TIME := pulseaudio or network or browser
pytest: $(STAMP)
	$(BIN)/pytest -n auto -m "not ($(REAL_TIME))"
	$(BIN)/pytest -p no:xdist -m "$(REAL_TIME)"

## Speed and memory figures with piper and espeak, written to docs/benchmarks.md
## (about 40 minutes: a 30-minute session is played in real time).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py --write docs/benchmarks.md

## The property tests with many more examples (figures go in docs/reliability.md).
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP)
	VOICEGUIDE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:xdist -p no:cacheprovider \
		tests/test_properties.py --hypothesis-show-statistics -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
