"""Every test's session log is its own: nothing a test plays lands in the user's log."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_session_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # In os.environ, so the commands tests run as processes inherit it too.
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if previous is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = previous
