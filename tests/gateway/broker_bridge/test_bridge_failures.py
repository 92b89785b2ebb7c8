"""What the bridge does when things go wrong: handler failures, poison frames, garbage,
dead keypads, a restarted broker; and retained broadcasts for late subscribers.

All against a real Mosquitto; every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any

import paho.mqtt.client as paho
import pytest
from hvtest.halls import SITTING_NONCE, Hall
from hvtest.mosquitto import MosquittoBroker

from gateway.broker_bridge import BrokerBridge, Outbound, Received
from protocol import codec, consts, reasons, topics
from protocol.frames import Ack, MotionOpen, Nack, SittingState

pytestmark = pytest.mark.mosquitto


def _spy_acks(bridge: BrokerBridge, trace: list[str]) -> list[tuple[int, int]]:
    """Record every PUBACK the bridge asks paho for, in ``trace`` order."""
    acks: list[tuple[int, int]] = []
    real = bridge._client.ack

    def ack(mid: int, qos: int) -> Any:
        trace.append("ack")
        acks.append((mid, qos))
        return real(mid, qos)

    bridge._client.ack = ack  # type: ignore[method-assign]
    return acks


# ---------------------------------------------------------------- manual ack


def test_failed_batch_is_retried_and_acked_only_after_the_handler_returned(
    hall: Hall, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    core.fail_next = 1
    core.run(hall.open_checkin)
    bridge = bridges(core, start=False)
    acks = _spy_acks(bridge, core.trace)
    bridge.start()
    assert bridge.connected.wait(10)

    kp1 = device(hall.kp(1))
    payload = kp1.send(hall.kp(1).check_in(42, SITTING_NONCE))
    ack = kp1.reply()
    assert isinstance(ack, Ack) and (ack.counter, ack.reason) == (hall.kp(1).counter, reasons.ACCEPTED)

    # First call raised (nothing acked), second returned, then exactly one PUBACK.
    # The keypad's downlink ack can arrive before the bridge has sent the PUBACK.
    wait_until(lambda: len(acks) >= 1, "the PUBACK")
    assert core.trace == ["raise", "return", "ack"]
    assert len(acks) == 1 and acks[0][1] == 1
    assert core.inbound_payloads() == [payload]  # decided exactly once
    stats = bridge.stats()
    assert (stats.handler_errors, stats.handled, stats.refused) == (1, 1, 0)


def test_unacked_message_comes_back_after_reconnect(
    hall: Hall, make_core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    """manual_ack really withholds the PUBACK: the broker redelivers to the persistent session."""
    hall.open_checkin()
    kp1 = device(hall.kp(1))

    # Gateway A: its store is down, every attempt raises, and it is shut down while retrying.
    down = make_core()
    down.fail_next = 10**9
    a = bridges(down, retries=10**6, retry_backoff_s=0.01, retry_backoff_max_s=0.05)
    checkin = kp1.send(hall.kp(1).check_in(42, SITTING_NONCE))
    wait_until(lambda: down.calls >= 3, "gateway A to fail a few times")
    a.stop()
    assert a.stats().handled == 0 and down.batches == []

    # Gateway B, same client id: the broker hands it the message A never acked.
    b_core = make_core()
    b = bridges(b_core)
    assert b.client_id == a.client_id
    ack = kp1.reply()  # the first thing the keypad hears at all
    assert isinstance(ack, Ack) and (ack.counter, ack.reason) == (hall.kp(1).counter, reasons.ACCEPTED)
    assert b_core.inbound_payloads() == [checkin]
    b.stop()

    # Gateway C: B acked it, so nothing comes back; C sees only the keypad's next frame.
    c_core = make_core()
    bridges(c_core)
    status = kp1.send(hall.kp(1).status(), channel="status")
    reply = kp1.reply_for(hall.kp(1).counter)
    assert isinstance(reply, Ack)
    assert c_core.inbound_payloads() == [status]


def test_poison_frame_is_isolated_and_refused(
    hall: Hall, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    core.run(hall.open_checkin)
    bridge = bridges(core, retries=2, batch_wait_s=0.3)
    kps = {i: device(hall.kp(i)) for i in (1, 2, 3, 4)}
    frames = {i: hall.kp(i).check_in(42, SITTING_NONCE) for i in (1, 2, 3)}
    unreadable = b"\x02\x03\x04kp-4" + b"\x00\x00\x00\x09" + b"\xee" * 5  # counter 9, then garbage
    core.poison = {frames[2], unreadable}
    # All at once, so they tend to share a batch with the poison.
    for i in (1, 2, 3):
        kps[i].client.client.publish(kps[i].topic(), frames[i], qos=1)
    kps[4].client.client.publish(kps[4].topic(), unreadable, qos=1)

    for i in (1, 3):
        ack = kps[i].reply_for(hall.kp(i).counter)
        assert isinstance(ack, Ack) and ack.reason == reasons.ACCEPTED
    nack = kps[2].reply_for(hall.kp(2).counter)
    assert isinstance(nack, Nack)
    assert (nack.reason, nack.nacked_type) == (reasons.BUSY, consts.CHECK_IN)  # readable: "try again"
    nack = kps[4].reply_for(9)
    assert isinstance(nack, Nack)
    assert (nack.reason, nack.nacked_type) == (reasons.MALFORMED, consts.CHECK_IN)

    # The loop goes on: the same keypad's next frame is accepted.
    kps[2].send(hall.kp(2).check_in(42, SITTING_NONCE))
    ack = kps[2].reply_for(hall.kp(2).counter)
    assert isinstance(ack, Ack) and ack.reason == reasons.ACCEPTED
    stats = bridge.stats()
    assert stats.refused == 2
    assert stats.handled == 3
    assert core.trace.count("raise") >= 4  # each poison failed `retries` times alone
    assert all(frames[2] != i.payload for b in core.batches for i in b)


def test_stopping_while_the_handler_fails_acks_nothing(
    hall: Hall, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    core.fail_next = 10**9
    bridge = bridges(core, retries=10**6, retry_backoff_s=0.01, retry_backoff_max_s=0.05, start=False)
    acks = _spy_acks(bridge, core.trace)
    bridge.start()
    assert bridge.connected.wait(10)
    device(hall.kp(1)).send(hall.kp(1).status(), channel="status")
    wait_until(lambda: core.calls >= 2, "a few failed attempts")
    bridge.stop()
    assert acks == [] and bridge.stats().refused == 0


# ---------------------------------------------------------------- garbage


def _loosen(acl: str) -> str:
    """Let kp-1 write any device topic of the hall: a misbehaving account the bridge must survive."""
    return acl.replace("user kp-1\n", "user kp-1\ntopic write hallvote/v2/h1/dev/#\n", 1)


@pytest.mark.parametrize("broker_options", [{"acl_transform": _loosen}])
def test_garbage_never_kills_the_loop(
    hall: Hall, broker: MosquittoBroker, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    core.run(hall.open_checkin)
    bridge = bridges(core, start=False, batch_wait_s=0.05)  # garbage and good frames share batches
    acks = _spy_acks(bridge, [])
    bridge.start()
    assert bridge.connected.wait(10)
    kp1, kp2 = device(hall.kp(1)), device(hall.kp(2))
    rng = random.Random(1)

    up_garbage = [
        b"",
        b"\x00",
        b"\x01",
        b"\x01\x04" + bytes(90),  # protocol version 1
        b"\x02\x04" + b"\x01" * 298,  # too long (a vote: hello would be refused for its channel first)
        bytes(rng.randrange(256) for _ in range(95)),
        hall.kp(1).check_in(42, SITTING_NONCE)[:-1],  # truncated
        hall.kp(1).status(),  # a status frame on the up channel
        *(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(20)),
    ]
    for payload in up_garbage:
        kp1.send(payload)
    kp1.send(b"\xff", channel="status")
    for payload in (b"\x02", b"", b"\x01\x00"):  # presence is 01 or 00, nothing else
        kp1.send(payload, channel="presence")
    kp1.client.publish("hallvote/v2/h1/dev/KP-1/up", hall.kp(1).status())  # not a device id
    kp1.client.publish("hallvote/v2/h1/dev/-x/status", b"\x01")
    kp1.client.publish(  # someone else's topic
        topics.device("h1", "kp-2", "up"), hall.kp(1).check_in(42, SITTING_NONCE)
    )

    # ... and topics a correct broker never delivers to the bridge, straight into its callback
    # (QoS 0, so no PUBACK for a made-up packet id).
    for topic in (
        b"hallvote/v2/h2/dev/kp-1/up",  # another hall
        b"hallvote/v2/h1/hall/sitting",  # a broadcast
        b"hallvote/v2/h1/dev/kp-1/down",  # a downlink
        b"hallvote/v1/h1/dev/kp-1/up",  # another protocol version
        b"hallvote/v2/h1/dev/\xff\xfe/up",  # not UTF-8
        b"x",
    ):
        msg = paho.MQTTMessage(mid=0, topic=topic)
        msg.payload = hall.kp(1).status()
        bridge._on_message(bridge._client, None, msg)

    # A good frame after all that is accepted.
    kp1.send(hall.kp(1).check_in(42, SITTING_NONCE))
    counter = hall.kp(1).counter
    ack, before = kp1.client.expect_where(lambda m: codec.decode(m.payload).counter == counter)
    assert isinstance(codec.decode(ack.payload), Ack)
    assert codec.decode(ack.payload).reason == reasons.ACCEPTED

    # Every uplink garbage frame got a nack, in order; none got an ack.
    nacks = [codec.decode(m.payload) for m in before]
    assert all(isinstance(n, Nack) for n in nacks), nacks
    assert len(nacks) == len(up_garbage) + 1
    assert {n.reason for n in nacks} >= {
        reasons.MALFORMED,
        reasons.BAD_VERSION,
        reasons.TOO_LONG,
        reasons.UNKNOWN_TYPE,
    }
    mismatch = kp2.reply()
    assert isinstance(mismatch, Nack) and mismatch.reason == reasons.DEVICE_MISMATCH

    stats = bridge.stats()
    assert stats.skipped == 3 + 2 + 6
    assert stats.handled == len(up_garbage) + 1 + 1 + 1
    assert stats.received == stats.handled + stats.skipped
    assert stats.handler_errors == stats.refused == 0
    # Every broker-delivered message acked once, in the order it arrived (MQTT 3.1.1 section 4.6).
    real = stats.received - 6
    wait_until(lambda: len(acks) >= real, "every message acked")
    assert len(acks) == real
    assert [mid for mid, _ in acks] == sorted(mid for mid, _ in acks)
    assert len({mid for mid, _ in acks}) == real


def test_received_is_frozen() -> None:
    r = Received("t", b"p", 1, 1, False, False, 0.0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.payload = b"x"  # type: ignore[misc]


# ---------------------------------------------------------------- presence


def test_presence_online_and_last_will(
    broker: MosquittoBroker, make_core: Any, bridges: Any, wait_until: Any
) -> None:
    core = make_core()
    bridges(core)
    presence = topics.device(broker.hall, "kp-1", "presence")
    kp1 = broker.paho("kp-1", tls=True, connect=False)
    kp1.client.will_set(presence, topics.PRESENCE_OFFLINE, qos=1, retain=True)
    kp1.connect()
    kp1.publish(presence, topics.PRESENCE_ONLINE, retain=True)
    assert core.presences.get(timeout=10)[:2] == ("kp-1", True)

    # The keypad dies without a DISCONNECT: Mosquitto publishes its last will.
    kp1.client.loop_stop()
    sock = kp1.client.socket()
    assert sock is not None
    sock.close()
    device_id, online, at = core.presences.get(timeout=10)
    assert (device_id, online) == ("kp-1", False) and at > 0

    # A gateway starting later learns the state from the retained will.
    later = make_core()
    bridges(later, client_id="hallvote-gw-later")
    assert later.presences.get(timeout=10)[:2] == ("kp-1", False)


# ---------------------------------------------------------------- broadcasts and reconnects


def test_retained_broadcasts_reach_a_late_subscriber(
    hall: Hall, broker: MosquittoBroker, core: Any, bridges: Any
) -> None:
    bridge = bridges(core)
    sitting = codec.encode(SittingState(42, 1, SITTING_NONCE, 4, 0, 1_800_000_000))
    motion = codec.encode(MotionOpen(7, 1, b"\x11" * 8, 1, 1, 0b1110, 1, 0, 0xFF, 1_800_000_000, 0))
    for channel, payload in (("sitting", sitting), ("motion", motion)):
        info = bridge.publish(Outbound(topics.broadcast(broker.hall, channel), payload, retain=True))
        info.wait_for_publish(10)
        assert info.is_published()
    assert bridge.stats().published == 2

    for username, tls in ((broker.display.username, True), ("kp-3", True)):
        late = broker.paho(username, tls=tls)
        late.subscribe(topics.broadcast_filter(broker.hall))
        got = {m.topic: m for m in (late.expect(), late.expect())}
        assert got[topics.broadcast(broker.hall, "sitting")].payload == sitting
        assert got[topics.broadcast(broker.hall, "motion")].payload == motion
        assert all(m.retain for m in got.values())


def test_reconnects_and_resubscribes_after_a_broker_restart(
    hall: Hall, broker: MosquittoBroker, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    bridge = bridges(core)
    kp1 = device(hall.kp(1))
    core.run(hall.open_checkin)
    broker.restart()  # no persistence: the gateway's session and subscriptions are gone
    wait_until(lambda: bridge.stats().connects >= 2 and bridge.connected.is_set(), "the bridge back", 20)
    kp1.client.wait_reconnected()
    kp1.send(hall.kp(1).check_in(42, SITTING_NONCE))
    ack = kp1.reply_for(hall.kp(1).counter)
    assert isinstance(ack, Ack) and ack.reason == reasons.ACCEPTED


def test_starts_while_the_broker_is_down_and_connects_when_it_is_up(
    broker: MosquittoBroker, core: Any, bridges: Any
) -> None:
    broker.stop()
    bridge = bridges(core, start=False)
    bridge.start()  # never raises for a broker that is not there yet
    assert not bridge.connected.is_set()
    broker.start()
    assert bridge.connected.wait(20)


class _Gated:
    """Wraps a handler; its first handle_batch waits (bounded) until the test opens the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.gate = threading.Event()

    def handle_batch(self, batch: Any) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            assert self.gate.wait(30)
        return self.inner.handle_batch(batch)

    def presence(self, device_id: str, online: bool, at: float) -> Any:
        return self.inner.presence(device_id, online, at)


