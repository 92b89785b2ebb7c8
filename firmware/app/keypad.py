"""The keypad application: what it knows, how inputs become events, and the actions.

The state machine itself is data (:mod:`firmware.app.states`); this module
classifies raw inputs (key presses, received frames, link changes, timers)
into the table's events, runs the actions the table names, derives the
state for RESUME and shows the result on the LEDs (and the display).  It is synchronous and does no network I/O: frames to
publish are appended to ``tx`` as ``(topic, payload)`` and the loop
(:mod:`firmware.app.runner`) hands them to the MQTT client.  So the same
object runs under CPython tests with a deterministic clock, in the
simulated rig and on the ESP32.

Reliability rules kept here: the counter is reserved in NVS before signing
(:mod:`firmware.counter`); a signed frame is kept in the outbox (saved in
NVS, so it survives a reset) and resent unchanged until answered or its
round closes; the private key is generated
after Wi-Fi is up, stored in NVS and never leaves (only the public key is
exposed); at most one nonce-precomputation slice runs per ``step()``.

**Inputs -> events** (the guards live here, not in the table; they never
change what the keypad knows, except that a navigation key moves the draft
ballot's cursor or sets a draft choice):

* a key press (:meth:`Keypad.press`) -> an event and its argument, or none
  (e.g. check-in when already checked in, the same choice again).  A
  check-in press needs a sitting in check-in or in session; a vote press
  needs an open round, a check-in (made or unanswered), a round not paused,
  and under first press an item not yet recorded or pending; otherwise
  ``key_denied`` with the reason the gateway would give;
* an ack/nack from the gateway (:meth:`Keypad.receive`) -> ``ack`` /
  ``nack`` / ``nack_busy``, only for a frame in the outbox (same counter and
  type);
* a broadcast -> a sitting, motion or result event, or none when it tells
  nothing new (retained broadcasts are repeated on every reconnect and
  gateway restart).

**What the deputy sees** (:meth:`Keypad.show`, after every transition).  LEDs
(every keypad):

* ``status``: on while online, blinking while joining, connecting or
  offline, off while booting.
* ``checkin``: blinking while a check-in is unanswered, on once the gateway
  acknowledged it (for this sitting), else off.
* ``yes``/``no``/``abstain``, named rounds: the pressed key blinks while its
  vote is unanswered and stays lit once the gateway's ack arrives.
* Secret rounds (无记名): nothing a neighbour can read.  While a vote is
  unanswered all three vote keys blink alike; once acknowledged they are all
  off and only the single ``recorded`` light is on.
* ``recorded``: on while the item on show is recorded and nothing is
  pending for it (named and secret rounds).

The display's lines are :mod:`firmware.app.screen`'s, loaded only on a
keypad that has a display.

Ballots (how key presses become a ballot for the open round) are
:mod:`firmware.app.ballot`'s.
"""

import sys

from firmware import signer as sg
from firmware.counter import Counter
from protocol import device as codec
from protocol.errors import ProtocolError

from . import outbox, states
from .ballot import CHOICE_KEYS, NAV_KEYS, Ballot
from .config import NVS_BOOTS, NVS_CHECKIN, NVS_COUNTER, NVS_OUTBOX, NVS_SECRET
from .outbox import CHECKIN, VOTE, Entry, Outbox

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from firmware.hal.port import Board
    from protocol.frames import MotionOpen, ResultSummary, SittingState

if sys.implementation.name != "micropython":
    __all__ = ["CHOICE_KEYS", "HISTORY", "NAV_KEYS", "SIGN_FAULT", "Ballot", "Keypad"]

