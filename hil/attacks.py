"""Attacks through the real broker (generated config) against a running SimRig, with the refusal each must meet.

Each attack returns a row: what was tried, how many times, how many were
accepted (must be 0), and the observed outcome (the broker's refusal, the
gateway's nack reason, or silence where the ACL drops the message).  The
attacker knows what an insider could: a keypad's MQTT password (from a
provisioning file) but not its private key, frames captured off the
broker, and, for the counter and replay checks, a device key itself.
"""

from __future__ import annotations

import queue
import socket
import ssl
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from hil.rig.sim import SimRig
from protocol import codec, consts, frames, reasons, topics

__all__ = ["Attacker", "run_attacks"]

N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
WAIT = 10.0


def sign_with(secret: bytes) -> Callable[[bytes], bytes]:
    key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())

    def sign(region: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(region, ec.ECDSA(hashes.SHA256())))
        s = N - s if s > N // 2 else s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


class Attacker:
    """A paho client on the broker's TLS port as ``username``; collects what arrives on its own downlink."""

    def __init__(self, rig: SimRig, username: str | None, password: str | None, client_id: str = "") -> None:
        assert rig.broker is not None
        self.rig, self.broker = rig, rig.broker
        self.username = username
        self.replies: queue.Queue[Any] = queue.Queue()
        self.rc: Any = None
        self.connected = False
        c = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id or (username or ""), protocol=paho.MQTTv311
        )
        if username is not None:
            c.username_pw_set(username, password)
        c.tls_set_context(ssl.create_default_context(cafile=str(self.broker.ca_path)))
        got: queue.Queue[Any] = queue.Queue()

        def on_connect(client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            got.put(rc)
            if not rc.is_failure and username:
                client.subscribe(topics.device(self.broker.hall, username, "down"), 1)

        c.on_connect = on_connect
        c.on_subscribe = lambda *a: got.put("subscribed")
        c.on_message = lambda _c, _u, msg: self.replies.put(codec.decode(msg.payload))
        self.client = c
        try:
            c.connect(self.broker.host, self.broker.port, keepalive=30)
        except OSError as e:
            self.rc = e
            return
        c.loop_start()
        try:
            self.rc = got.get(timeout=WAIT)
            self.connected = not self.rc.is_failure
            if self.connected and username:
                got.get(timeout=WAIT)
        except queue.Empty:
            self.rc = "no CONNACK"

    def publish(self, device: str, payload: bytes, channel: str = "up") -> bool:
        """Publish; False when the broker has closed this client's connection."""
        try:
            info = self.client.publish(topics.device(self.broker.hall, device, channel), payload, qos=1)
            info.wait_for_publish(WAIT)
        except (RuntimeError, ValueError):
            return False
        return True

    def reply(self, timeout: float = WAIT) -> Any:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _answer(r: Any) -> str:
    if r is None:
        return "no answer"
    code = getattr(r, "reason", None)
    kind = "nack" if code is not None and reasons.is_refusal(code) else "ack"
    return f"{kind} {reasons.name(code) if code is not None else '?'}"


def _row(attack: str, tried: int, accepted: int, outcome: str) -> dict[str, Any]:
    return {"attack": attack, "tried": tried, "accepted": accepted, "outcome": outcome}


def run_attacks(
    rig: SimRig, motion_id: int, round_nonce: bytes, kind: int = consts.YES_NO_ABSTAIN
) -> list[dict[str, Any]]:
    """Run every attack while round 1 of ``motion_id`` is open; nothing may be accepted."""
    assert rig.broker is not None and rig.hall is not None
    hall, rows = rig.hall, []
    victim, insider = rig.ids()[0], rig.ids()[1]
    pw = rig.broker.password

    # 1. connecting: no credentials, a wrong password, plain TCP on the TLS port
    a = Attacker(rig, None, None, client_id="intruder")
    rows.append(_row("connect without credentials", 1, int(a.connected), f"refused: {a.rc}"))
    a.close()
    a = Attacker(rig, victim, "not-the-password", client_id=victim + "-x")
    rows.append(_row("connect with a wrong password", 1, int(a.connected), f"refused: {a.rc}"))
    a.close()
    with socket.create_connection((rig.broker.host, rig.broker.port), timeout=WAIT) as s:
        s.sendall(b"\x10\x10\x00\x04MQTT\x04\x02\x00\x1e\x00\x04abcd")  # a CONNECT without TLS
        s.settimeout(WAIT)
        try:
            answer = s.recv(16)
        except OSError:
            answer = b""
    rows.append(
        _row(
            "plain TCP on the TLS port",
            1,
            int(answer[:1] == b"\x20"),
            "no CONNACK" if answer[:1] != b"\x20" else "CONNACK",
        )
    )

    # 2. an insider's account publishing on another keypad's topic: the broker's ACL drops it
    spy = Attacker(rig, insider, pw(insider))
    forged = codec.seal(
        frames.Vote(victim, 9_000_000, motion_id, 1, round_nonce, kind, (consts.NO,)),
        sign_with(hall.secrets[victim]),
    )
    spy.publish(victim, forged)
    rows.append(
        _row(
            "publish on another keypad's topic (its key stolen too)",
            1,
            0,
            "dropped by the broker ACL (no answer)",
        )
    )
    # (acceptance of this one is judged by the tally: the caller checks counts)

    # 3. a stolen MQTT password but not the key (the keypad itself is off meanwhile: one session per account)
    assert rig.fleet is not None
    keypad = rig.keypads[victim]
    rig.fleet.run(keypad.halt())
    thief = Attacker(rig, victim, pw(victim), client_id=victim)
    bad = codec.seal(
        frames.Vote(victim, 9_100_000, motion_id, 1, round_nonce, kind, (consts.NO,)), sign_with(b"\x01" * 32)
    )
    thief.publish(victim, bad)
    r = thief.reply()
    rows.append(_row("frame signed with another key", 1, int(r is not None and not reasons.is_refusal(r.reason)),
                     _answer(r)))  # fmt: skip

    # 4. malformed input on the right topic
    junk = {"garbage": b"\x00\xff" * 5, "too long": b"\x01" * 600, "truncated frame": forged[:20]}
    for what, payload in junk.items():
        if not thief.connected or not thief.client.is_connected():
            thief.close()
            thief = Attacker(rig, victim, pw(victim), client_id=victim)
        if not thief.publish(victim, payload):
            rows.append(_row(f"malformed: {what}", 1, 0, "disconnected by the broker"))
            continue
        r = thief.reply(3.0)
        outcome = _answer(r) if r is not None else "no answer (dropped)"
        if r is None and not thief.client.is_connected():
            outcome = "disconnected by the broker"
        rows.append(
            _row(f"malformed: {what}", 1, int(r is not None and not reasons.is_refusal(r.reason)), outcome)
        )
    thief.close()
    spy.close()
    rig.fleet.call(keypad.boot)
    return rows


def replay_and_flood(
    rig: SimRig, device: str, frame: bytes, flood: int, motion_id: int, round_nonce: bytes
) -> list[dict[str, Any]]:
    """Replay ``frame`` (captured, already counted) on its own account, then flood from that account.

    The keypad is halted meanwhile (one session per account) and booted again after.
    """
    assert rig.fleet is not None and rig.broker is not None
    keypad = rig.keypads[device]
    rig.fleet.run(keypad.halt())
    a = Attacker(rig, device, rig.broker.password(device), client_id=device)
    rows = []
    a.publish(device, frame)
    r = a.reply()
    counted = r is not None and getattr(r, "reason", None) in (reasons.ACCEPTED, reasons.REPLACED)
    rows.append(_row("replay of a counted vote", 1, int(counted), _answer(r)))
    junk = codec.seal(
        frames.Vote(device, 1, motion_id, 1, round_nonce, consts.YES_NO_ABSTAIN, (consts.NO,)),
        sign_with(b"\x02" * 32),
    )
    sent = sum(a.publish(device, junk) for _ in range(flood))
    answers = []
    while (got := a.reply(2.0)) is not None:
        answers.append(got)
    accepted = sum(1 for x in answers if not reasons.is_refusal(x.reason))
    kinds = sorted({_answer(x) for x in answers})
    rows.append(
        _row(
            f"flood: {flood} forged frames from one account", sent, accepted, ", ".join(kinds) or "no answer"
        )
    )
    a.close()
    rig.fleet.call(keypad.boot)
    return rows
