"""The rig as a pytest plugin (registered by the ``pytest11`` entry point of the hallvote package).

``rig`` is a factory: ``rig(keypads=10, spares=0, database_url=None, broker="mosquitto")``
starts a :class:`hil.rig.SimRig` in the test's temporary folder (every
keypad online) and closes it after the test.  With ``broker="mosquitto"``
(the default) and no Mosquitto the test skips with the reason (the suite
turns that into a failure under ``HALLVOTE_REQUIRE_ALL=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hil.rig.broker import mosquitto_path
from hil.rig.sim import SimRig

__all__ = ["rig"]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Callable[..., SimRig]]:
    started: list[SimRig] = []

    def make(keypads: int = 5, **options: Any) -> SimRig:
        if options.get("broker", "mosquitto") == "mosquitto" and mosquitto_path() is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        r = SimRig(tmp_path / f"rig{len(started)}", keypads, **options)
        started.append(r)
        r.start()
        return r

    yield make
    for r in started:
        r.close()