# protocol.consts and protocol.reasons, as const() numbers MicroPython folds into the bytecode (the
# keypad loads neither module; tests/firmware/app/test_consts.py checks them against both).
_HELLO = const(0x01)
_STATUS = const(0x02)
_CHECK_IN = const(0x03)
_VOTE = const(0x04)
_ACK = const(0x41)
_NACK = const(0x42)
_SITTING_STATE = const(0x81)
_MOTION_OPEN = const(0x82)
_MOTION_CLOSED = const(0x83)
_RESULT_SUMMARY = const(0x84)
_CARD_UID_MAX = const(10)
_FIRST_PRESS = const(1)
_SITTING_CHECKIN_OPEN = const(1)
_SITTING_IN_SESSION = const(2)
_SITTING_CLOSED = const(3)
_RATING = const(3)
_EXCELLENT = const(1)
# firmware.app.timefloor's (test_consts checks them too): the rule is kept here, in Keypad
_RELEASED = const(1795132800)
_SAVE_STEP = const(86400)
_SLACK_S = const(60)
_NOT_CHECKED_IN = const(0x24)
_NO_SITTING = const(0x30)
_CHECKIN_CLOSED = const(0x32)
_MOTION_NOT_OPEN = const(0x33)
_ROUND_PAUSED = const(0x35)
_ROUND_CLOSED = const(0x36)
_FIRST_PRESS_FINAL = const(0x43)
_BUSY = const(0x50)

HISTORY = 64  # transitions kept for tests and diagnostics
SIGN_FAULT = -1  # a local refusal (never on the wire): the signer refused to make a nonce
_S = states


def _u32(raw: "bytes | None") -> int:
    return int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else 0


