"""Finding the real tools the suite drives, and skipping clearly when one is absent.

On a developer's laptop a missing tool (mosquitto, node, chromium, PostgreSQL)
skips the tests that need it with the reason.  With ``HALLVOTE_REQUIRE_ALL=1``
(as ``.ci/run`` sets) such a skip becomes a failure instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def require_all() -> bool:
    return os.environ.get("HALLVOTE_REQUIRE_ALL", "") not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip (or, under HALLVOTE_REQUIRE_ALL=1, fail) because a tool is missing."""
    if require_all():
        pytest.fail(f"required tool missing (HALLVOTE_REQUIRE_ALL=1): {reason}", pytrace=False)
    pytest.skip(reason)


def find_executable(name: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    venv_bin = Path(sys.executable).parent / name
    if venv_bin.exists():
        return str(venv_bin)
    for d in extra_dirs:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return None


def need_executable(name: str, extra_dirs: tuple[str, ...] = (), hint: str = "") -> str:
    path = find_executable(name, extra_dirs)
    if path is None:
        missing(f"'{name}' not found on PATH{': ' + hint if hint else ''}")
        raise AssertionError("unreachable")
    return path