@pytest.mark.parametrize("broker_options", [{"persistence": True}])
def test_connection_lost_mid_batch_redelivers_and_counts_once(
    hall: Hall, broker: MosquittoBroker, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    """The broker restarts while a batch is in the handler and another message waits in the queue.

    Neither may be acked on the new connection with an old packet id: the decided
    one is decided again as a retransmission (ALREADY_RECORDED), the queued one is
    dropped in favour of its redelivered copy.  Each frame counts once.
    """
    core.run(hall.open_checkin)
    gated = _Gated(core)
    bridge = bridges(gated, start=False)
    acks = _spy_acks(bridge, core.trace)
    bridge.start()
    assert bridge.connected.wait(10)
    kp1, kp2 = device(hall.kp(1)), device(hall.kp(2))
    first = kp1.send(hall.kp(1).check_in(42, SITTING_NONCE))
    assert gated.entered.wait(10)
    second = kp2.send(hall.kp(2).check_in(42, SITTING_NONCE))
    wait_until(lambda: bridge.stats().received == 2, "the second message queued")

    broker.restart()  # SIGTERM: Mosquitto saves the session with both messages unacked
    wait_until(lambda: bridge.stats().connects == 2 and bridge.received >= 4, "both redelivered", 20)
    gated.gate.set()
    wait_until(lambda: len(core.decisions) == 3, "three decisions")

    assert [(d.device_id, d.reply.reason) for d in core.decisions] == [
        ("kp-1", reasons.ACCEPTED),  # decided on the lost connection: not acked
        ("kp-1", reasons.ALREADY_RECORDED),  # its redelivered copy: acked
        ("kp-2", reasons.ACCEPTED),  # the queued copy was dropped, the redelivered one decided
    ]
    assert core.inbound_payloads() == [first, first, second]
    stats = bridge.stats()
    assert stats.dropped == 1
    wait_until(lambda: len(acks) == 2, "two PUBACKs on the new connection")
    # No PUBACK after the first return (its packet id belonged to the lost connection).
    assert core.trace == ["return", "return", "ack", "ack"]
    assert hall.sitting.present == 2
