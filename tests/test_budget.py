"""The budget that lets piper speak two sentences at once only while they fit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from voiceguide.speech.budget import Budget

WAIT_S = 30.0  # a ceiling for a stuck thread, never a measure of time


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the threads never got there"
        time.sleep(0.001)


class Holder(threading.Thread):
    """Takes ``units`` from the budget, notes its turn, and holds them until released."""

    def __init__(self, budget: Budget, units: int, entered: list[str], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.budget, self.units, self.entered = budget, units, entered
        self.release = threading.Event()

    def run(self) -> None:
        with self.budget.taken(self.units):
            self.entered.append(self.name)
            self.release.wait(WAIT_S)


def test_what_fits_runs_side_by_side() -> None:
    budget = Budget(10)
    entered: list[str] = []
    a, b = Holder(budget, 4, entered, "a"), Holder(budget, 6, entered, "b")
    a.start()
    until(lambda: entered == ["a"])
    b.start()
    until(lambda: entered == ["a", "b"])
    assert budget.in_use == 10
    a.release.set(), b.release.set()
    a.join(), b.join()
    assert budget.in_use == 0


def test_a_large_run_waits_and_nothing_overtakes_it() -> None:
    budget = Budget(10)
    entered: list[str] = []
    a = Holder(budget, 6, entered, "a")
    b = Holder(budget, 6, entered, "b")  # does not fit beside a
    c = Holder(budget, 2, entered, "c")  # would fit beside a, but asked after b
    a.start()
    until(lambda: entered == ["a"])
    b.start()
    until(lambda: budget.waiting == 1)
    c.start()
    until(lambda: budget.waiting == 2)
    assert entered == ["a"] and budget.in_use == 6
    a.release.set()
    until(lambda: len(entered) == 3)
    assert entered == ["a", "b", "c"]
    assert budget.in_use == 8
    for holder in (a, b, c):
        holder.release.set()
        holder.join()
    assert budget.in_use == 0 and budget.waiting == 0


def test_a_run_larger_than_the_budget_runs_alone() -> None:
    budget = Budget(10)
    entered: list[str] = []
    big, small = Holder(budget, 25, entered, "big"), Holder(budget, 1, entered, "small")
    big.start()
    until(lambda: entered == ["big"])
    assert budget.in_use == 10
    small.start()
    until(lambda: budget.waiting == 1)
    assert entered == ["big"]
    big.release.set()
    until(lambda: entered == ["big", "small"])
    small.release.set()
    big.join(), small.join()


def test_units_are_given_back_when_the_run_fails() -> None:
    budget = Budget(10)
    with pytest.raises(RuntimeError), budget.taken(7):
        raise RuntimeError("the network failed")
    assert budget.in_use == 0


def test_a_budget_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one unit"):
        Budget(0)
