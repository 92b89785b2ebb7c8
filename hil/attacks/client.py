"""The attacker's tools: an MQTT client on the hall's broker, a keypad's stolen key, raw frame bytes, rows.

:class:`Attacker` is a paho client on the broker's TLS port under some
account (or none); it keeps every downlink that reaches it.
:class:`Holder` is a device key in the attacker's hands (an insider who
pulled it out of a keypad) with the counters it signs with: it builds
signed frames, including ones no encoder would produce (the bytes are laid
out here, by section 3 of protocol/SPEC.md, so a refusal can be provoked
at every field).
"""

from __future__ import annotations

import functools
import os
import queue
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from paho.mqtt.enums import CallbackAPIVersion

from hil.rig.broker import AnyBroker
from protocol import codec, consts, reasons, topics
from protocol.errors import ProtocolError

__all__ = [
    "WAIT",
    "Attacker",
    "Holder",
    "N",
    "Row",
    "answer",
    "plain_connect",
    "random_nonce",
    "sign_with",
    "wait_for",
]

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
WAIT = 10.0


@functools.lru_cache(maxsize=64)
def sign_with(secret: bytes) -> Callable[[bytes], bytes]:
    """A low-s P-256 signer for ``secret`` (what a keypad does)."""
    key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())

    def sign(region: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(region, ec.ECDSA(hashes.SHA256())))
        s = N - s if s > N // 2 else s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _id(value: str) -> bytes:
    raw = value.encode()
    return bytes([len(raw)]) + raw


def _choices(values: tuple[int, ...]) -> bytes:
    nibbles = list(values) + ([0] if len(values) % 2 else [])
    return bytes([len(values)]) + bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


@dataclass
class Holder:
    """A keypad's private key in the attacker's hands, and the next counter it signs with."""

    device_id: str
    secret: bytes
    counter: int = 1000

    def next(self) -> int:
        self.counter += 1
        return self.counter

    def seal(self, region: bytes) -> bytes:
        return region + sign_with(self.secret)(region)

    def vote_region(self, motion: int, rnd: int, nonce: bytes, choices: tuple[int, ...], *,
                    kind: int = consts.YES_NO_ABSTAIN, counter: int | None = None, device: str | None = None,
                    version: int = consts.VERSION) -> bytes:  # fmt: skip
        c = self.next() if counter is None else counter
        return (bytes([version, consts.VOTE]) + _id(device or self.device_id) + c.to_bytes(4, "big")
                + motion.to_bytes(4, "big") + bytes([rnd]) + nonce + bytes([kind]) + _choices(choices) + b"\x00")  # fmt: skip

    def vote(self, motion: int, rnd: int, nonce: bytes, choices: tuple[int, ...], **kw: Any) -> bytes:
        return self.seal(self.vote_region(motion, rnd, nonce, choices, **kw))

    def check_in(self, sitting: int, nonce: bytes, card: bytes = b"", *, counter: int | None = None) -> bytes:
        c = self.next() if counter is None else counter
        region = (bytes([consts.VERSION, consts.CHECK_IN]) + _id(self.device_id) + c.to_bytes(4, "big")
                  + sitting.to_bytes(4, "big") + nonce + bytes([len(card)]) + card)  # fmt: skip
        return self.seal(region)

    def status(self, *, counter: int | None = None, frame_type: int = consts.STATUS) -> bytes:
        c = self.next() if counter is None else counter
        region = (bytes([consts.VERSION, frame_type]) + _id(self.device_id) + c.to_bytes(4, "big")
                  + bytes([1, 0, 0]) + (60).to_bytes(4, "big") + bytes([255, 200]) + (90000).to_bytes(4, "big"))  # fmt: skip
        return self.seal(region)


