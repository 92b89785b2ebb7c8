"""An external fleet of keypads for the hall benchmark: one TLS connection and account each, on asyncio.

Each :class:`Keypad` speaks MQTT 3.1.1 with the firmware's own packet codec
(:mod:`firmware.mqtt.codec`) over its own TLS connection (the hall CA, its
own username and password, client id = username), and behaves on the
network as the firmware does:

* presence as will (``00``) and birth (``01``), retained, QoS 1;
* subscribed to its own ``down`` topic and the hall broadcasts;
* every signed frame is published QoS 1 and **retransmitted** unchanged
  until an answer arrives: first after 2 s, doubling, at most every 15 s
  (``retransmit_ms`` / ``retransmit_max_ms`` of the firmware's config); a
  ``BUSY`` nack is not an answer (nothing was recorded);
* a lost link is retried with full-jitter exponential backoff, and after a
  reconnect every unanswered frame is sent again once the retained
  broadcasts had ``settle`` seconds to arrive.

Frames are signed beforehand (:mod:`cryptography`) so the fleet's own CPU
goes to the network.  Times are ``time.monotonic()``.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from firmware.mqtt import codec as mq
from protocol import codec, consts, frames, reasons, topics

__all__ = ["Fleet", "Keypad", "Press", "sign_frame"]

_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
RETRANSMIT_S = 2.0  # firmware config retransmit_ms
RETRANSMIT_MAX_S = 15.0  # firmware config retransmit_max_ms
SETTLE_S = 0.3  # firmware config settle_ms
KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 10.0


def sign_frame(key: ec.EllipticCurvePrivateKey, frame: frames.Uplink) -> bytes:
    """The frame sealed as the firmware seals it: raw low-s r || s over the signed region."""

    def sign(region: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(region, ec.ECDSA(hashes.SHA256())))
        if s > _N // 2:
            s = _N - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return codec.seal(frame, sign)


@dataclass
class Press:
    """One signed frame from press to answer."""

    device_id: str
    counter: int
    frame: bytes
    channel: str = "up"
    sent_at: float | None = None  # first publish
    answered_at: float | None = None
    reply: Any = None  # the Ack / Nack (or, against the echo, the frame itself)
    busy: int = 0  # BUSY nacks seen
    sends: int = 0
    due: float = 0.0  # next retransmission
    interval: float = RETRANSMIT_S

    @property
    def latency(self) -> float | None:
        if self.sent_at is None or self.answered_at is None:
            return None
        return self.answered_at - self.sent_at

    @property
    def reason(self) -> int | None:
        return getattr(self.reply, "reason", None)


@dataclass
class Keypad:
    fleet: Fleet
    device_id: str
    password: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    counter: int = 0
    pending: dict[int, Press] = field(default_factory=dict)
    connected: bool = False
    connects: int = 0
    sitting: frames.SittingState | None = None
    motion: Any = None  # the latest MotionOpen / MotionClosed
    result_at: float | None = None  # when the latest result broadcast arrived
    _writer: asyncio.StreamWriter | None = None
    _pid: int = 0
    _resend_after: float = 0.0

    @property
    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def seal(self, make: Callable[[str, int], frames.Uplink]) -> Press:
        """Sign the next frame (``make(device_id, counter)``) now; send it later with :meth:`send`."""
        self.counter += 1
        return Press(self.device_id, self.counter, sign_frame(self.key, make(self.device_id, self.counter)))

    # ------------------------------------------------------------ sending

    def send(self, press: Press) -> None:
        now = time.monotonic()
        press.sent_at = now
        press.due = now + press.interval
        self.pending[press.counter] = press
        self._publish(press)

    def _publish(self, press: Press) -> None:
        press.sends += 1
        topic = topics.device(self.fleet.hall, self.device_id, press.channel)
        self._write(mq.Publish(topic, press.frame, qos=1, packet_id=self._next_pid()).encode())

    def _next_pid(self) -> int:
        self._pid = self._pid % 65535 + 1
        return self._pid

    def _write(self, data: bytes) -> None:
        w = self._writer
        if w is not None and self.connected and not w.is_closing():
            w.write(data)

    def retransmit_due(self, now: float) -> int:
        """Send again every unanswered frame whose timer ran out (the firmware's doubling timer)."""
        if not self.connected or now < self._resend_after:
            return 0
        n = 0
        for press in list(self.pending.values()):
            if now >= press.due:
                press.interval = min(press.interval * 2, RETRANSMIT_MAX_S)
                press.due = now + press.interval
                self._publish(press)
                n += 1
        return n

    def ping(self) -> None:
        self._write(mq.Pingreq().encode())

    # ------------------------------------------------------------ the link

    async def run(self) -> None:
        attempt = 0
        while not self.fleet.stopping:
            try:
                await self._session()
                attempt = 0
            except (OSError, EOFError, TimeoutError, ssl.SSLError, mq.MQTTError, ConnectionError) as exc:
                self.fleet.link_errors += 1
                self.fleet.last_error = f"{self.device_id}: {type(exc).__name__}: {exc}"
            self.connected = False
            if self.fleet.stopping:
                return
            attempt += 1
            await asyncio.sleep(random.random() * min(30.0, 1.0 * 2 ** min(attempt - 1, 10)))

    async def _session(self) -> None:
        f = self.fleet
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(f.host, f.port, ssl=f.tls, server_hostname=f.server_hostname),
            CONNECT_TIMEOUT_S,
        )
        self._writer = writer
        try:
            presence = topics.device(f.hall, self.device_id, "presence")
            writer.write(
                mq.Connect(
                    self.device_id,
                    clean_session=True,
                    keepalive=KEEPALIVE_S,
                    will_topic=presence,
                    will_message=topics.PRESENCE_OFFLINE,
                    will_qos=1,
                    will_retain=True,
                    username=self.device_id,
                    password=self.password,
                ).encode()
            )
            parser = mq.Parser()
            packets: list[mq.Packet] = []
            while not packets:
                data = await asyncio.wait_for(reader.read(4096), CONNECT_TIMEOUT_S)
                if not data:
                    raise EOFError("closed before CONNACK")
                packets = parser.feed(data)
            connack = packets.pop(0)
            if not isinstance(connack, mq.Connack) or connack.return_code != mq.ACCEPTED:
                raise ConnectionError(f"CONNACK {connack!r}")
            self.connected = True
            self.connects += 1
            writer.write(
                mq.Subscribe(
                    self._next_pid(),
                    [
                        (topics.device(f.hall, self.device_id, "down"), 1),
                        (topics.broadcast_filter(f.hall), 1),
                    ],
                ).encode()
            )
            writer.write(
                mq.Publish(
                    presence, topics.PRESENCE_ONLINE, qos=1, retain=True, packet_id=self._next_pid()
                ).encode()
            )
            # After a reconnect: resend what is unanswered once the retained broadcasts had time to arrive.
            self._resend_after = time.monotonic() + SETTLE_S
            for press in self.pending.values():
                press.due = self._resend_after
            for p in packets:
                self._on_packet(p)
            while not f.stopping:
                data = await reader.read(65536)
                if not data:
                    raise EOFError("broker closed the connection")
                for p in parser.feed(data):
                    self._on_packet(p)
        finally:
            self.connected = False
            self._writer = None
            writer.close()

    def _on_packet(self, p: mq.Packet) -> None:
        if isinstance(p, mq.Publish):
            if p.qos and p.packet_id is not None:
                self._write(mq.Puback(p.packet_id).encode())
            if p.topic.endswith("/down"):
                self._on_reply(bytes(p.payload))
            else:
                self._on_broadcast(p.topic, bytes(p.payload))

    def _on_reply(self, payload: bytes) -> None:
        now = time.monotonic()
        try:
            reply = codec.decode(payload)
        except Exception:
            self.fleet.bad_replies += 1
            return
        counter = getattr(reply, "counter", None)
        press = self.pending.get(counter) if isinstance(counter, int) else None
        if press is None:
            self.fleet.late_replies += 1  # a second answer to a retransmission
            return
        if getattr(reply, "reason", None) == reasons.BUSY:
            press.busy += 1  # nothing recorded: keep retransmitting
            return
        press.reply = reply
        press.answered_at = now
        del self.pending[press.counter]
        self.fleet.answered += 1

    def _on_broadcast(self, topic: str, payload: bytes) -> None:
        self.fleet.broadcasts += 1
        try:
            frame = codec.decode(payload)
        except Exception:
            return  # e.g. an empty retained message clearing a topic
        if isinstance(frame, frames.SittingState):
            self.sitting = frame
        elif frame.TYPE in (consts.MOTION_OPEN, consts.MOTION_CLOSED):
            self.motion = frame
        elif frame.TYPE == consts.RESULT_SUMMARY:
            self.result_at = time.monotonic()


