"""Reason codes: one closed table, shared by keypad display, gateway and console.

Each code is one byte.  Codes below 0x10 are positive outcomes carried in
acks; codes from 0x10 up are refusals carried in nacks (or raised as
:class:`protocol.errors.ProtocolError`).  Texts are Chinese first, then
English; the Chinese text is at most six characters so a 128x64 keypad
display shows it on one line.
"""

__all__ = [
    "ACCEPTED",
    "ALREADY_CHECKED_IN",
    "ALREADY_RECORDED",
    "BAD_CHOICE",
    "BAD_SIGNATURE",
    "BAD_VERSION",
    "BUSY",
    "CARD_MISMATCH",
    "CHECKIN_CLOSED",
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
]

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

# code, name, Chinese text (keypad and console), English text.
TABLE = (
    (ACCEPTED, "ACCEPTED", "已记录", "Recorded"),
    (ALREADY_RECORDED, "ALREADY_RECORDED", "已记录", "Already recorded"),
    (REPLACED, "REPLACED", "已更改", "Vote changed"),
    (ALREADY_CHECKED_IN, "ALREADY_CHECKED_IN", "已签到", "Already checked in"),
    (MALFORMED, "MALFORMED", "数据错误", "Malformed frame"),
    (BAD_VERSION, "BAD_VERSION", "版本不符", "Unsupported protocol version"),
    (UNKNOWN_TYPE, "UNKNOWN_TYPE", "类型未知", "Unknown frame type"),
    (TOO_LONG, "TOO_LONG", "数据过长", "Frame too long"),
    (BAD_SIGNATURE, "BAD_SIGNATURE", "签名无效", "Invalid signature"),
    (DEVICE_MISMATCH, "DEVICE_MISMATCH", "设备不符", "Device id does not match topic"),
    (UNKNOWN_DEVICE, "UNKNOWN_DEVICE", "设备未注册", "Device not registered"),
    (DEVICE_REVOKED, "DEVICE_REVOKED", "设备已停用", "Device revoked"),
    (SEAT_UNBOUND, "SEAT_UNBOUND", "未绑定座位", "Device not bound to a seat"),
    (NOT_MEMBER, "NOT_MEMBER", "非本会成员", "Seat not assigned to a member"),
    (NOT_CHECKED_IN, "NOT_CHECKED_IN", "请先签到", "Check in first"),
    (STALE_COUNTER, "STALE_COUNTER", "计数过期", "Stale frame counter"),
    (CARD_MISMATCH, "CARD_MISMATCH", "请刷本人卡", "The member's own card is required"),
    (NO_SITTING, "NO_SITTING", "会议未开", "No sitting in progress"),
    (WRONG_SITTING, "WRONG_SITTING", "会议不符", "Frame is for another sitting"),
    (CHECKIN_CLOSED, "CHECKIN_CLOSED", "签到未开", "Check-in is not open"),
    (MOTION_NOT_OPEN, "MOTION_NOT_OPEN", "表决未开", "No vote is open"),
    (WRONG_ROUND, "WRONG_ROUND", "轮次不符", "Frame is for another round"),
    (ROUND_PAUSED, "ROUND_PAUSED", "表决暂停", "Vote is paused"),
    (ROUND_CLOSED, "ROUND_CLOSED", "表决已止", "Vote is closed"),
    (WRONG_BALLOT, "WRONG_BALLOT", "票式不符", "Ballot does not match the motion"),
    (BAD_CHOICE, "BAD_CHOICE", "选项无效", "Invalid choice"),
    (EMPTY_BALLOT, "EMPTY_BALLOT", "未选择", "Nothing chosen"),
    (FIRST_PRESS_FINAL, "FIRST_PRESS_FINAL", "不可更改", "First press counts; cannot change"),
    (BUSY, "BUSY", "系统繁忙", "Gateway busy, retrying"),
)


def _row(code: int) -> "tuple[int, str, str, str]":
    for row in TABLE:
        if row[0] == code:
            return row
    return (code, "UNKNOWN_REASON_%d" % code, "未知原因", "Unknown reason %d" % code)


def known(code: int) -> bool:
    """True if the code is in the table."""
    return any(row[0] == code for row in TABLE)


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
    for row in TABLE:
        if row[1] == reason_name:
            return row[0]
    raise KeyError(reason_name)
