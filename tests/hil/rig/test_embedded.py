"""The embedded Python broker (amqtt) with the hall's generated accounts and grants, through real MQTT clients.

A keypad's account is admitted over TLS with its password and refused with a wrong one, with none, or as
an unknown user; it may publish only on its own uplink (a publish on another keypad's topic is dropped: the
gateway never sees it) and subscribe only to its own downlink and the hall broadcasts (another keypad's
downlink: subscription refused, nothing delivered).  A restart keeps the ports.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from gateway.broker import config as bc
from hil.rig.embedded import EmbeddedBroker, allowed, within
from protocol import topics

HALL = "h1"
A, B = "kp-0001", "kp-0002"
WAIT = 30.0


class Client:
    def __init__(self, broker: EmbeddedBroker, user: str | None, password: str | None, tls: bool = True) -> None:
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user or "anon")
        if user is not None:
            self.c.username_pw_set(user, password)
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.rc: Any = None
        self.granted: dict[int, list[Any]] = {}
        self.subscribed = threading.Condition()
        self.messages: list[tuple[str, bytes]] = []
        self.arrived = threading.Condition()
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = lambda *a: self.closed.set()
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        if tls:
            self.c.tls_set(ca_certs=str(broker.ca_path), tls_version=ssl.PROTOCOL_TLS_CLIENT)
            self.c.connect(broker.host, broker.port)
        else:
            self.c.connect(broker.host, broker.local_port)
        self.c.loop_start()

    def _on_connect(self, c: Any, u: Any, flags: Any, rc: Any, props: Any) -> None:
        self.rc = rc
        if not rc.is_failure:
            self.connected.set()
        else:
            self.closed.set()

    def _on_subscribe(self, c: Any, u: Any, mid: int, rcs: list[Any], props: Any) -> None:
        with self.subscribed:
            self.granted[mid] = rcs
            self.subscribed.notify_all()

    def _on_message(self, c: Any, u: Any, m: Any) -> None:
        with self.arrived:
            self.messages.append((m.topic, m.payload))
            self.arrived.notify_all()

    def subscribe(self, topic: str) -> Any:
        _, mid = self.c.subscribe(topic, 1)
        with self.subscribed:
            assert self.subscribed.wait_for(lambda: mid in self.granted, WAIT)
            return self.granted[mid][0]

    def wait_message(self, topic: str) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(t == topic for t, _ in self.messages), WAIT), topic

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    b = EmbeddedBroker(tmp_path, HALL, [A, B])
    b.start()
    yield b
    b.stop()


def _refused(client: Client) -> bool:
    assert client.closed.wait(WAIT)
    return not client.connected.is_set()


def test_accounts_wrong_password_no_password_unknown_user(broker: EmbeddedBroker) -> None:
    ok = Client(broker, A, broker.password(A))
    assert ok.connected.wait(WAIT)
    for user, pw in ((A, "wrong-password"), (A, broker.password(B)), ("kp-9999", "x"), (None, None)):
        c = Client(broker, user, pw)
        assert _refused(c), (user, c.rc)
        c.close()
    ok.close()


def test_a_keypad_reaches_only_its_own_topics(broker: EmbeddedBroker) -> None:
    gw = Client(broker, bc.GATEWAY_USER, broker.password(bc.GATEWAY_USER), tls=False)
    a = Client(broker, A, broker.password(A))
    b = Client(broker, B, broker.password(B))
    for c in (gw, a, b):
        assert c.connected.wait(WAIT)
    assert not gw.subscribe(topics.device_filter(HALL, "up")).is_failure
    # a's publish on b's uplink is dropped; its own (sent after it) arrives
    a.c.publish(topics.device(HALL, B, "up"), b"forged", 1).wait_for_publish(WAIT)
    a.c.publish(topics.device(HALL, A, "up"), b"mine", 1).wait_for_publish(WAIT)
    gw.wait_message(topics.device(HALL, A, "up"))
    assert gw.messages == [(topics.device(HALL, A, "up"), b"mine")]
    # a may not subscribe to b's downlink, nor to every downlink; its own and the broadcasts: yes
    assert a.subscribe(topics.device(HALL, B, "down")).is_failure
    assert a.subscribe(topics.device_filter(HALL, "down")).is_failure
    assert not a.subscribe(topics.device(HALL, A, "down")).is_failure
    assert not a.subscribe(topics.broadcast_filter(HALL)).is_failure
    assert not b.subscribe(topics.device(HALL, B, "down")).is_failure
    gw.c.publish(topics.device(HALL, B, "down"), b"for-b", 1).wait_for_publish(WAIT)
    gw.c.publish(topics.device(HALL, A, "down"), b"for-a", 1).wait_for_publish(WAIT)
    a.wait_message(topics.device(HALL, A, "down"))
    b.wait_message(topics.device(HALL, B, "down"))
    assert a.messages == [(topics.device(HALL, A, "down"), b"for-a")]
    # the gateway's account may not publish on a keypad's uplink either
    b.c.publish(topics.device(HALL, B, "up"), b"b-own", 1).wait_for_publish(WAIT)
    gw.c.publish(topics.device(HALL, B, "up"), b"gw-forged", 1).wait_for_publish(WAIT)
    a.c.publish(topics.device(HALL, A, "up"), b"a-last", 1).wait_for_publish(WAIT)
    with gw.arrived:
        assert gw.arrived.wait_for(lambda: (topics.device(HALL, A, "up"), b"a-last") in gw.messages, WAIT)
    assert b"gw-forged" not in [p for _, p in gw.messages]
    for c in (gw, a, b):
        c.close()


def test_restart_keeps_the_ports(broker: EmbeddedBroker) -> None:
    ports = (broker.port, broker.local_port)
    broker.restart()
    assert broker.running and (broker.port, broker.local_port) == ports and broker.restarts == 1
    c = Client(broker, A, broker.password(A))
    assert c.connected.wait(WAIT)
    c.close()


def test_grants_are_the_generated_ones() -> None:
    dev = bc.Account(A, "pw", bc.ROLE_DEVICE)
    gw = bc.Account(bc.GATEWAY_USER, "pw", bc.ROLE_GATEWAY)
    assert allowed(HALL, dev, topics.device(HALL, A, "up"), "publish")
    assert not allowed(HALL, dev, topics.device(HALL, A, "up"), "subscribe")
    assert not allowed(HALL, dev, topics.device(HALL, B, "up"), "publish")
    assert allowed(HALL, dev, topics.device(HALL, A, "down"), "receive")
    assert not allowed(HALL, dev, topics.device(HALL, A, "down"), "publish")
    assert allowed(HALL, gw, topics.device_filter(HALL, "up"), "subscribe")
    assert not allowed(HALL, gw, "#", "subscribe")
    assert not allowed(HALL, dev, "hallvote/#", "subscribe")
    assert within("a/b/c", "a/+/c") and within("a/+/c", "a/+/c") and within("a/b", "a/#")
    assert not within("a/+/c", "a/b/c") and not within("a/#", "a/b") and not within("a/b/c/d", "a/+/c")
