"""The session's clips past the memory budget: on disk, read back exactly, cleaned up."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np

from voiceguide.clipstore import ClipStore


def clip(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def test_clips_past_the_budget_go_to_disk_and_come_back_exactly() -> None:
    store = ClipStore(budget_bytes=4000 * 4 + 100)
    clips = {f"phrase {i}": clip(2000, i) for i in range(5)}
    held = [store.put(text, c, companion_bytes=0) for text, c in clips.items()]
    assert held == [True, True, False, False, False]
    assert list(store) == list(clips) and len(store) == 5
    for text, c in clips.items():
        got = store[text]
        assert got.dtype == np.float32 and np.array_equal(got, c)
        assert not got.flags.writeable
    assert "phrase 9" not in store


def test_a_companion_counts_in_the_budget_and_a_repeat_is_not_stored_twice() -> None:
    store = ClipStore(budget_bytes=8000 + 100)
    assert store.put("a", clip(1000, 1), companion_bytes=4000) is True
    assert store.put("b", clip(1000, 2), companion_bytes=4000) is False
    assert store.put("a", clip(1000, 3)) is True
    assert len(store) == 2 and np.array_equal(store["a"], clip(1000, 1))


def test_the_spill_folder_goes_with_the_store() -> None:
    store = ClipStore(budget_bytes=0)
    store.put("x", clip(100, 1))
    folder = store._folder
    assert isinstance(folder, Path) and folder.is_dir()
    del store
    gc.collect()
    assert not folder.exists()
