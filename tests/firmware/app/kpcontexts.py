"""Keypads brought into each state through real inputs, for CPython and MicroPython alike.

MicroPython-compatible on purpose (no f-strings with =, no dataclasses, no
typing): the MicroPython test ships this file into the WebAssembly port and
runs the same walk there.  ``in_state(name)`` drives a fresh keypad on the
simulated board with key presses, broadcasts and gateway answers until it
is in that state; ``event_arg(rig, event)`` is the argument the classifier
would hand to ``dispatch`` for that event in that context; ``walk(states,
events)`` dispatches every pair on a fresh keypad and returns the states
reached.
"""

from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.hal.sim import SimBoard, SimClock, seeded_rng
from protocol import codec, consts, frames, reasons, topics

HALL = "h1"
DEV = "kp-1"
SITTING = frames.SittingState(7, consts.SITTING_CHECKIN_OPEN, b"sit-0007", 5, 1, 1000)
MOTION = frames.MotionOpen(
    3, 1, b"round-31", consts.YES_NO_ABSTAIN, 1, 0x0E, consts.LAST_PRESS, 0, consts.ALL_ITEMS, 1000, 0
)


def encode(frame):
    """The wire bytes of a frame: a protocol.frames object, or one the keypad decoded and kept
    (protocol.device.Frame: the same type and field values)."""
    if not isinstance(frame, frames.Frame):
        frame = codec.CLASSES[frame.TYPE](*frame.values())
    return codec.encode(frame)


class Rig:
    """One keypad on a simulated board with a manual clock and a pretend MQTT link."""

    def __init__(self, display=True, seed=b"walk", **cfg):
        self.clock = SimClock(manual=True, start=1000)
        self.board = SimBoard(display=display, clock=self.clock, rng=seeded_rng(seed))
        settings = {"hall": HALL, "device_id": DEV}
        settings.update(cfg)
        self.kp = Keypad(self.board, config.load(None, settings))
        self.mqtt = False
        self.connects = 0
        self.sent = []  # (topic, payload) published, in order

    @property
    def state(self):
        return self.kp.state

    def step(self, ms=10):
        self.kp.step(self.clock.advance(ms), self.mqtt, self.connects)
        while self.kp.tx:
            self.sent.append(self.kp.tx.pop(0))

    def boot(self):
        self.kp.start()
        self.step()

    def connect(self):
        self.mqtt = True
        self.connects += 1
        self.step()

    def disconnect(self):
        self.mqtt = False
        self.step()

    def broadcast(self, channel, frame):
        self.kp.on_message(topics.broadcast(HALL, channel), encode(frame))
        self.step()

    def answer(self, frame):
        self.kp.on_message(topics.device(HALL, DEV, "down"), encode(frame))
        self.step()

    def press(self, key):
        self.board.press(key)
        self.step()

    def uplinks(self):
        """Decoded frames published on the keypad's ``up`` topic, in order."""
        up = topics.device(HALL, DEV, "up")
        return [codec.decode(p) for t, p in self.sent if t == up]

    def last_up(self):
        return self.uplinks()[-1]

    def ack_last(self, reason=reasons.ACCEPTED, choices=None, seat="A-1"):
        f = self.last_up()
        if f.TYPE == consts.CHECK_IN:
            self.answer(frames.Ack(f.counter, reason, f.TYPE, f.sitting_id, 0, (), seat))
        else:
            shown = f.choices if choices is None else choices
            self.answer(frames.Ack(f.counter, reason, f.TYPE, f.motion_id, f.round, shown, ""))

    def nack_last(self, reason):
        f = self.last_up()
        self.answer(frames.Nack(f.counter, reason, f.TYPE))


def in_state(name, **opts):
    """A Rig whose keypad is in state ``name`` with the representative context (see above)."""
    rig = Rig(**opts)
    if name == S.BOOTING:
        return rig
    if name == S.JOINING:
        rig.board.wifi.refuse = True
        rig.boot()
        return rig
    rig.boot()
    if name == S.CONNECTING:
        return rig
    rig.connect()
    rig.broadcast("sitting", SITTING)
    if name == S.IDLE:
        return rig
    rig.press("checkin")
    rig.ack_last()
    if name == S.CHECKED_IN:
        return rig
    rig.broadcast("motion", MOTION)
    if name == S.MOTION_OPEN:
        return rig
    if name == S.OFFLINE:
        rig.disconnect()
        return rig
    rig.press("yes")
    if name == S.SENT:
        return rig
    if name == S.REFUSED:
        rig.nack_last(reasons.WRONG_BALLOT)
        return rig
    rig.ack_last()
    return rig  # RECORDED


def event_arg(rig, event):
    """The argument the classifier would pass with ``event`` in this rig's context."""
    kp = rig.kp
    entry = kp.outbox.entries[-1] if kp.outbox.entries else None
    counter = entry.counter if entry is not None else 999
    ftype = consts.CHECK_IN if entry is not None and entry.kind == "checkin" else consts.VOTE
    choices = entry.choices if entry is not None else ()
    if event == S.KEY_VOTE:
        return (consts.NO,)
    if event == S.KEY_DENIED:
        return reasons.ROUND_PAUSED
    if event == S.SITTING_NEW:
        return frames.SittingState(8, consts.SITTING_CHECKIN_OPEN, b"sit-0008", 5, 0, 2000)
    if event == S.SITTING_UPDATE:
        return frames.SittingState(7, consts.SITTING_IN_SESSION, b"sit-0007", 5, 2, 2000)
    if event == S.SITTING_CLOSED:
        return frames.SittingState(7, consts.SITTING_CLOSED, b"sit-0007", 5, 2, 2000)
    if event == S.MOTION_OPENED:
        return frames.MotionOpen(3, 2, b"round-32", 1, 1, 0x0E, consts.LAST_PRESS, 0, 0xFF, 2000, 0)
    if event == S.MOTION_UPDATE:
        return frames.MotionOpen(3, 1, b"round-31", 1, 1, 0x0E, consts.LAST_PRESS, consts.FLAG_PAUSED, 0xFF, 1000, 0)
    if event == S.MOTION_CLOSED:
        return frames.MotionClosed(3, 1, b"round-31", 2000)
    if event == S.RESULT:
        return frames.ResultSummary(3, 1, 1, 5, 2, 0, consts.OUTCOME_PASSED, ((1, (2, 0, 0)),))
    if event == S.ACK:
        return frames.Ack(counter, reasons.ACCEPTED, ftype, 3, 1, choices, "")
    if event == S.NACK:
        return frames.Nack(counter, reasons.WRONG_BALLOT, ftype)
    if event == S.NACK_BUSY:
        return frames.Nack(counter, reasons.BUSY, ftype)
    return None


def walk(state_names, event_names):
    """Dispatch every (state, event) pair on a fresh keypad in that state: {state: {event: next}}."""
    out = {}
    for name in state_names:
        row = {}
        for event in event_names:
            rig = in_state(name)
            assert rig.state == name, (name, rig.state)
            row[event] = rig.kp.dispatch(event, event_arg(rig, event))
        out[name] = row
    return out
