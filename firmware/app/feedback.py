"""What the deputy sees: LED modes and display lines, computed from the keypad.

LEDs (every keypad):

* ``status``: on while online, blinking while joining, connecting or
  offline, off while booting.
* ``checkin``: blinking while a check-in is unanswered, on once the gateway
  acknowledged it (for this sitting), else off.
* ``yes``/``no``/``abstain``, named rounds: the pressed key blinks while its
  vote is unanswered and stays lit once the gateway's ack arrives.
* Secret rounds (无记名): nothing a neighbour can read.  While a vote is
  unanswered all three vote keys blink alike; once acknowledged they are all
  off and only the single ``recorded`` light is on.
* ``recorded``: on while the item on show is recorded and nothing is
  pending for it (named and secret rounds).

The display's lines are :mod:`firmware.app.screen`'s, loaded only on a
keypad that has a display.
"""

import sys

from . import states
from .outbox import CHECKIN, VOTE

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from .keypad import Keypad

if sys.implementation.name != "micropython":
    __all__ = ["SIGN_FAULT", "key_of", "leds", "show"]

# protocol.consts as const() numbers (checked by tests/firmware/app/test_consts.py).
_RATING = const(3)
_YES = const(1)
_NO = const(2)
_ABSTAIN = const(3)
_EXCELLENT = const(1)

OFF = "off"
ON = "on"
BLINK = "blink"
VOTE_KEYS = ("yes", "no", "abstain")

SIGN_FAULT = -1  # a local refusal (never on the wire): the signer refused to make a nonce

def key_of(kp: "Keypad", choice: int) -> "str | None":
    """The key whose LED stands for a recorded choice."""
    if kp.motion is not None and kp.motion.ballot_kind == _RATING:
        keys = kp.cfg["rating_keys"]
        for key in VOTE_KEYS:
            if keys.get(key) == choice:
                return key
        return "yes" if choice == _EXCELLENT else None
    return {_YES: "yes", _NO: "no", _ABSTAIN: "abstain"}.get(choice)


def leds(kp: "Keypad") -> "dict[str, str]":
    """The mode of every LED."""
    state = kp.state
    out = {}
    for name in kp.board.leds.names:
        out[name] = OFF
    if state == states.BOOTING:
        out["status"] = OFF
    elif state in states.ONLINE:
        out["status"] = ON
    else:
        out["status"] = BLINK
    if kp.pending(CHECKIN):
        out["checkin"] = BLINK
    else:
        out["checkin"] = ON if kp.checked_in else OFF
    for key in VOTE_KEYS:
        out[key] = OFF
    out["recorded"] = OFF
    motion = kp.motion
    if motion is None:
        return out
    secret = motion.secret
    item = kp.ballot.current() if kp.ballot is not None else 0
    pending = [e for e in kp.outbox.entries if e.kind == VOTE and e.ref == kp.round_key()]
    if pending:
        if secret:
            for key in VOTE_KEYS:
                out[key] = BLINK
        else:
            out[pending[-1].key] = BLINK
        return out
    if item in kp.recorded:
        out["recorded"] = ON
        lit = None if secret else key_of(kp, kp.recorded[item])
        if lit is not None:
            out[lit] = ON
    return out


def show(kp: "Keypad") -> None:
    """Put the keypad's feedback on the board, touching only what changed."""
    modes = leds(kp)
    for name, mode in modes.items():
        if kp.shown_leds.get(name) != mode:
            kp.board.leds.set(name, mode)
    kp.shown_leds = modes
    display = kp.board.display
    if display is not None:
        from . import screen  # only keypads with a display load the texts

        text = screen.lines(kp)[: display.rows]
        if text != kp.shown_lines:
            kp.shown_lines = text
            display.show(text)
