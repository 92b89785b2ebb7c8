"""protocol/tables.py: the tables and helpers of protocol.consts, loaded on their first use.

``protocol.consts.FRAME_NAMES`` and the rest read as before (on CPython and on the MicroPython
WebAssembly port running the shipped .mpy files), the values are the SPEC's, and importing
protocol.consts (as the keypad does) does not load them.
"""

from __future__ import annotations

import pytest
from hvtest.micropython import micropython_harness, need_mpy_cross  # noqa: F401  (fixture)

from protocol import consts, tables

NAMES = tables.__all__


@pytest.mark.parametrize("name", NAMES)
def test_consts_hands_the_tables_on(name: str) -> None:
    assert getattr(consts, name) is getattr(tables, name)


def test_values() -> None:
    assert consts.BALLOT_KINDS == (consts.YES_NO_ABSTAIN, consts.ITEM_LIST, consts.RATING)
    assert consts.SITTING_STATES == (0, 1, 2, 3) and consts.PRESS_POLICIES == (1, 2)
    assert consts.OUTCOMES == (0, 1, 2, 3, 4, 5)
    assert consts.FRAME_NAMES[consts.CHECK_IN] == "check-in" and len(consts.FRAME_NAMES) == 10
    assert [code for code, _zh, _en in consts.CHOICE_LABELS[consts.RATING]] == [0, 1, 2, 3, 4]
    assert consts.CHOICE_LABELS[consts.YES_NO_ABSTAIN][1] == (consts.YES, "赞成", "yes")
    assert consts.is_uplink(consts.VOTE) and not consts.is_uplink(consts.ACK)
    assert consts.is_downlink(consts.NACK) and consts.is_broadcast(consts.MOTION_OPEN)
    assert consts.choice_max(consts.RATING) == consts.UNSATISFIED and consts.choice_max(1) == consts.ABSTAIN
    assert consts.options_per_item(consts.RATING) == 4 and consts.options_per_item(consts.ITEM_LIST) == 3
    with pytest.raises(AttributeError):
        consts.NO_SUCH_TABLE  # noqa: B018


LAZY_SCRIPT = """
import sys, hvhost
from protocol import consts, frames
out = {"after_import": "protocol.tables" in sys.modules, "vote": consts.VOTE}
out["after_number"] = "protocol.tables" in sys.modules
out["name"] = frames.Ack(1, 0, consts.VOTE).name
out["kinds"] = list(consts.BALLOT_KINDS)
out["max"] = consts.choice_max(consts.RATING)
out["loaded"] = "protocol.tables" in sys.modules
hvhost.result(out)
"""


def test_micropython_loads_the_tables_only_when_asked(micropython) -> None:
    need_mpy_cross()
    out = micropython.run_json(LAZY_SCRIPT, compiled=True, name="lazy_tables.py")
    assert out["after_import"] is False and out["after_number"] is False and out["vote"] == consts.VOTE
    assert out["name"] == "ack" and out["kinds"] == [1, 2, 3] and out["max"] == 4
    assert out["loaded"] is True
