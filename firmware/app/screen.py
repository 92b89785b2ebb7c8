"""What the display shows: its lines, computed from the keypad (loaded only on a keypad with one).

At most four lines; in a secret round the display never shows the choice
once pressed (``secret_show_choice`` to change that).  Every text the
firmware draws is in :data:`TEXT` or comes from ``protocol.reasons`` /
``protocol.consts.CHOICE_LABELS``, which is what the display's glyph table
must cover.  The LEDs are :meth:`firmware.app.keypad.Keypad.show`'s.
"""

import sys

from protocol import consts, reasons

from . import states
from .keypad import SIGN_FAULT
from .outbox import VOTE

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from .keypad import Keypad

__all__ = ["TEXT", "label", "lines"]

TEXT = {
    "sign_fault": "签名故障",
    "repair": "请报修",
    "booting": "启动中",
    "joining": "连接网络",
    "connecting": "连接服务器",
    "offline": "离线",
    "queued": "待发送 %d",
    "no_sitting": "会议未开",
    "sitting_closed": "会议已结束",
    "press_checkin": "请按签到键",
    "checked_in": "已签到",
    "attendance": "应到%d 实到%d",
    "voting": "请表决",
    "paused": "表决暂停",
    "item": "第%d项",
    "sent": "发送中",
    "recorded": "已记录",
    "passed": "通过",
    "failed": "未通过",
    "selected": "入选",
    "not_selected": "未入选",
    "tie": "票数相同",
}
_OUTCOME = {
    consts.OUTCOME_PASSED: "passed",
    consts.OUTCOME_FAILED: "failed",
    consts.OUTCOME_SELECTED: "selected",
    consts.OUTCOME_NOT_SELECTED: "not_selected",
    consts.OUTCOME_TIE: "tie",
}


def label(kind: int, choice: int) -> str:
    """The Chinese label of a choice code for a ballot kind."""
    for code, zh, _en in consts.CHOICE_LABELS.get(kind, ()):
        if code == choice:
            return zh
    return "?"


def _attendance(kp: "Keypad") -> str:
    s = kp.sitting
    return TEXT["attendance"] % (s.expected, s.present) if s is not None else ""


def _result(kp: "Keypad") -> "list[str]":
    r = kp.result
    if r is None:
        return []
    name = _OUTCOME.get(r.outcome)
    lines = [TEXT[name]] if name else []
    if len(r.items) == 1 and r.ballot_kind != consts.RATING:
        counts = r.items[0][1]
        lines.append("%s%d %s%d %s%d" % (
            label(r.ballot_kind, 1), counts[0], label(r.ballot_kind, 2), counts[1],
            label(r.ballot_kind, 3), counts[2],
        ))  # fmt: skip
    return lines


def _choice(kp: "Keypad", item: int) -> int:
    """What the display says for an item: the draft, else the pending press, else the recorded one."""
    b = kp.ballot
    if b is not None and not b.single and b.draft[item]:
        return b.draft[item]
    for e in reversed(kp.outbox.entries):
        if e.kind == VOTE and e.ref == kp.round_key() and item in e.items:
            return e.choices[item]
    return kp.recorded.get(item, 0)


def _ballot(kp: "Keypad", show_choice: bool) -> "list[str]":
    b = kp.ballot
    if b is None:
        return []
    item = b.current()
    head = TEXT["item"] % (item + 1) if b.count > 1 else ""
    choice = _choice(kp, item) if item < b.count else 0
    if show_choice and choice:
        head = (head + " " + label(b.kind, choice)).strip()
    return [head] if head else []


def lines(kp: "Keypad") -> "list[str]":
    """The display's lines for the keypad's state."""
    state = kp.state
    secret = kp.motion is not None and kp.motion.secret
    show_choice = not secret or kp.cfg["secret_show_choice"]
    if state in (states.BOOTING, states.JOINING, states.CONNECTING):
        return [TEXT[state]]
    if state == states.OFFLINE:
        out = [TEXT["offline"]]
        if len(kp.outbox):
            out.append(TEXT["queued"] % len(kp.outbox))
        return out
    if state == states.REFUSED:
        if kp.refusal == SIGN_FAULT:
            return [TEXT["sign_fault"], TEXT["repair"]]
        return [reasons.text(kp.refusal if kp.refusal is not None else reasons.MALFORMED)]
    if state == states.IDLE:
        s = kp.sitting
        if s is None or s.state == consts.SITTING_SETUP:
            return [TEXT["no_sitting"]]
        if s.state == consts.SITTING_CLOSED:
            return [TEXT["sitting_closed"]]
        return [TEXT["press_checkin"], _attendance(kp)]
    if state == states.CHECKED_IN:
        return [(TEXT["checked_in"] + " " + kp.seat).strip(), _attendance(kp)] + _result(kp)
    if state == states.MOTION_OPEN:
        paused = kp.motion is not None and kp.motion.paused
        return [TEXT["paused" if paused else "voting"]] + _ballot(kp, True)
    if state == states.SENT:
        return [TEXT["sent"]] + _ballot(kp, show_choice)
    return [TEXT["recorded"]] + _ballot(kp, show_choice)  # RECORDED
