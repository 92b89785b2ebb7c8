"""Frame objects of protocol v2.

A frame is a plain value: its fields are set once in ``__init__`` and never
changed by hallvote code (``replace`` returns a copy).  Equality and hashing
cover the frame type, every field and, for uplink frames, the signature.
Values are not range-checked here; :mod:`protocol.codec` checks them when it
encodes or decodes.
"""

from . import consts

__all__ = (
    "Ack",
    "CheckIn",
    "Frame",
    "Health",
    "Hello",
    "MotionClosed",
    "MotionOpen",
    "Nack",
    "ResultSummary",
    "SittingState",
    "Status",
    "Uplink",
    "Vote",
)


class Frame:
    """Base of every frame.  ``FIELDS`` names the wire fields in order."""

    TYPE = 0
    FIELDS: "tuple[str, ...]" = ()

    @property
    def name(self) -> str:
        return consts.FRAME_NAMES.get(self.TYPE, "frame")

    def values(self) -> "tuple[object, ...]":
        return tuple(getattr(self, f) for f in self.FIELDS)

    def as_dict(self) -> "dict[str, object]":
        return {f: getattr(self, f) for f in self.FIELDS}

    def replace(self, **changes: object) -> "Frame":
        """A copy with some fields changed (an uplink copy drops its signature)."""
        values = self.as_dict()
        for key in changes:
            if key not in values and key != "signature":
                raise TypeError("%s has no field %r" % (type(self).__name__, key))
        values.update(changes)
        return type(self)(**values)

    def _key(self) -> "tuple[object, ...]":
        return (self.TYPE,) + self.values()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = ["%s=%r" % (f, getattr(self, f)) for f in self.FIELDS]
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))


class Uplink(Frame):
    """A signed frame from a keypad.  ``signature`` is b"" until the frame is sealed."""

    device_id: str
    counter: int
    signature: bytes

    def _key(self) -> "tuple[object, ...]":
        return (self.TYPE,) + self.values() + (self.signature,)

    def __repr__(self) -> str:
        text = Frame.__repr__(self)
        if self.signature:
            text = text[:-1] + ", signature=<%d bytes>)" % len(self.signature)
        return text


class Health(Uplink):
    """Base of hello and status: firmware version and device health."""

    FIELDS = ("device_id", "counter", "firmware", "uptime_s", "battery", "rssi", "free_heap")

    def __init__(
        self,
        device_id: str,
        counter: int,
        firmware: "tuple[int, int, int]",
        uptime_s: int,
        battery: int,
        rssi: int,
        free_heap: int,
        signature: bytes = b"",
    ) -> None:
        self.device_id = device_id
        self.counter = counter
        self.firmware = tuple(firmware)
        self.uptime_s = uptime_s
        self.battery = battery
        self.rssi = rssi
        self.free_heap = free_heap
        self.signature = signature


class Hello(Health):
    """Sent once after (re)connecting: who I am and how I am."""

    TYPE = consts.HELLO


class Status(Health):
    """The periodic heartbeat; same fields as hello."""

    TYPE = consts.STATUS


class CheckIn(Uplink):
    """签到: the member at this keypad's seat is present for the sitting."""

    TYPE = consts.CHECK_IN
    FIELDS = ("device_id", "counter", "sitting_id", "sitting_nonce", "card_uid")

    def __init__(
        self,
        device_id: str,
        counter: int,
        sitting_id: int,
        sitting_nonce: bytes,
        card_uid: bytes = b"",
        signature: bytes = b"",
    ) -> None:
        self.device_id = device_id
        self.counter = counter
        self.sitting_id = sitting_id
        self.sitting_nonce = sitting_nonce
        self.card_uid = card_uid
        self.signature = signature


class Vote(Uplink):
    """表决: the choices pressed for one round of one motion."""

    TYPE = consts.VOTE
    FIELDS = (
        "device_id",
        "counter",
        "motion_id",
        "round",
        "round_nonce",
        "ballot_kind",
        "choices",
        "card_uid",
    )

    def __init__(
        self,
        device_id: str,
        counter: int,
        motion_id: int,
        round: int,
        round_nonce: bytes,
        ballot_kind: int,
        choices: "tuple[int, ...]",
        card_uid: bytes = b"",
        signature: bytes = b"",
    ) -> None:
        self.device_id = device_id
        self.counter = counter
        self.motion_id = motion_id
        self.round = round
        self.round_nonce = round_nonce
        self.ballot_kind = ballot_kind
        self.choices = tuple(choices)
        self.card_uid = card_uid
        self.signature = signature


