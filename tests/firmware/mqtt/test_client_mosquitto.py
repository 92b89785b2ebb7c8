"""The device MQTT client against a real Mosquitto with the generated TLS + ACL configuration.

The gateway side is paho-mqtt on the gateway account.  Every negative
check (a message that must NOT arrive) is ordered before a positive control
that must arrive on the same subscription: QoS 1 publishes complete on their
PUBACK and Mosquitto routes a message before acknowledging it, so a leaked
message would be queued ahead of the control.  No sleeps, bounded waits only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hvtest.mosquitto import MosquittoBroker, PahoClient, running_broker

from firmware.mqtt import client as mc
from firmware.mqtt import codec as c
from firmware.mqtt import connect, host
from gateway.broker import config as bc
from protocol import topics

pytestmark = pytest.mark.mosquitto

HALL = "h1"
WAIT = 15.0


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))  # type: ignore[arg-type]


async def until(pred: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, bytes, bool]] = []

    def __call__(self, topic: str, payload: bytes, retained: bool) -> None:
        self.items.append((topic, payload, retained))

    def payloads(self) -> list[bytes]:
        return [p for _, p, _ in self.items]


def device(broker: MosquittoBroker, device_id: str, *, password: str | None = None,
           context: ssl.SSLContext | None = None, **kw: Any) -> host.HostClient:
    return host.for_device(
        broker.hall,
        device_id,
        broker.password(device_id) if password is None else password,
        broker.host,
        broker.port,
        ssl=context if context is not None else connect.tls_context(cafile=str(broker.ca_path)),
        server_hostname=broker.server_hostname,
        backoff_base=0.05,
        backoff_cap=0.5,
        **kw,
    )


async def expect(gw: PahoClient, pred: Callable[[Any], bool]) -> tuple[Any, list[Any]]:
    return await asyncio.to_thread(gw.expect_where, pred, WAIT)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    with running_broker(tmp_path, hall=HALL, devices=["kp-1", "kp-2"]) as b:
        yield b


# --------------------------------------------------------------- connect, uplink, downlink


def test_device_connects_over_tls_and_talks_to_the_gateway(broker: MosquittoBroker) -> None:
    gw = broker.paho(broker.gateway.username)
    gw.subscribe(topics.device_filter(HALL, "up"))
    gw.subscribe(topics.device_filter(HALL, "presence"))
    inbox = Inbox()

    async def main() -> None:
        kp = device(broker, "kp-2", on_message=inbox)
        kp.start()
        assert await kp.wait_connected(WAIT), kp.last_error
        msg, _ = await expect(gw, lambda m: m.topic == topics.device(HALL, "kp-2", "presence"))
        assert msg.payload == topics.PRESENCE_ONLINE

        pid = await kp.publish(topics.device(HALL, "kp-2", "up"), b"vote-frame", qos=1)
        await kp.publish(topics.device(HALL, "kp-2", "up"), b"qos0-frame", qos=0)
        msg, _ = await expect(gw, lambda m: m.payload == b"vote-frame")
        assert (msg.topic, msg.qos) == (topics.device(HALL, "kp-2", "up"), 1)
        msg, _ = await expect(gw, lambda m: m.payload == b"qos0-frame")
        await until(lambda: not kp.is_pending(pid), "PUBACK from Mosquitto")

        # downlink and hall broadcast reach the keypad (its for_device subscriptions)
        await asyncio.to_thread(gw.publish, topics.device(HALL, "kp-2", "down"), b"ack", 1)
        await asyncio.to_thread(gw.publish, topics.broadcast(HALL, "motion"), b"open", 1, True)
        await until(lambda: b"open" in inbox.payloads(), "downlink and broadcast")
        assert inbox.items == [
            (topics.device(HALL, "kp-2", "down"), b"ack", False),
            (topics.broadcast(HALL, "motion"), b"open", False),
        ]
        assert kp.connects == 1 and kp.callback_errors == 0
        await kp.close()

    run(main())


def test_the_keypads_own_client_posts_and_receives(broker: MosquittoBroker) -> None:
    """What the keypad runs (MQTTClient, post(), no host conveniences) against Mosquitto."""
    gw = broker.paho(broker.gateway.username)
    gw.subscribe(topics.device_filter(HALL, "up"))
    inbox = Inbox()

    async def main() -> None:
        kp = connect.for_device(
            broker.hall, "kp-1", broker.password("kp-1"), broker.host, broker.port,
            ssl=connect.tls_context(cafile=str(broker.ca_path)), server_hostname=broker.server_hostname,
            backoff_base=0.05, backoff_cap=0.5, on_message=inbox,
        )  # fmt: skip
        assert type(kp) is mc.MQTTClient
        up = topics.device(HALL, "kp-1", "up")
        pid = kp.post(up, b"posted-before-connect", 1)  # queued offline, sent after the CONNACK
        kp.start()
        msg, _ = await expect(gw, lambda m: m.payload == b"posted-before-connect")
        assert (msg.topic, msg.qos) == (up, 1) and pid is not None
        assert kp.post(up, b"posted-qos0", 0) is None
        await expect(gw, lambda m: m.payload == b"posted-qos0")
        await until(lambda: not kp._queue and not kp._inflight, "PUBACK from Mosquitto")
        await asyncio.to_thread(gw.publish, topics.device(HALL, "kp-1", "down"), b"ack", 1)
        await until(lambda: inbox.payloads() == [b"ack"], "downlink")
        assert kp.connects == 1 and kp.dropped == 0 and kp.faults == 0
        await kp.close()

    run(main())


def test_wrong_password_is_refused_by_connack(broker: MosquittoBroker) -> None:
    async def main() -> None:
        kp = device(broker, "kp-1", password="not-the-password")
        kp.start()
        await until(lambda: kp.refused is not None, "CONNACK refusal")
        assert kp.refused in (c.REFUSED_BAD_CREDENTIALS, c.REFUSED_NOT_AUTHORIZED)
        assert not kp.connected and kp.connects == 0
        await kp.close()
        # another device's password does not open this device's account either
        other = device(broker, "kp-1", password=broker.password("kp-2"))
        other.start()
        await until(lambda: other.refused is not None, "CONNACK refusal")
        assert other.connects == 0
        await other.close()

    run(main())


def test_tls_needs_the_hall_ca(broker: MosquittoBroker, tmp_path: Path) -> None:
    stranger = tmp_path / "other-ca.crt"
    stranger.write_bytes(bc.make_ca(HALL).cert_pem)  # same hall name, different key

    async def main() -> None:
        kp = device(broker, "kp-1", context=connect.tls_context(cafile=str(stranger)))
        kp.start()
        await until(lambda: kp.attempts >= 2, "failed TLS attempts")
        assert isinstance(kp.last_error, ssl.SSLError), kp.last_error
        assert kp.connects == 0 and not kp.connected
        await kp.close()
        # and the right CA with the wrong host name is refused too
        wrong_name = device(broker, "kp-1")
        wrong_name.server_hostname = "broker.example"
        wrong_name.start()
        await until(lambda: wrong_name.attempts >= 1 and wrong_name.last_error is not None, "TLS")
        assert isinstance(wrong_name.last_error, ssl.SSLError)
        await wrong_name.close()

    run(main())


# --------------------------------------------------------------- the ACL


def acl_probe(broker: MosquittoBroker) -> dict[str, list[bytes]]:
    """kp-2 (our client) tries kp-1's uplink and downlink; returns what leaked through.

    Positive controls (kp-2's own uplink, kp-2's own downlink) must arrive in
    every case, so a broken broker or client cannot pass as "no leak".
    """
    gw = broker.paho(broker.gateway.username)
    gw.subscribe(topics.device_filter(HALL, "up"))
    inbox = Inbox()
    leaks: dict[str, list[bytes]] = {}

    async def main() -> None:
        kp2 = device(broker, "kp-2", on_message=inbox)
        kp2.start()
        assert await kp2.wait_connected(WAIT), kp2.last_error
        granted = await kp2.subscribe(topics.device(HALL, "kp-1", "down"), 1)
        assert granted is not None  # Mosquitto 2.0 answers; whether 0x80 or not, nothing may flow

        await kp2.publish(topics.device(HALL, "kp-1", "up"), b"forged-uplink", qos=1)
        await kp2.publish(topics.device(HALL, "kp-2", "up"), b"own-uplink", qos=1)
        await until(lambda: kp2.pending() == 0, "PUBACKs")
        msg, before = await expect(gw, lambda m: m.payload == b"own-uplink")
        assert msg.topic == topics.device(HALL, "kp-2", "up")
        leaks["uplink"] = [m.payload for m in before]

        await asyncio.to_thread(gw.publish, topics.device(HALL, "kp-1", "down"), b"for-kp-1", 1)
        await asyncio.to_thread(gw.publish, topics.device(HALL, "kp-2", "down"), b"for-kp-2", 1)
        await until(lambda: b"for-kp-2" in inbox.payloads(), "own downlink")
        got = inbox.payloads()
        leaks["downlink"] = got[: got.index(b"for-kp-2")]
        await kp2.close()

    run(main())
    return leaks


def test_device_cannot_publish_or_read_for_another_device(broker: MosquittoBroker) -> None:
    assert acl_probe(broker) == {"uplink": [], "downlink": []}


def _loosen(old: str, new: str) -> Callable[[str], str]:
    def transform(acl: str) -> str:
        assert old in acl
        return acl.replace(old, new)

    return transform


@pytest.mark.parametrize(
    ("transform", "leaked"),
    [
        (
            _loosen(f"topic write {topics.device(HALL, 'kp-2', 'up')}",
                    f"topic write {topics.device_filter(HALL, 'up')}"),
            {"uplink": [b"forged-uplink"], "downlink": []},
        ),
        (
            _loosen(f"topic read {topics.device(HALL, 'kp-2', 'down')}",
                    f"topic read {topics.device_filter(HALL, 'down')}"),
            {"uplink": [], "downlink": [b"for-kp-1"]},
        ),
        (
            lambda acl: acl + "\npattern readwrite hallvote/#\n",
            {"uplink": [b"forged-uplink"], "downlink": [b"for-kp-1"]},
        ),
    ],
    ids=["any-uplink", "any-downlink", "pattern-readwrite-all"],
)
def test_the_acl_test_fails_when_the_acl_is_loosened(
    tmp_path: Path, transform: Callable[[str], str], leaked: dict[str, list[bytes]]
) -> None:
    with running_broker(tmp_path, hall=HALL, devices=["kp-1", "kp-2"],
                        acl_transform=transform) as loose:
        assert acl_probe(loose) == leaked


# --------------------------------------------------------------- will, keepalive, reconnect


def test_last_will_on_abrupt_close_but_not_on_disconnect(broker: MosquittoBroker) -> None:
    gw = broker.paho(broker.gateway.username)
    gw.subscribe(topics.device_filter(HALL, "presence"))
    kp1_presence = topics.device(HALL, "kp-1", "presence")
    kp2_presence = topics.device(HALL, "kp-2", "presence")

    async def main() -> None:
        kp1, kp2 = device(broker, "kp-1"), device(broker, "kp-2")
        kp1.start()
        kp2.start()
        online: set[str] = set()

        def both_online(m: Any) -> bool:
            if m.payload == topics.PRESENCE_ONLINE:
                online.add(m.topic)
            return online == {kp1_presence, kp2_presence}

        await expect(gw, both_online)
        await until(lambda: kp1.pending() == 0 and kp2.pending() == 0, "births acknowledged")
        await kp2.close()  # graceful: DISCONNECT, so no will
        await kp1.close(disconnect=False)  # abrupt: the socket just closes
        msg, before = await expect(gw, lambda m: m.topic == kp1_presence)
        assert msg.payload == topics.PRESENCE_OFFLINE
        assert [(m.topic, m.payload) for m in before] == []  # kp-2 left no will behind

    run(main())
    # the will was retained: a gateway that starts later still learns kp-1 is offline
    late = broker.paho(broker.gateway.username, client_id="late-gateway")
    late.subscribe(kp1_presence)
    msg = late.expect(WAIT)
    assert (msg.payload, msg.retain) == (topics.PRESENCE_OFFLINE, True)


def test_keepalive_pings_keep_the_link(broker: MosquittoBroker) -> None:
    async def main() -> None:
        kp = device(broker, "kp-1", keepalive=1)
        kp.start()
        assert await kp.wait_connected(WAIT)
        await until(lambda: kp.pings >= 4, "keepalive pings")
        assert kp.connects == 1 and kp.connected  # every PINGREQ got its PINGRESP
        await kp.close()

    run(main())


def test_drop_link_sends_the_will_then_reconnects(broker: MosquittoBroker) -> None:
    gw = broker.paho(broker.gateway.username)
    gw.subscribe(topics.device_filter(HALL, "presence"))
    presence = topics.device(HALL, "kp-1", "presence")

    async def main() -> None:
        kp = device(broker, "kp-1")
        kp.start()
        await expect(gw, lambda m: m.topic == presence and m.payload == topics.PRESENCE_ONLINE)
        kp.drop_link()
        await expect(gw, lambda m: m.topic == presence and m.payload == topics.PRESENCE_OFFLINE)
        await expect(gw, lambda m: m.topic == presence and m.payload == topics.PRESENCE_ONLINE)
        await until(lambda: kp.connects == 2, "reconnect")
        await kp.close()

    run(main())


def test_reconnect_after_broker_restart_delivers_qos1_published_offline(tmp_path: Path) -> None:
    with running_broker(tmp_path, hall=HALL, devices=["kp-1"], persistence=True) as broker:
        # the gateway keeps a persistent session, so the broker queues for it across the restart
        gw = broker.paho(broker.gateway.username, client_id="gateway-test", clean_session=False)
        gw.subscribe(topics.device_filter(HALL, "up"))
        uplink = topics.device(HALL, "kp-1", "up")

        async def main() -> None:
            kp = device(broker, "kp-1")
            kp.start()
            assert await kp.wait_connected(WAIT)
            await kp.publish(uplink, b"before", qos=1)
            await expect(gw, lambda m: m.payload == b"before")

            await asyncio.to_thread(broker.stop)
            await until(lambda: not kp.connected, "link loss noticed")
            pid = await kp.publish(uplink, b"while-offline", qos=1)
            assert kp.is_pending(pid)
            await asyncio.to_thread(broker.start)

            await until(lambda: kp.connects == 2 and not kp.is_pending(pid), "reconnect + PUBACK")
            msg, _ = await expect(gw, lambda m: m.payload == b"while-offline")
            assert (msg.topic, msg.qos) == (uplink, 1)
            await kp.close()

        run(main())
