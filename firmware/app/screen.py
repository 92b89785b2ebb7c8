"""What the display shows: its lines, computed from the keypad (loaded only on a keypad with one).

At most four lines; in a secret round the display never shows the choice
once pressed (``secret_show_choice`` to change that).  Every text the
firmware draws is in :data:`TEXTS` or comes from ``protocol.reasons``, which
is what the display's glyph table must cover.  The LEDs are
:meth:`firmware.app.keypad.Keypad.show`'s.

The texts are data: one str of ``|``-separated texts, picked by index
(``const()`` numbers, which cost nothing), not a dict of named strings, so
the keypad interns neither their names nor the short texts.  The choice
labels are the zh-CN ones of ``protocol.consts.CHOICE_LABELS`` and the
result texts follow ``protocol.tables``' outcome codes (OUTCOME_PASSED 1 ..
OUTCOME_TIE 5); tests/firmware/app/test_screen.py checks both against the
protocol, and the keypad never loads ``protocol.tables`` for them.
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

__all__ = ["TEXTS", "label", "lines"]

TEXTS = (
    "签名故障|请报修|启动中|连接网络|连接服务器|离线|待发送 %d|会议未开|会议已结束|请按签到键|已签到"
    "|应到%d 实到%d|请表决|表决暂停|第%d项|发送中|已记录"
    "|通过|未通过|入选|未入选|票数相同"  # the outcomes 1..5
    "|未按|赞成|反对|弃权"  # the choice labels of YES_NO_ABSTAIN and ITEM_LIST (codes 0..3)
    "|未按|优秀|满意|基本满意|不满意"  # and of RATING (codes 0..4)
)
_SIGN_FAULT = const(0)
_REPAIR = const(1)
_BOOTING = const(2)
_JOINING = const(3)
_CONNECTING = const(4)
_OFFLINE = const(5)
_QUEUED = const(6)
_NO_SITTING = const(7)
_SITTING_CLOSED = const(8)
_PRESS_CHECKIN = const(9)
_CHECKED_IN = const(10)
_ATTENDANCE = const(11)
_VOTING = const(12)
_PAUSED = const(13)
_ITEM = const(14)
_SENT = const(15)
_RECORDED = const(16)
_OUTCOMES = const(16)  # + the outcome code 1..5
_LABELS = const(22)  # + a choice code 0..3
_RATING_LABELS = const(26)  # + a grade 0..4


def label(kind: int, choice: int) -> str:
    """The Chinese label of a choice code for a ballot kind ("?" for a code the kind does not have)."""
    if kind == consts.RATING:
        first, n = _RATING_LABELS, 5
    elif kind == consts.YES_NO_ABSTAIN or kind == consts.ITEM_LIST:
        first, n = _LABELS, 4
    else:
        return "?"
    return TEXTS.split("|")[first + choice] if 0 <= choice < n else "?"


def lines(kp: "Keypad") -> "list[str]":
    """The display's lines for the keypad's state."""
    t = TEXTS.split("|")
    state = kp.state
    if state == states.BOOTING:
        return [t[_BOOTING]]
    if state == states.JOINING:
        return [t[_JOINING]]
    if state == states.CONNECTING:
        return [t[_CONNECTING]]
    if state == states.OFFLINE:
        if len(kp.outbox):
            return [t[_OFFLINE], t[_QUEUED] % len(kp.outbox)]
        return [t[_OFFLINE]]
    if state == states.REFUSED:
        if kp.refusal == SIGN_FAULT:
            return [t[_SIGN_FAULT], t[_REPAIR]]
        return [reasons.text(kp.refusal if kp.refusal is not None else reasons.MALFORMED)]
    s = kp.sitting
    attendance = t[_ATTENDANCE] % (s.expected, s.present) if s is not None else ""
    if state == states.IDLE:
        if s is None or s.state == consts.SITTING_SETUP:
            return [t[_NO_SITTING]]
        if s.state == consts.SITTING_CLOSED:
            return [t[_SITTING_CLOSED]]
        return [t[_PRESS_CHECKIN], attendance]
    if state == states.CHECKED_IN:
        out = [(t[_CHECKED_IN] + " " + kp.seat).strip(), attendance]
        r = kp.result
        if r is not None:
            if 1 <= r.outcome <= 5:
                out.append(t[_OUTCOMES + r.outcome])
            if len(r.items) == 1 and r.ballot_kind != consts.RATING:
                counts = r.items[0][1]
                out.append("%s%d %s%d %s%d" % (
                    label(r.ballot_kind, 1), counts[0], label(r.ballot_kind, 2), counts[1],
                    label(r.ballot_kind, 3), counts[2],
                ))  # fmt: skip
        return out
    # A round: its state, then the item (if several) and the choice (not once pressed in secret).
    if state == states.MOTION_OPEN:
        out = [t[_PAUSED if kp.motion is not None and kp.motion.paused else _VOTING]]
        show_choice = True
    else:  # SENT, RECORDED
        out = [t[_SENT if state == states.SENT else _RECORDED]]
        show_choice = not (kp.motion is not None and kp.motion.secret) or kp.cfg["secret_show_choice"]
    b = kp.ballot
    if b is None:
        return out
    item = b.current()
    head = t[_ITEM] % (item + 1) if b.count > 1 else ""
    if show_choice and item < b.count:
        # The draft, else the newest pending press of the item, else the recorded one.
        if not b.single and b.draft[item]:
            choice = b.draft[item]
        else:
            choice = kp.recorded.get(item, 0)
            for e in kp.outbox.entries:
                if e.kind == VOTE and e.ref == kp.round_key() and item in e.items:
                    choice = e.choices[item]
        if choice:
            head = (head + " " + label(b.kind, choice)).strip()
    if head:
        out.append(head)
    return out
