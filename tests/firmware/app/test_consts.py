"""The keypad application's const() numbers are the protocol's.

firmware/app/keypad.py (and ballot.py) names the frame types, reason codes and protocol
constants it uses as ``const()``
numbers with a leading underscore (MicroPython folds them into the
bytecode, so the keypad loads neither protocol.consts nor
protocol.reasons): each must equal the protocol's number of that name
(or, for the time floor's, firmware.app.timefloor's).
"""

from __future__ import annotations

import pytest

from firmware.app import ballot, keypad, timefloor
from protocol import consts, reasons


@pytest.mark.parametrize("module", [keypad, ballot])
def test_each_const_is_the_protocols_number_of_that_name(module: object) -> None:
    named = {
        k: v for k, v in vars(module).items() if k.startswith("_") and k[1:].isupper() and type(v) is int
    }
    assert named  # the module does name some
    for key, value in named.items():
        want = [getattr(m, key[1:]) for m in (consts, reasons, timefloor) if hasattr(m, key[1:])]
        assert want == [value], key
