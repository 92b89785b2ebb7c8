"""Numbers of protocol v2: version, frame types, ballot kinds, choices, states, limits.

Every value here is a byte on the wire; SPEC.md gives the same tables.  The
result outcomes (``OUTCOME_*``), the tables built from these numbers and the
helpers (``FRAME_NAMES``, ``CHOICE_LABELS``, ``BALLOT_KINDS``,
``PRESS_POLICIES``, ``SITTING_STATES``, ``OUTCOMES``, ``is_uplink``,
``is_downlink``, ``is_broadcast``, ``choice_max``, ``options_per_item``) are
reached here too but live in :mod:`protocol.tables`, loaded on their first
use, so a keypad that needs only the numbers here does not hold them.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from .tables import BALLOT_KINDS as BALLOT_KINDS
    from .tables import CHOICE_LABELS as CHOICE_LABELS
    from .tables import FRAME_NAMES as FRAME_NAMES
    from .tables import OUTCOME_FAILED as OUTCOME_FAILED
    from .tables import OUTCOME_NONE as OUTCOME_NONE
    from .tables import OUTCOME_NOT_SELECTED as OUTCOME_NOT_SELECTED
    from .tables import OUTCOME_PASSED as OUTCOME_PASSED
    from .tables import OUTCOME_SELECTED as OUTCOME_SELECTED
    from .tables import OUTCOME_TIE as OUTCOME_TIE
    from .tables import OUTCOMES as OUTCOMES
    from .tables import PRESS_POLICIES as PRESS_POLICIES
    from .tables import SITTING_STATES as SITTING_STATES
    from .tables import choice_max as choice_max
    from .tables import is_broadcast as is_broadcast
    from .tables import is_downlink as is_downlink
    from .tables import is_uplink as is_uplink
    from .tables import options_per_item as options_per_item

__all__ = (
    "ABSTAIN",
    "ACK",
    "ALL_ITEMS",
    "BASIC",
    "BROADCAST_MAX",
    "CARD_UID_MAX",
    "CHECK_IN",
    "DOWNLINK_MAX",
    "EXCELLENT",
    "FIRST_PRESS",
    "FLAG_PAUSED",
    "FLAG_SECRET",
    "HEAD_LEN",
    "HELLO",
    "ITEMS_MAX",
    "ITEM_LIST",
    "LAST_PRESS",
    "MOTION_CLOSED",
    "MOTION_OPEN",
    "NACK",
    "NO",
    "NONCE_LEN",
    "NONE",
    "RATING",
    "RESULT_SUMMARY",
    "SATISFIED",
    "SEAT_LABEL_MAX",
    "SIGNATURE_LEN",
    "SITTING_CHECKIN_OPEN",
    "SITTING_CLOSED",
    "SITTING_IN_SESSION",
    "SITTING_SETUP",
    "SITTING_STATE",
    "STATUS",
    "UNSATISFIED",
    "UPLINK_MAX",
    "VERSION",
    "VOTE",
    "YES",
    "YES_NO_ABSTAIN",
)

VERSION = 0x02

# Frame types.  0x01-0x3F uplink (signed), 0x40-0x7F downlink, 0x80-0xBF broadcast.
HELLO = 0x01
STATUS = 0x02
CHECK_IN = 0x03
VOTE = 0x04
ACK = 0x41
NACK = 0x42
SITTING_STATE = 0x81
MOTION_OPEN = 0x82
MOTION_CLOSED = 0x83
RESULT_SUMMARY = 0x84

# Sizes and bounds.
SIGNATURE_LEN = 64  # raw r || s, 32 bytes each, big-endian
NONCE_LEN = 8  # sitting and round nonces
HEAD_LEN = 32  # audit chain head: a SHA-256 hash
UPLINK_MAX = 200
DOWNLINK_MAX = 200
BROADCAST_MAX = 512
ITEMS_MAX = 32
CARD_UID_MAX = 10  # ISO 14443A UIDs are 4, 7 or 10 bytes
SEAT_LABEL_MAX = 8
ALL_ITEMS = 0xFF  # motion-open focus: every item is open at once

# Ballot kinds.
YES_NO_ABSTAIN = 1  # one question: yes / no / abstain
ITEM_LIST = 2  # up to 32 items, each yes / no / abstain / none (livelihood projects)
RATING = 3  # up to 32 items, each graded 1..4 or none


# Choice codes (one nibble per item).  0 is "not pressed" for every kind.
NONE = 0
YES = 1
NO = 2
ABSTAIN = 3
# Rating grades share the nibble: 1 优秀, 2 满意, 3 基本满意, 4 不满意.
EXCELLENT = 1
SATISFIED = 2
BASIC = 3
UNSATISFIED = 4

# Press policies.
FIRST_PRESS = 1  # 首次按键有效
LAST_PRESS = 2  # 以最后一次为准


# Motion-open flags.
FLAG_SECRET = 0x01
FLAG_PAUSED = 0x02

# Sitting states.
SITTING_SETUP = 0
SITTING_CHECKIN_OPEN = 1
SITTING_IN_SESSION = 2
SITTING_CLOSED = 3


def __getattr__(name: str) -> object:
    """A table or helper of :mod:`protocol.tables`, loaded on first use and kept here after."""
    from . import tables

    value = getattr(tables, name)  # AttributeError for any other name
    globals()[name] = value
    return value
