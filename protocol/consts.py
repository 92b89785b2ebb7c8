"""Numbers of protocol v2: version, frame types, ballot kinds, choices, states, limits.

Every value here is a byte on the wire; SPEC.md gives the same tables.
"""

__all__ = (
    "ABSTAIN",
    "ACK",
    "ALL_ITEMS",
    "BALLOT_KINDS",
    "BASIC",
    "BROADCAST_MAX",
    "CARD_UID_MAX",
    "CHECK_IN",
    "CHOICE_LABELS",
    "DOWNLINK_MAX",
    "EXCELLENT",
    "FIRST_PRESS",
    "FLAG_PAUSED",
    "FLAG_SECRET",
    "FRAME_NAMES",
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
    "OUTCOMES",
    "OUTCOME_FAILED",
    "OUTCOME_NONE",
    "OUTCOME_NOT_SELECTED",
    "OUTCOME_PASSED",
    "OUTCOME_SELECTED",
    "OUTCOME_TIE",
    "PRESS_POLICIES",
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
    "SITTING_STATES",
    "STATUS",
    "UNSATISFIED",
    "UPLINK_MAX",
    "VERSION",
    "VOTE",
    "YES",
    "YES_NO_ABSTAIN",
    "choice_max",
    "is_broadcast",
    "is_downlink",
    "is_uplink",
    "options_per_item",
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
BALLOT_KINDS = (YES_NO_ABSTAIN, ITEM_LIST, RATING)

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

# Press policies.
FIRST_PRESS = 1  # 首次按键有效
LAST_PRESS = 2  # 以最后一次为准
PRESS_POLICIES = (FIRST_PRESS, LAST_PRESS)

# Motion-open flags.
FLAG_SECRET = 0x01
FLAG_PAUSED = 0x02

# Sitting states.
SITTING_SETUP = 0
SITTING_CHECKIN_OPEN = 1
SITTING_IN_SESSION = 2
SITTING_CLOSED = 3
SITTING_STATES = (SITTING_SETUP, SITTING_CHECKIN_OPEN, SITTING_IN_SESSION, SITTING_CLOSED)

# Result outcomes (per motion and per item).  For rating items the outcome
# byte is instead the grade that carries (1..4).
OUTCOME_NONE = 0
OUTCOME_PASSED = 1
OUTCOME_FAILED = 2
OUTCOME_SELECTED = 3
OUTCOME_NOT_SELECTED = 4
OUTCOME_TIE = 5
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