class Ack(Frame):
    """The gateway recorded the uplink frame whose counter this echoes.

    ``ref_id`` is the motion id (vote) or sitting id (check-in), 0 otherwise;
    ``choices`` is what was recorded for a named vote, empty for a secret one;
    ``seat`` is the seat label a check-in was recorded for.
    """

    TYPE = consts.ACK
    FIELDS = ("counter", "reason", "acked_type", "ref_id", "round", "choices", "seat")

    def __init__(
        self,
        counter: int,
        reason: int,
        acked_type: int,
        ref_id: int = 0,
        round: int = 0,
        choices: "tuple[int, ...]" = (),
        seat: str = "",
    ) -> None:
        self.counter = counter
        self.reason = reason
        self.acked_type = acked_type
        self.ref_id = ref_id
        self.round = round
        self.choices = tuple(choices)
        self.seat = seat


class Nack(Frame):
    """The gateway refused the uplink frame whose counter this echoes, with a reason.

    ``counter`` and ``nacked_type`` are 0 when the frame was too broken to read them.
    """

    TYPE = consts.NACK
    FIELDS = ("counter", "reason", "nacked_type")

    def __init__(self, counter: int, reason: int, nacked_type: int) -> None:
        self.counter = counter
        self.reason = reason
        self.nacked_type = nacked_type


class SittingState(Frame):
    """Retained broadcast: which sitting is on, its state, 应到 and 实到."""

    TYPE = consts.SITTING_STATE
    FIELDS = ("sitting_id", "state", "sitting_nonce", "expected", "present", "issued_at")

    def __init__(
        self, sitting_id: int, state: int, sitting_nonce: bytes, expected: int, present: int, issued_at: int
    ) -> None:
        self.sitting_id = sitting_id
        self.state = state
        self.sitting_nonce = sitting_nonce
        self.expected = expected
        self.present = present
        self.issued_at = issued_at


class MotionOpen(Frame):
    """Retained broadcast: a round is open (or paused) for voting.

    ``options`` is a bit mask of admitted choice codes (bit c set: code c may
    be pressed); ``focus`` is the one item the chair has put, or ALL_ITEMS;
    ``deadline`` is the countdown's end in Unix seconds, 0 for none.
    """

    TYPE = consts.MOTION_OPEN
    FIELDS = (
        "motion_id",
        "round",
        "round_nonce",
        "ballot_kind",
        "item_count",
        "options",
        "press_policy",
        "flags",
        "focus",
        "issued_at",
        "deadline",
    )

    def __init__(
        self,
        motion_id: int,
        round: int,
        round_nonce: bytes,
        ballot_kind: int,
        item_count: int,
        options: int,
        press_policy: int,
        flags: int,
        focus: int,
        issued_at: int,
        deadline: int,
    ) -> None:
        self.motion_id = motion_id
        self.round = round
        self.round_nonce = round_nonce
        self.ballot_kind = ballot_kind
        self.item_count = item_count
        self.options = options
        self.press_policy = press_policy
        self.flags = flags
        self.focus = focus
        self.issued_at = issued_at
        self.deadline = deadline

    @property
    def secret(self) -> bool:
        return bool(self.flags & consts.FLAG_SECRET)

    @property
    def paused(self) -> bool:
        return bool(self.flags & consts.FLAG_PAUSED)


class MotionClosed(Frame):
    """Retained broadcast: the round is closed; presses for it are refused."""

    TYPE = consts.MOTION_CLOSED
    FIELDS = ("motion_id", "round", "round_nonce", "issued_at")

    def __init__(self, motion_id: int, round: int, round_nonce: bytes, issued_at: int) -> None:
        self.motion_id = motion_id
        self.round = round
        self.round_nonce = round_nonce
        self.issued_at = issued_at


class ResultSummary(Frame):
    """Retained broadcast: the announced result of a round.

    ``items`` holds one ``(outcome, counts)`` pair per item; ``counts`` has
    3 numbers (yes, no, abstain) or, for ratings, 4 (grades 1..4).
    ``audit_seq`` and ``audit_head`` are the gateway's audit chain head right
    after this result was frozen (its record's sequence number and hash), so
    anyone who keeps the broadcast can later detect a cut or rewritten log.
    """

    TYPE = consts.RESULT_SUMMARY
    FIELDS = (
        "motion_id",
        "round",
        "ballot_kind",
        "expected",
        "present",
        "not_pressed",
        "outcome",
        "items",
        "audit_seq",
        "audit_head",
    )

    def __init__(
        self,
        motion_id: int,
        round: int,
        ballot_kind: int,
        expected: int,
        present: int,
        not_pressed: int,
        outcome: int,
        items: "tuple[tuple[int, tuple[int, ...]], ...]",
        audit_seq: int = 0,
        audit_head: bytes = bytes(consts.HEAD_LEN),
    ) -> None:
        self.motion_id = motion_id
        self.round = round
        self.ballot_kind = ballot_kind
        self.expected = expected
        self.present = present
        self.not_pressed = not_pressed
        self.outcome = outcome
        self.items = tuple((outcome_, tuple(counts)) for outcome_, counts in items)
        self.audit_seq = audit_seq
        self.audit_head = audit_head
