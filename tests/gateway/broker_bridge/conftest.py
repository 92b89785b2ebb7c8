"""Fixtures for the broker bridge against a real Mosquitto.

* ``CoreHandler``: a Handler built on the pure core (decide + apply_all on a
  ``hvtest.halls.Hall``), in memory; it can be told to fail (``fail_next``)
  or to choke on certain payloads (``poison``), and records what it saw.
* ``Device``: a keypad's MQTT side, a paho client logged in as the device
  account (TLS listener by default) and subscribed to its ``down`` topic.
* ``bridges``: makes started BrokerBridges for the test's broker, stops them
  at teardown.

Test modules cannot import this file (``--import-mode=importlib``), so the
helpers come as fixtures: ``core``, ``make_core``, ``device``, ``bridges``,
``wait_until``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hvtest.halls import Hall
from hvtest.keypads import TestKeypad
from hvtest.mosquitto import WAIT, MosquittoBroker, PahoClient, running_broker

from gateway.broker_bridge import BrokerBridge, Outbound
from gateway.core.apply import apply_all
from gateway.core.decide import Decision, Inbound, decide
from protocol import codec, topics
from protocol.frames import Ack, Frame, Nack

pytestmark = pytest.mark.mosquitto


class CoreHandler:
    """The pure core as a bridge Handler; every call is serialised and recorded."""

    def __init__(self, hall: Hall, hall_id: str) -> None:
        self.hall = hall
        self.hall_id = hall_id
        self.lock = threading.RLock()
        self.calls = 0
        self.fail_next = 0  # raise on the next N calls, before deciding anything
        self.poison: set[bytes] = set()  # raise for any batch holding one of these payloads
        self.batches: list[list[Inbound]] = []  # batches that were decided (not the failed ones)
        self.decisions: list[Decision] = []
        self.presences: queue.Queue[tuple[str, bool, float]] = queue.Queue()
        self.trace: list[str] = []  # "raise" / "return", for ordering against acks

    def handle_batch(self, batch: Sequence[Inbound]) -> list[Outbound]:
        with self.lock:
            self.calls += 1
            if self.fail_next:
                self.fail_next -= 1
                self.trace.append("raise")
                raise RuntimeError("store unavailable (test)")
            if any(i.payload in self.poison for i in batch):
                self.trace.append("raise")
                raise RuntimeError("poison (test)")
            out = []
            for inbound in batch:
                d = decide(self.hall.state, inbound)
                apply_all(self.hall.state, d.events)
                self.hall.log.extend(d.events)
                self.decisions.append(d)
                out.append(Outbound(topics.device(self.hall_id, d.device_id, "down"), codec.encode(d.reply)))
            self.batches.append(list(batch))
            self.trace.append("return")
            return out

    def presence(self, device_id: str, online: bool, at: float) -> list[Outbound]:
        self.presences.put((device_id, online, at))
        return []

    def run(self, step: Callable[[], Any]) -> Any:
        """A chair command (or any state change) from the test, serialised with the frames."""
        with self.lock:
            return step()

    def inbound_payloads(self) -> list[bytes]:
        with self.lock:
            return [i.payload for b in self.batches for i in b]


class Device:
    """A keypad's MQTT side: publishes signed frames as its own account, reads its downlink."""

    def __init__(self, broker: MosquittoBroker, keypad: TestKeypad, *, tls: bool = True) -> None:
        self.broker = broker
        self.kp = keypad
        self.id = keypad.device_id
        self.client: PahoClient = broker.paho(self.id, tls=tls)
        self.client.subscribe(topics.device(broker.hall, self.id, "down"))

    def topic(self, channel: str = "up") -> str:
        return topics.device(self.broker.hall, self.id, channel)

    def send(self, payload: bytes, channel: str = "up") -> bytes:
        self.client.publish(self.topic(channel), payload)
        return payload

    def reply(self, timeout: float = WAIT) -> Frame:
        return codec.decode(self.client.expect(timeout).payload)

    def reply_for(self, counter: int, timeout: float = WAIT) -> Ack | Nack:
        msg, _ = self.client.expect_where(lambda m: _counter(m.payload) == counter, timeout)
        frame = codec.decode(msg.payload)
        assert isinstance(frame, (Ack, Nack))
        return frame


def _counter(payload: bytes) -> int:
    frame = codec.decode(payload)
    assert isinstance(frame, (Ack, Nack))
    return frame.counter


def wait_until(pred: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Bounded poll; fails the test with ``what`` when ``pred`` stays false."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def hall() -> Hall:
    """Four members, seats A-1..A-4, keypads kp-1..kp-4 (a module may override it)."""
    return Hall(members=4)


@pytest.fixture
def broker_options() -> dict[str, Any]:
    """Extra running_broker options; a test overrides it with ``@pytest.mark.parametrize``."""
    return {}


@pytest.fixture
def broker(tmp_path: Path, hall: Hall, broker_options: dict[str, Any]) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, devices=sorted(hall.keypads), **broker_options) as b:
        yield b


@pytest.fixture
def make_core(hall: Hall, broker: MosquittoBroker) -> Callable[[], CoreHandler]:
    """A new CoreHandler on the test's hall (several handlers share one hall state)."""
    return lambda: CoreHandler(hall, broker.hall)


@pytest.fixture
def core(make_core: Callable[[], CoreHandler]) -> CoreHandler:
    return make_core()


@pytest.fixture
def device(broker: MosquittoBroker) -> Callable[..., Device]:
    """device(keypad, tls=True): the keypad's MQTT client, subscribed to its downlink."""
    return lambda keypad, tls=True: Device(broker, keypad, tls=tls)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., None]:
    return wait_until


BridgeFactory = Callable[..., BrokerBridge]


@pytest.fixture
def bridges(broker: MosquittoBroker) -> Iterator[BridgeFactory]:
    made: list[BrokerBridge] = []

    def make(handler: Any, *, start: bool = True, **options: Any) -> BrokerBridge:
        assert broker.local_port is not None
        options.setdefault("retry_backoff_s", 0.01)
        options.setdefault("reconnect_delay_s", (1, 2))
        bridge = BrokerBridge(
            hall_id=broker.hall,
            host=broker.host,
            port=broker.local_port,
            username=broker.gateway.username,
            password=broker.gateway.password,
            handler=handler,
            **options,
        )
        made.append(bridge)
        if start:
            bridge.start()
            assert bridge.connected.wait(WAIT), "bridge did not connect and subscribe"
        return bridge

    yield make
    for b in made:
        b.stop()
