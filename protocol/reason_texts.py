"""The texts of the reason codes: name, Chinese (keypad display, console), English.

Apart from :mod:`protocol.reasons` so that a keypad loads the texts only when
its display shows a refusal, and only for that moment
(:func:`protocol.reasons.text`); the gateway has them at once as
``reasons.TABLE``.  Codes are written as numbers here (this module imports
nothing); tests/protocol/test_reasons.py checks each against its name in
:mod:`protocol.reasons`.  The Chinese text is at most six characters so a
128x64 keypad display shows it on one line.
"""

__all__ = ("TABLE",)

# code, name, Chinese text (keypad and console), English text.
TABLE = (
    (0x00, "ACCEPTED", "已记录", "Recorded"),
    (0x01, "ALREADY_RECORDED", "已记录", "Already recorded"),
    (0x02, "REPLACED", "已更改", "Vote changed"),
    (0x03, "ALREADY_CHECKED_IN", "已签到", "Already checked in"),
    (0x10, "MALFORMED", "数据错误", "Malformed frame"),
    (0x11, "BAD_VERSION", "版本不符", "Unsupported protocol version"),
    (0x12, "UNKNOWN_TYPE", "类型未知", "Unknown frame type"),
    (0x13, "TOO_LONG", "数据过长", "Frame too long"),
    (0x14, "BAD_SIGNATURE", "签名无效", "Invalid signature"),
    (0x15, "DEVICE_MISMATCH", "设备不符", "Device id does not match topic"),
    (0x20, "UNKNOWN_DEVICE", "设备未注册", "Device not registered"),
    (0x21, "DEVICE_REVOKED", "设备已停用", "Device revoked"),
    (0x22, "SEAT_UNBOUND", "未绑定座位", "Device not bound to a seat"),
    (0x23, "NOT_MEMBER", "非本会成员", "Seat not assigned to a member"),
    (0x24, "NOT_CHECKED_IN", "请先签到", "Check in first"),
    (0x25, "STALE_COUNTER", "计数过期", "Stale frame counter"),
    (0x26, "CARD_MISMATCH", "请刷本人卡", "The member's own card is required"),
    (0x30, "NO_SITTING", "会议未开", "No sitting in progress"),
    (0x31, "WRONG_SITTING", "会议不符", "Frame is for another sitting"),
    (0x32, "CHECKIN_CLOSED", "签到未开", "Check-in is not open"),
    (0x33, "MOTION_NOT_OPEN", "表决未开", "No vote is open"),
    (0x34, "WRONG_ROUND", "轮次不符", "Frame is for another round"),
    (0x35, "ROUND_PAUSED", "表决暂停", "Vote is paused"),
    (0x36, "ROUND_CLOSED", "表决已止", "Vote is closed"),
    (0x40, "WRONG_BALLOT", "票式不符", "Ballot does not match the motion"),
    (0x41, "BAD_CHOICE", "选项无效", "Invalid choice"),
    (0x42, "EMPTY_BALLOT", "未选择", "Nothing chosen"),
    (0x43, "FIRST_PRESS_FINAL", "不可更改", "First press counts; cannot change"),
    (0x50, "BUSY", "系统繁忙", "Gateway busy, retrying"),
)