class Fleet:
    """N keypads on one asyncio loop, with one timer task for retransmissions and keepalive pings."""

    def __init__(
        self,
        *,
        hall: str,
        host: str,
        port: int,
        ca_file: str,
        accounts: dict[str, str],
        server_hostname: str = "localhost",
        keys: dict[str, ec.EllipticCurvePrivateKey] | None = None,
    ) -> None:
        self.hall = hall
        self.host = host
        self.port = port
        self.server_hostname = server_hostname
        self.tls = ssl.create_default_context(cafile=ca_file)
        self.keypads: dict[str, Keypad] = {}
        for dev, password in accounts.items():
            kp = Keypad(self, dev, password)
            if keys is not None and dev in keys:
                kp.key = keys[dev]
            self.keypads[dev] = kp
        self.stopping = False
        self.link_errors = 0
        self.last_error: str | None = None
        self.bad_replies = 0
        self.late_replies = 0
        self.answered = 0
        self.retransmissions = 0
        self.broadcasts = 0  # broadcast messages received, all keypads together
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, timeout: float = 120.0) -> None:
        """Connect every keypad (at most 200 handshakes at once) and wait until all are connected."""
        gate = asyncio.Semaphore(200)

        async def staggered(kp: Keypad) -> None:
            async with gate:
                self._tasks.append(asyncio.ensure_future(kp.run()))
                end = time.monotonic() + CONNECT_TIMEOUT_S
                while not kp.connected and time.monotonic() < end:
                    await asyncio.sleep(0.01)

        self._tasks.append(asyncio.ensure_future(self._timers()))
        await asyncio.gather(*(staggered(kp) for kp in self.keypads.values()))
        await self.wait(
            lambda: all(kp.connected for kp in self.keypads.values()), timeout, "keypads connected"
        )

    async def stop(self) -> None:
        self.stopping = True
        for kp in self.keypads.values():
            if kp._writer is not None:
                kp._writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _timers(self) -> None:
        last_ping = time.monotonic()
        while not self.stopping:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            for kp in self.keypads.values():
                if kp.pending:
                    self.retransmissions += kp.retransmit_due(now)
            if now - last_ping > KEEPALIVE_S / 3:
                last_ping = now
                for kp in self.keypads.values():
                    kp.ping()

    @property
    def connected(self) -> int:
        return sum(kp.connected for kp in self.keypads.values())

    def unanswered(self) -> int:
        return sum(len(kp.pending) for kp in self.keypads.values())

    async def wait(self, pred: Callable[[], bool], timeout: float, what: str) -> float:
        """Wait until ``pred()``; returns when it became true (monotonic); TimeoutError names ``what``."""
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)
        return time.monotonic()

    async def send_spread(self, presses: list[Press], over_s: float) -> None:
        """Send ``presses`` evenly spread over ``over_s`` seconds (all at once when 0)."""
        if not presses:
            return
        start = time.monotonic()
        step = over_s / len(presses) if over_s > 0 else 0.0
        for i, press in enumerate(presses):
            if step:
                delay = start + i * step - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.keypads[press.device_id].send(press)