@dataclass
class Row:
    """One attack: what was tried, how often, how many were accepted (counted: must be 0), what happened."""

    attack: str
    tried: int
    accepted: int
    outcome: str
    expected: str = ""  # the refusal the hall must answer with (a reason name, or the broker's)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return self.accepted == 0 and (not self.expected or self.outcome == self.expected)

    def as_dict(self) -> dict[str, Any]:
        return {"attack": self.attack, "tried": self.tried, "accepted": self.accepted, "outcome": self.outcome,
                "expected": self.expected, "held": self.held, **({"detail": self.detail} if self.detail else {})}  # fmt: skip


def answer(reply: Any) -> str:
    """``nack REASON`` / ``ack REASON`` / ``no answer``."""
    if reply is None:
        return "no answer"
    code = getattr(reply, "reason", None)
    if code is None:
        return f"unexpected {type(reply).__name__}"
    return f"{'nack' if reasons.is_refusal(code) else 'ack'} {reasons.name(code)}"


class Attacker:
    """A paho client on the broker's TLS port as ``username``; collects what arrives on its subscriptions."""

    def __init__(self, broker: AnyBroker, username: str | None, password: str | None, *,
                 client_id: str = "", subscribe_down: bool = True) -> None:  # fmt: skip
        self.broker = broker
        self.username = username
        self.replies: queue.Queue[Any] = queue.Queue()
        self.raw: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.suback: queue.Queue[list[int]] = queue.Queue()
        self.rc: Any = None
        self.connected = False
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or (username or "intruder"),
                        protocol=paho.MQTTv311)  # fmt: skip
        if username is not None:
            c.username_pw_set(username, password)
        c.tls_set_context(ssl.create_default_context(cafile=str(broker.ca_path)))
        got: queue.Queue[Any] = queue.Queue()

        def on_connect(client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            got.put(rc)

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            self.raw.put((msg.topic, msg.payload))
            if msg.topic.endswith("/down"):
                try:
                    self.replies.put(codec.decode(msg.payload))
                except ProtocolError as exc:
                    self.replies.put(exc)

        c.on_connect = on_connect
        c.on_subscribe = lambda _c, _u, _m, rcs, _p: self.suback.put([int(r.value) for r in rcs])
        c.on_message = on_message
        self.client = c
        try:
            c.connect(broker.host, broker.port, keepalive=30)
        except OSError as e:
            self.rc = e
            return
        c.loop_start()
        try:
            self.rc = got.get(timeout=WAIT)
        except queue.Empty:
            self.rc = "no CONNACK"
            return
        self.connected = not self.rc.is_failure
        if self.connected and username and subscribe_down:
            self.subscribe(topics.device(broker.hall, username, "down"))

    def subscribe(self, topic: str) -> list[int]:
        """SUBACK codes (0x80: refused by the ACL)."""
        self.client.subscribe(topic, 1)
        try:
            return self.suback.get(timeout=WAIT)
        except queue.Empty:
            return []

    @property
    def alive(self) -> bool:
        return self.connected and self.client.is_connected()

    def publish(self, device: str, payload: bytes, channel: str = "up", *, topic: str | None = None) -> bool:
        """Publish (QoS 1, waits for PUBACK); False when the broker has closed this client's connection."""
        try:
            info = self.client.publish(
                topic or topics.device(self.broker.hall, device, channel), payload, qos=1
            )
            info.wait_for_publish(WAIT)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def reply(self, timeout: float = WAIT) -> Any:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def ask(self, payload: bytes, channel: str = "up", timeout: float = WAIT) -> Any:
        """Publish one frame on this account's own topic and wait for the answer to it."""
        assert self.username is not None
        self.drain()
        if not self.publish(self.username, payload, channel):
            return None
        return self.reply(timeout)

    def drain(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self.replies.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def plain_connect(host: str, port: int) -> bytes:
    """A plain (non-TLS) MQTT CONNECT to ``port``; what came back (b"" for nothing)."""
    with socket.create_connection((host, port), timeout=WAIT) as s:
        s.sendall(b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04abcd")
        s.settimeout(WAIT)
        try:
            return s.recv(16)
        except OSError:
            return b""


def wait_for(pred: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def random_nonce() -> bytes:
    return os.urandom(consts.NONCE_LEN)
