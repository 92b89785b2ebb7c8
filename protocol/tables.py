"""The outcomes, tables and helpers of :mod:`protocol.consts`: names, labels, valid sets, ranges.

Reached as ``protocol.consts.FRAME_NAMES``, ``consts.choice_max(...)`` and
so on: :mod:`protocol.consts` loads this module on the first such lookup
(its module ``__getattr__``), so a keypad that only needs the numbers does
not keep these tables and their texts on its heap.  The gateway uses them
as before.  The keypad never loads this module: its display
(``firmware/app/screen.py``) carries the zh-CN choice labels and the
outcome texts it shows as data, held to :data:`CHOICE_LABELS` and the
``OUTCOME_*`` codes by ``tests/firmware/app/test_screen.py`` (change both
together).
"""

from .consts import (
    ABSTAIN,
    ACK,
    BASIC,
    CHECK_IN,
    EXCELLENT,
    FIRST_PRESS,
    HELLO,
    ITEM_LIST,
    LAST_PRESS,
    MOTION_CLOSED,
    MOTION_OPEN,
    NACK,
    NO,
    NONE,
    RATING,
    RESULT_SUMMARY,
    SATISFIED,
    SITTING_CHECKIN_OPEN,
    SITTING_CLOSED,
    SITTING_IN_SESSION,
    SITTING_SETUP,
    SITTING_STATE,
    STATUS,
    UNSATISFIED,
    VOTE,
    YES,
    YES_NO_ABSTAIN,
)

__all__ = (
    "BALLOT_KINDS",
    "CHOICE_LABELS",
    "FRAME_NAMES",
    "OUTCOMES",
    "OUTCOME_FAILED",
    "OUTCOME_NONE",
    "OUTCOME_NOT_SELECTED",
    "OUTCOME_PASSED",
    "OUTCOME_SELECTED",
    "OUTCOME_TIE",
    "PRESS_POLICIES",
    "SITTING_STATES",
    "choice_max",
    "is_broadcast",
    "is_downlink",
    "is_uplink",
    "options_per_item",
)

FRAME_NAMES = {
    HELLO: "hello",
    STATUS: "status",
    CHECK_IN: "check-in",
    VOTE: "vote",
    ACK: "ack",
    NACK: "nack",
    SITTING_STATE: "sitting-state",
    MOTION_OPEN: "motion-open",
    MOTION_CLOSED: "motion-closed",
    RESULT_SUMMARY: "result-summary",
}

# Result outcomes (per motion and per item).  For rating items the outcome
# byte is instead the grade that carries (1..4).
OUTCOME_NONE = 0
OUTCOME_PASSED = 1
OUTCOME_FAILED = 2
OUTCOME_SELECTED = 3
OUTCOME_NOT_SELECTED = 4
OUTCOME_TIE = 5

# Ballot kinds, press policies, sitting states and outcomes: the values the wire admits.
BALLOT_KINDS = (YES_NO_ABSTAIN, ITEM_LIST, RATING)
# Choice labels per ballot kind: (code, zh-CN, English).
CHOICE_LABELS = {
    YES_NO_ABSTAIN: (
        (NONE, "未按", "not pressed"),
        (YES, "赞成", "yes"),
        (NO, "反对", "no"),
        (ABSTAIN, "弃权", "abstain"),
    ),
    ITEM_LIST: (
        (NONE, "未按", "not pressed"),
        (YES, "赞成", "yes"),
        (NO, "反对", "no"),
        (ABSTAIN, "弃权", "abstain"),
    ),
    RATING: (
        (NONE, "未按", "not pressed"),
        (EXCELLENT, "优秀", "excellent"),
        (SATISFIED, "满意", "satisfied"),
        (BASIC, "基本满意", "basically satisfied"),
        (UNSATISFIED, "不满意", "unsatisfied"),
    ),
}


PRESS_POLICIES = (FIRST_PRESS, LAST_PRESS)
SITTING_STATES = (SITTING_SETUP, SITTING_CHECKIN_OPEN, SITTING_IN_SESSION, SITTING_CLOSED)
OUTCOMES = (OUTCOME_NONE, OUTCOME_PASSED, OUTCOME_FAILED, OUTCOME_SELECTED, OUTCOME_NOT_SELECTED, OUTCOME_TIE)


def is_uplink(frame_type: int) -> bool:
    return 0x01 <= frame_type <= 0x3F


def is_downlink(frame_type: int) -> bool:
    return 0x40 <= frame_type <= 0x7F


def is_broadcast(frame_type: int) -> bool:
    return 0x80 <= frame_type <= 0xBF


def choice_max(ballot_kind: int) -> int:
    """Highest choice code a ballot kind admits (0 = none is always admitted)."""
    return UNSATISFIED if ballot_kind == RATING else ABSTAIN


def options_per_item(ballot_kind: int) -> int:
    """How many counts a result carries per item: 3 (yes/no/abstain) or 4 (grades)."""
    return 4 if ballot_kind == RATING else 3