class Keypad:
    def __init__(self, board: "Board", cfg: "dict[str, Any] | None" = None) -> None:
        self.board = board
        if cfg is None:
            from . import config

            cfg = config.load(None)
        self.cfg = cfg
        self.clock = board.clock
        self.hall = self.cfg["hall"]
        self.device_id = self.cfg["device_id"]
        self.up_topic = codec.topic(self.hall, self.device_id, "up")
        self.status_topic = codec.topic(self.hall, self.device_id, "status")
        nvs = board.nvs
        self.counter = Counter(nvs, self.cfg["counter_block"], NVS_COUNTER)
        # The time floor (firmware.app.timefloor): the RTC is set to it if unset or behind it, now,
        # before any TLS handshake (it starts at 2000-01-01); see receive() for what moves it.
        self.time_saved = _u32(nvs.get("tf"))  # timefloor.NVS_KEY: the floor last saved
        self.time_floor = self.time_saved if self.time_saved > _RELEASED else _RELEASED
        now = self.clock.time()
        if now is None or now < self.time_floor:
            self.clock.set(self.time_floor)
        self.boots = _u32(nvs.get(NVS_BOOTS)) + 1
        nvs.set(NVS_BOOTS, self.boots.to_bytes(4, "big"))
        # The nonce counter starts at boots << 32: unique only if this boot count is on flash.
        self.boots_durable = _u32(nvs.get(NVS_BOOTS)) == self.boots
        self.sign_refusals = 0  # frames not signed: dead RNG and no durable boot count
        self.signer: sg.Signer | None = None
        secret = nvs.get(NVS_SECRET)
        if secret is not None:
            self._use_key(secret)
        if not 1 <= self.cfg["outbox_max"] <= 16:  # saved in one NVS blob, read back in at most 4 KiB
            raise ValueError("outbox_max must be 1..16, not %r" % (self.cfg["outbox_max"],))
        self.outbox = Outbox(self.cfg["outbox_max"], self.cfg["retransmit_ms"], self.cfg["retransmit_max_ms"])
        self.outbox_lost = 0  # a saved outbox that could not be read back
        raw = nvs.get(NVS_OUTBOX)
        if raw:
            try:
                for entry in outbox.load(raw):  # due as after a reconnect (see the "online" action)
                    self.outbox.add(entry)
            except ValueError:
                self.outbox_lost += 1
            self.outbox.changed = False
        self.navigable = board.display is not None and "confirm" in board.keys.names
        self.state = _S.BOOTING
        self.history: list[tuple[str, str, str]] = []
        self.inbox: list[tuple[str, bytes]] = []  # filled by the MQTT callback, drained by step()
        self.inbox_dropped = 0
        self.bad_frames = 0
        self.tx: list[tuple[str, bytes]] = []
        self._health = 0  # a hello or status (its frame type) waiting for nonces beyond the reserve
        self.online = False
        self.want_mqtt = False
        self._wifi = False
        self._mqtt = False
        self._connects = 0
        self.now = self.clock.ticks_ms()
        self.uptime_ms = 0  # summed per step: ticks wrap (MicroPython), uptime must not
        self._wifi_tried = self.now
        self._heartbeat_at = self.now
        self.shown_leds: dict[str, str] = {}  # what show() last set
        self.shown_lines: list[str] | None = None
        # what the keypad knows of the hall
        self.sitting: SittingState | None = None
        self.checked_in = False
        self.seat = ""
        self.motion: MotionOpen | None = None
        self.ballot: Ballot | None = None
        self.recorded: dict[int, int] = {}  # item -> choice (0 when not shown: secret)
        self.refusal: int | None = None
        self._refusal_at = 0
        self.result: ResultSummary | None = None
        self._pressed = ""

    # ------------------------------------------------------------ identity

    def _use_key(self, secret: bytes) -> None:
        self.signer = sg.Signer(
            secret,
            self.board.rng,
            self.cfg["nonce_pool"],
            self.cfg["steps_per_slice"],
            self.boots << 32,
            counter_durable=self.boots_durable,
            reserve=self.cfg["nonce_reserve"],
            key_in_steps=True,  # the public key in steps, after the nonce pool is full
        )

    def public_key(self) -> "bytes | None":
        """The 65-byte SEC1 public key to register at the gateway, once generated
        (its remaining steps are done now if the loop has not done them yet)."""
        return self.signer.public_key() if self.signer is not None else None

    def _seal(self, frame_type: int, values: "tuple[object, ...]") -> "bytes | None":
        """The signed frame (``values`` in wire order, see :func:`protocol.device.seal`), or None
        (shown as a fault) if the signer refuses to make a nonce."""
        signer = self.signer
        assert signer is not None
        try:
            return codec.seal(frame_type, values, signer.sign)
        except sg.NonceRefused:
            self.sign_refusals += 1
            self.refusal = SIGN_FAULT
            self._refusal_at = self.now
            return None

    # ------------------------------------------------------------ the loop's entry points

    def start(self) -> None:
        self.dispatch(_S.BOOTED)

    def on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """MQTT callback: only enqueue (bounded; the oldest is dropped and counted)."""
        if len(self.inbox) >= self.cfg["inbox_max"]:
            self.inbox.pop(0)
            self.inbox_dropped += 1
        self.inbox.append((topic, payload))

    def step(self, now: int, mqtt_up: bool = False, connects: int = 0, opening: bool = False) -> None:
        """One loop iteration: scan keys, follow the link, drain the inbox, run timers,
        drive the LEDs and do at most one precomputation slice; none while ``opening`` (the MQTT
        client opens a link: its TLS handshake gets the heap the signer's refill overlay would
        hold, so the signer drops the nonce in progress and the overlay with it)."""
        diff = self.clock.ticks_diff
        cfg = self.cfg
        self.uptime_ms += max(0, diff(now, self.now))
        self.now = now
        for key, pressed in self.board.keys.poll(now):
            if pressed:
                self.press(key)
        # the link: Wi-Fi, then the MQTT session (a new one even if we missed the drop)
        wifi = self.board.wifi.connected()
        if wifi != self._wifi:
            self._wifi = wifi
            self.dispatch(_S.WIFI_UP if wifi else _S.WIFI_DOWN)
        if connects != self._connects:
            self._connects = connects
            if self._mqtt:
                self.dispatch(_S.MQTT_DOWN)
            self._mqtt = False
        if mqtt_up != self._mqtt:
            self._mqtt = mqtt_up
            self.dispatch(_S.MQTT_UP if mqtt_up else _S.MQTT_DOWN)
        if not wifi and self.state != _S.BOOTING and diff(now, self._wifi_tried) >= cfg["wifi_retry_ms"]:
            self._wifi_tried = now
            self.board.wifi.connect(cfg["wifi_ssid"], cfg["wifi_password"])
        while self.inbox:
            topic, payload = self.inbox.pop(0)
            self.receive(topic, payload)
        # timers
        if self.online and self.outbox.due(now, diff):
            self.dispatch(_S.RETRANSMIT)
        if self.online and diff(now, self._heartbeat_at) >= cfg["heartbeat_s"] * 1000:
            self.dispatch(_S.HEARTBEAT)
        if self.refusal is not None and diff(now, self._refusal_at) >= cfg["refusal_ms"]:
            self.dispatch(_S.DISPLAY_TIMEOUT)
        self.board.leds.tick(now)
        signer = self.signer
        if signer is not None and opening:
            signer.rest()
        elif signer is not None:  # one bounded slice: nonces first, then the public key
            try:  # noqa: SIM105  (MicroPython has no contextlib)
                signer.precompute_slice()
            except sg.NonceRefused:  # no nonce until the RNG works: a press shows the fault
                pass
            if self._health and signer.can_sign(False):
                self._send_health(self._health)

    # ------------------------------------------------------------ the machine

    def dispatch(self, event: str, arg: "Any" = None) -> str:
        """Run one table transition: the action, then the next state (SAME, RESUME or named)."""
        before = self.state
        nxt, action = _S.transition(before, event)
        if action is not None:
            self._do(action, arg)
            # the outbox to NVS when its entries changed: before any new frame reaches the client
            if self.outbox.changed:
                self.board.nvs.set(NVS_OUTBOX, outbox.dump(self.outbox.entries))
                self.outbox.changed = False
        if nxt == _S.RESUME:  # the state that what the keypad knows implies (states rule 8)
            ballot = self.ballot
            if ballot is not None and not ballot.single:
                recorded = bool(self.recorded)
            else:
                recorded = (ballot.current() if ballot is not None else 0) in self.recorded
            nxt = _S.derive(
                self.refusal is not None, len(self.outbox) > 0, self.checked_in, self.motion is not None, recorded
            )
        elif nxt == _S.SAME:
            nxt = before
        self.state = nxt
        self.history.append((before, event, nxt))
        if len(self.history) > HISTORY:
            self.history.pop(0)
        self.show()
        return nxt

    def round_key(self) -> "tuple[int, int] | None":
        m = self.motion
        return (m.motion_id, m.round) if m is not None else None

    def known(self, item: int) -> int:
        """The choice pending or recorded for an item of this round (0: none or not known)."""
        for e in reversed(self.pending(VOTE, self.round_key())):
            if item in e.items:
                return e.choices[item]
        return self.recorded.get(item, 0)

    def pending(self, kind: str, ref: "Any" = None) -> "list[Entry]":
        return [e for e in self.outbox.entries if e.kind == kind and (ref is None or e.ref == ref)]

    # ------------------------------------------------------------ inputs -> events

    def press(self, key: str) -> None:
        event, arg = self._press_event(key)
        if (event == _S.KEY_CHECKIN or event == _S.KEY_VOTE) and self.signer is not None and self.signer.refusing:
            event, arg = _S.KEY_DENIED, SIGN_FAULT  # no nonce can be made: say so, sign nothing
            self.sign_refusals += 1
        if event is not None:
            self._pressed = key
            self.dispatch(event, arg)

    def _press_event(self, key: str) -> "tuple[str | None, Any]":
        """A key -> ``(event, arg)``, or ``(None, None)``: nothing to do (see the module docstring)."""
        if key == "checkin":
            if self.checked_in or self.pending(CHECKIN):
                return None, None  # the LED already says so
            s = self.sitting
            if s is None:
                return _S.KEY_DENIED, _NO_SITTING
            if s.state not in (_SITTING_CHECKIN_OPEN, _SITTING_IN_SESSION):
                return _S.KEY_DENIED, _CHECKIN_CLOSED
            return _S.KEY_CHECKIN, None
        if key not in CHOICE_KEYS and key not in NAV_KEYS:
            return None, None
        # a vote or navigation key
        b, m = self.ballot, self.motion
        if b is None or m is None:
            return (_S.KEY_DENIED, _MOTION_NOT_OPEN) if key in CHOICE_KEYS else (None, None)
        if not (self.checked_in or self.pending(CHECKIN)):
            return _S.KEY_DENIED, _NOT_CHECKED_IN
        if m.paused:
            return _S.KEY_DENIED, _ROUND_PAUSED
        first = m.press_policy == _FIRST_PRESS
        item = b.current()
        if key in CHOICE_KEYS and b.single and self.known(item) == b.choice_of(key, item):
            return None, None  # the same choice again: already sent or recorded
        taken = set(self.recorded)
        for e in self.pending(VOTE, self.round_key()):
            taken.update(e.items)
        if first and key in CHOICE_KEYS and item in taken:
            return _S.KEY_DENIED, _FIRST_PRESS_FINAL
        result = b.key(key)
        if result is None:
            return None, None
        kind, value = result
        if kind == "deny":
            return _S.KEY_DENIED, value
        if kind == "nav":
            return _S.KEY_NAV, None
        choices: tuple[int, ...] = value  # type: ignore[assignment]
        if first:  # only what is new: recorded items cannot change
            choices = tuple(0 if i in taken else c for i, c in enumerate(choices))
            if not any(choices):
                return _S.KEY_DENIED, _FIRST_PRESS_FINAL
        return _S.KEY_VOTE, choices

    def receive(self, topic: str, payload: bytes) -> None:
        """One received message -> at most one event; a bad one is counted and skipped."""
        try:
            hall, device, channel = codec.parse_topic(topic)
            f = codec.decode(payload)
        except ProtocolError:
            self.bad_frames += 1
            return
        if hall != self.hall:
            return
        kind = f.TYPE
        event = None
        if device:  # an answer: only for a frame in the outbox (same counter and type)
            if device == self.device_id and channel == "down" and kind in (_ACK, _NACK):
                entry = self.outbox.find(f.counter)
                about = f.acked_type if kind == _ACK else f.nacked_type
                if entry is not None and about == (_CHECK_IN if entry.kind == CHECKIN else _VOTE):
                    event = _S.ACK if kind == _ACK else _S.NACK_BUSY if f.reason == _BUSY else _S.NACK
                # else an answer to a hello/status, or to a frame given up on
        else:  # a broadcast: an event only when it tells something new
            issued_at = getattr(f, "issued_at", None)
            if issued_at and issued_at > self.time_floor:
                # The gateway's time, over TLS, on topics only it may publish (authenticated): it
                # advances the floor, corrects the RTC if off by more than _SLACK_S, and is saved
                # when it has moved by _SAVE_STEP since the last save (flash wear).
                self.time_floor = issued_at
                now = self.clock.time()
                if now is None or now < issued_at - _SLACK_S or now > issued_at + _SLACK_S:
                    self.clock.set(issued_at)
                if issued_at - self.time_saved >= _SAVE_STEP:
                    self.board.nvs.set("tf", issued_at.to_bytes(4, "big"))
                    self.time_saved = issued_at
            if kind == _SITTING_STATE:
                old = self.sitting
                if old is None or old.sitting_id != f.sitting_id:
                    event = _S.SITTING_NEW
                elif f.state == _SITTING_CLOSED and old.state != _SITTING_CLOSED:
                    event = _S.SITTING_CLOSED
                elif f != old:
                    event = _S.SITTING_UPDATE
            elif kind == _MOTION_OPEN:
                m = self.motion
                if m is None or (m.motion_id, m.round, m.round_nonce) != (f.motion_id, f.round, f.round_nonce):
                    event = _S.MOTION_OPENED
                elif (m.flags, m.focus) != (f.flags, f.focus):
                    event = _S.MOTION_UPDATE
            elif kind == _MOTION_CLOSED:
                key = (f.motion_id, f.round)
                m = self.motion
                current = m is not None and key == self.round_key() and m.round_nonce == f.round_nonce
                if current or self.pending(VOTE, key):
                    event = _S.MOTION_CLOSED
            elif kind == _RESULT_SUMMARY and f != self.result:
                event = _S.RESULT
        if event is not None:
            self.dispatch(event, f)

    # ------------------------------------------------------------ what the deputy sees

    def show(self) -> None:
        """Put the keypad's feedback on the board (see the module docstring), touching only what
        changed."""
        state = self.state
        board = self.board
        out = {}
        for name in board.leds.names:
            out[name] = "off"
        if state == _S.BOOTING:
            out["status"] = "off"
        elif state in _S.ONLINE:
            out["status"] = "on"
        else:
            out["status"] = "blink"
        if self.pending(CHECKIN):
            out["checkin"] = "blink"
        else:
            out["checkin"] = "on" if self.checked_in else "off"
        for key in CHOICE_KEYS:
            out[key] = "off"
        out["recorded"] = "off"
        motion = self.motion
        if motion is not None:
            secret = motion.secret
            item = self.ballot.current() if self.ballot is not None else 0
            pending = self.pending(VOTE, self.round_key())
            if pending:
                if secret:
                    for key in CHOICE_KEYS:
                        out[key] = "blink"
                else:
                    out[pending[-1].key] = "blink"
            elif item in self.recorded:
                out["recorded"] = "on"
                choice = self.recorded[item]
                lit: str | None  # the key whose LED stands for the recorded choice
                if secret:
                    lit = None  # nothing a neighbour can read
                elif motion.ballot_kind == _RATING:  # the key rating_keys gives it; 优秀 is a second yes
                    lit = "yes" if choice == _EXCELLENT else None
                    for key in CHOICE_KEYS:
                        if self.cfg["rating_keys"].get(key) == choice:
                            lit = key
                            break
                else:  # yes 1, no 2, abstain 3
                    lit = CHOICE_KEYS[choice - 1] if 1 <= choice <= 3 else None
                if lit is not None:
                    out[lit] = "on"
        for name, mode in out.items():
            if self.shown_leds.get(name) != mode:
                board.leds.set(name, mode)
        self.shown_leds = out
        display = board.display
        if display is not None:
            from . import screen  # only keypads with a display load the texts

            text = screen.lines(self)[: display.rows]
            if text != self.shown_lines:
                self.shown_lines = text
                display.show(text)

    # ------------------------------------------------------------ actions (named in the table)

    def _do(self, action: str, arg: "Any") -> None:
        """Run the table's ``action`` (one of :data:`states.ACTIONS`) with the event's argument:
        a key's choices or refusal reason, or the received frame."""
        if action == "boot":
            self._wifi_tried = self.now
            self.board.wifi.connect(self.cfg["wifi_ssid"], self.cfg["wifi_password"])
        elif action == "wifi_up":
            self._do_wifi_up()
        elif action == "online" or action == "retransmit":
            if action == "online":
                self.online = True
                self.refusal = None
                self._send_health(_HELLO)
                # Kept frames go out once the retained broadcasts had a moment to say whether
                # their round is still open (a closed round drops them unsent).
                self.outbox.all_due(self.now, self.cfg["settle_ms"])
            for kept in self.outbox.due(self.now, self.clock.ticks_diff):  # resent unchanged
                self._transmit(kept)
        elif action == "link_down":
            self.online = False
        elif action == "send_checkin" or action == "send_vote":
            card = self.board.card
            uid = card.poll() if card is not None else None
            card_uid = bytes(uid[:_CARD_UID_MAX]) if uid else b""
            ref: Any  # the sitting id (check-in) or the round's (motion id, round) (vote)
            if action == "send_checkin":
                s = self.sitting
                assert s is not None
                counter = self.counter.take()  # reserved in NVS before the signature exists
                frame = self._seal(_CHECK_IN, (self.device_id, counter, s.sitting_id, s.sitting_nonce, card_uid))
                kind, ref, led, choices = CHECKIN, s.sitting_id, "checkin", ()
            else:
                m = self.motion
                assert m is not None
                ref = self.round_key()
                choices = arg
                items = set(i for i, c in enumerate(choices) if c)
                # a newer press for the same items supersedes an unanswered older one (last press)
                self.outbox.drop_where(lambda e: e.kind == VOTE and e.ref == ref and set(e.items) <= items)
                counter = self.counter.take()
                values = (self.device_id, counter, m.motion_id, m.round, m.round_nonce, m.ballot_kind, choices, card_uid)
                frame = self._seal(_VOTE, values)
                kind, led = VOTE, self._pressed
            if frame is not None:
                new = Entry(counter, kind, frame, ref, led, choices)
                self.refusal = None
                self.outbox.add(new)
                self._transmit(new)
        elif action == "heartbeat":
            self._send_health(_STATUS)
        elif action == "deny":
            self.refusal = arg
            self._refusal_at = self.now
        elif action == "clear_refusal":
            self.refusal = None
        elif action == "new_sitting" or action == "update_sitting" or action == "close_sitting":
            # Rounds are left alone by a new sitting: retained broadcasts arrive in any order, and
            # a round ends with its own motion-closed or the next motion-open.
            self.sitting = arg  # an update: same sitting, its state, 应到 / 实到
            if action == "new_sitting":
                ci = _u32(self.board.nvs.get(NVS_CHECKIN))
                self.checked_in = arg.state != _SITTING_CLOSED and ci == arg.sitting_id
                self.seat = ""
                self.outbox.drop_where(lambda e: e.kind == CHECKIN and e.ref != arg.sitting_id)
                self.refusal = None
            elif action == "close_sitting":  # its rounds and unanswered frames go with it
                self.checked_in = False
                self.motion = None
                self.ballot = None
                self.recorded = {}
                self.result = None
                self.outbox.drop_where(lambda e: True)
                self.refusal = None
        elif action == "open_round":
            opened = (arg.motion_id, arg.round)
            self.outbox.drop_where(lambda e: e.kind == VOTE and e.ref != opened)  # a new round ends the old
            self.motion = arg
            self.ballot = Ballot(arg, self.navigable, self.cfg["rating_keys"])
            self.recorded = {}
            self.result = None
            self.refusal = None
        elif action == "update_round":  # a new focus or the paused flag: the draft stays
            if self.ballot is not None and (arg.motion_id, arg.round) == self.round_key():
                self.motion = self.ballot.motion = arg
        elif action == "close_round":
            closed = (arg.motion_id, arg.round)
            lost = self.outbox.drop_where(lambda e: e.kind == VOTE and e.ref == closed)
            if closed == self.round_key():
                self.motion = None
                self.ballot = None
                self.recorded = {}
            if lost:  # pressed, never acknowledged, and now too late: say so
                self.refusal = _ROUND_CLOSED
                self._refusal_at = self.now
        elif action == "show_result":
            self.result = arg
        elif action == "acked" or action == "refused":
            entry = self.outbox.remove(arg.counter)
            acked = action == "acked"
            self.refusal = None if acked else arg.reason
            self._refusal_at = self.now
            if entry is None:
                pass  # an answer to a hello/status or to a frame given up on: nothing more to learn
            elif acked and entry.kind == CHECKIN:
                if self.sitting is not None and entry.ref == self.sitting.sitting_id:
                    self.checked_in = True
                    self.seat = arg.seat
                    if _u32(self.board.nvs.get(NVS_CHECKIN)) != entry.ref:  # survives a reboot
                        self.board.nvs.set(NVS_CHECKIN, int(entry.ref).to_bytes(4, "big"))
            elif acked:
                if entry.ref == self.round_key():
                    secret = self.motion is not None and self.motion.secret
                    shown = arg.choices if len(arg.choices) == len(entry.choices) else entry.choices
                    for i in entry.items:
                        self.recorded[i] = 0 if secret else shown[i]
            elif arg.reason == _NOT_CHECKED_IN:
                self.checked_in = False
                self.board.nvs.set(NVS_CHECKIN, bytes(4))
            elif arg.reason == _FIRST_PRESS_FINAL and entry.ref == self.round_key():
                for i in entry.items:  # an earlier press was recorded (choice unknown here)
                    self.recorded.setdefault(i, 0)
        elif action != "busy" and action != "redraw":
            # busy: nothing recorded, the entry stays and is resent on its schedule;
            # redraw: show() runs after every transition
            raise ValueError("no action %r" % (action,))

    def _do_wifi_up(self) -> None:
        if self.signer is None:  # first boot: the radio is on, so the RNG is truly random now
            secret = sg.generate_private_key(self.board.rng)
            self.board.nvs.set(NVS_SECRET, secret)
            self._use_key(secret)
        self.want_mqtt = True

    def _transmit(self, entry: Entry) -> None:
        if self.online:
            self.tx.append((self.up_topic, entry.frame))
            self.outbox.sending(entry, self.now)

    def _send_health(self, frame_type: int) -> None:
        """A hello or status frame, only from nonces beyond the reserve a press needs:
        otherwise it waits (``_health``) until the pool has refilled."""
        if self.signer is None:
            return
        self._heartbeat_at = self.now
        if not self.signer.can_sign(False):
            if self._health != _HELLO:  # a hello waiting stays a hello
                self._health = frame_type
            return
        self._health = 0
        b = self.board
        rssi = max(-128, min(127, b.wifi.rssi()))
        values = (self.device_id, self.counter.take(), b.firmware_version, self.uptime_ms // 1000,
                  b.battery(), rssi, b.free_heap())  # fmt: skip
        sealed = self._seal(frame_type, values)
        if sealed is not None and self.online:
            self.tx.append((self.status_topic, sealed))
