"""Reason codes: one closed table, shared by keypad display, gateway and console.

Each code is one byte.  Codes below 0x10 are positive outcomes carried in
acks; codes from 0x10 up are refusals carried in nacks (or raised as
:class:`protocol.errors.ProtocolError`).  The texts (name, Chinese, English) are
in :mod:`protocol.reason_texts`: the gateway has them here at once as
:data:`TABLE`; a keypad loads them only when :func:`text` (or
:func:`name`, :func:`english`) is called, for that call, and keeps the
last row asked for, so a keypad without a display never loads them and one
with a display holds one row.
"""

import sys

__all__ = (
    "ACCEPTED",
    "ALREADY_CHECKED_IN",
    "ALREADY_RECORDED",
    "BAD_CHOICE",
    "BAD_SIGNATURE",
    "BAD_VERSION",
    "BUSY",
    "CARD_MISMATCH",
    "CHECKIN_CLOSED",
    "CODES",
    "DEVICE_MISMATCH",
    "DEVICE_REVOKED",
    "EMPTY_BALLOT",
    "FIRST_PRESS_FINAL",
    "MALFORMED",
    "MOTION_NOT_OPEN",
    "NOT_CHECKED_IN",
    "NOT_MEMBER",
    "NO_SITTING",
    "REPLACED",
    "ROUND_CLOSED",
    "ROUND_PAUSED",
    "SEAT_UNBOUND",
    "STALE_COUNTER",
    "TABLE",
    "TOO_LONG",
    "UNKNOWN_DEVICE",
    "UNKNOWN_TYPE",
    "WRONG_BALLOT",
    "WRONG_ROUND",
    "WRONG_SITTING",
    "code_of",
    "english",
    "is_refusal",
    "known",
    "name",
    "text",
)

# Positive outcomes (acks).
ACCEPTED = 0x00
ALREADY_RECORDED = 0x01
REPLACED = 0x02
ALREADY_CHECKED_IN = 0x03

# Frame-level refusals (the bytes themselves).
MALFORMED = 0x10
BAD_VERSION = 0x11
UNKNOWN_TYPE = 0x12
TOO_LONG = 0x13
BAD_SIGNATURE = 0x14
DEVICE_MISMATCH = 0x15

# Identity refusals (who is pressing).
UNKNOWN_DEVICE = 0x20
DEVICE_REVOKED = 0x21
SEAT_UNBOUND = 0x22
NOT_MEMBER = 0x23
NOT_CHECKED_IN = 0x24
STALE_COUNTER = 0x25
CARD_MISMATCH = 0x26  # check-in without the card on record for the seat's member

# Sitting and motion refusals (when it was pressed).
NO_SITTING = 0x30
WRONG_SITTING = 0x31
CHECKIN_CLOSED = 0x32
MOTION_NOT_OPEN = 0x33
WRONG_ROUND = 0x34
ROUND_PAUSED = 0x35
ROUND_CLOSED = 0x36

# Ballot refusals (what was pressed).
WRONG_BALLOT = 0x40
BAD_CHOICE = 0x41
EMPTY_BALLOT = 0x42
FIRST_PRESS_FINAL = 0x43

# The gateway could not decide now; the keypad retries unchanged.
BUSY = 0x50

# Every code above (what :func:`known` checks; the same codes as the rows of TABLE).
CODES = (
    ACCEPTED,
    ALREADY_RECORDED,
    REPLACED,
    ALREADY_CHECKED_IN,
    MALFORMED,
    BAD_VERSION,
    UNKNOWN_TYPE,
    TOO_LONG,
    BAD_SIGNATURE,
    DEVICE_MISMATCH,
    UNKNOWN_DEVICE,
    DEVICE_REVOKED,
    SEAT_UNBOUND,
    NOT_MEMBER,
    NOT_CHECKED_IN,
    STALE_COUNTER,
    CARD_MISMATCH,
    NO_SITTING,
    WRONG_SITTING,
    CHECKIN_CLOSED,
    MOTION_NOT_OPEN,
    WRONG_ROUND,
    ROUND_PAUSED,
    ROUND_CLOSED,
    WRONG_BALLOT,
    BAD_CHOICE,
    EMPTY_BALLOT,
    FIRST_PRESS_FINAL,
    BUSY,
)

_TEXTS = "protocol.reason_texts"
_MICROPYTHON = sys.implementation.name == "micropython"
if not _MICROPYTHON:
    from .reason_texts import TABLE
_last: "list[tuple[int, str, str, str]]" = []  # the last row looked up (MicroPython)


def _rows() -> "tuple[tuple[int, str, str, str], ...]":
    """The text table; on MicroPython its module is loaded for this call and dropped again."""
    from .reason_texts import TABLE as table

    if _MICROPYTHON:
        del sys.modules[_TEXTS]
        package = sys.modules.get("protocol")
        if package is not None and "reason_texts" in dir(package):
            delattr(package, "reason_texts")
    return table


def _row(code: int) -> "tuple[int, str, str, str]":
    if _last and _last[0][0] == code:
        return _last[0]
    for row in _rows():
        if row[0] == code:
            break
    else:
        row = (code, "UNKNOWN_REASON_%d" % code, "未知原因", "Unknown reason %d" % code)
    if _MICROPYTHON:
        _last[:] = [row]
    return row


def known(code: int) -> bool:
    """True if the code is in the table."""
    return code in CODES


def name(code: int) -> str:
    """The code's symbolic name, e.g. ``"BAD_SIGNATURE"``."""
    return _row(code)[1]


def text(code: int) -> str:
    """The code's Chinese text (what the keypad shows)."""
    return _row(code)[2]


def english(code: int) -> str:
    """The code's English text."""
    return _row(code)[3]


def is_refusal(code: int) -> bool:
    """True for codes carried in nacks, False for ack outcomes."""
    return code >= 0x10


def code_of(reason_name: str) -> int:
    """The code for a symbolic name; raises KeyError for an unknown name."""
    for row in _rows():
        if row[1] == reason_name:
            return row[0]
    raise KeyError(reason_name)
