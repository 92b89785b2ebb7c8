"""The device MQTT client's driver logic, against a scripted in-process broker.

The scripted broker (asyncio server + our codec) lets a test do what a real
Mosquitto will not do on demand: withhold a PUBACK, ignore a PINGREQ, send
garbage.  The real-broker tests are in test_client_mosquitto.py.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable

import pytest

from firmware.mqtt import client as mc
from firmware.mqtt import codec as c
from firmware.mqtt import connect, host
from protocol import topics

WAIT = 10.0


def run(coro: Awaitable[object]) -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


async def until(pred: Callable[[], bool], what: str = "condition") -> None:
    for _ in range(int(WAIT / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class Conn:
    """One accepted connection, seen from the broker side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = c.Parser()
        self.backlog: list[c.Packet] = []

    async def recv(self, timeout: float = WAIT) -> c.Packet:
        while not self.backlog:
            data = await asyncio.wait_for(self.reader.read(1024), timeout)
            if not data:
                raise EOFError("client closed")
            self.backlog += self.parser.feed(data)
        return self.backlog.pop(0)

    async def recv_kind(self, kind: type) -> c.Packet:
        while True:
            pkt = await self.recv()
            if isinstance(pkt, kind):
                return pkt

    async def send(self, pkt: c.Packet | bytes) -> None:
        self.writer.write(pkt if isinstance(pkt, bytes) else pkt.encode())
        await self.writer.drain()

    async def accept(self) -> c.Connect:
        pkt = await self.recv()
        assert isinstance(pkt, c.Connect)
        await self.send(c.Connack(False, 0))
        return pkt

    def close(self) -> None:
        self.writer.close()


class ScriptedBroker:
    """Each accepted connection is handed to ``script(conn, index)``."""

    def __init__(self, script: Callable[[Conn, int], Awaitable[None]]) -> None:
        self.script = script
        self.count = 0
        self.errors: list[BaseException] = []
        self.done = asyncio.Event()

    async def __aenter__(self) -> ScriptedBroker:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        if self.errors:
            raise self.errors[0]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.count
        self.count += 1
        conn = Conn(reader, writer)
        try:
            await self.script(conn, index)
        except (EOFError, ConnectionError):
            pass
        except BaseException as e:  # surfaced by __aexit__
            self.errors.append(e)
            self.done.set()
        finally:
            conn.close()


def client_for(broker: ScriptedBroker, **kw: object) -> host.HostClient:
    opts: dict[str, object] = dict(backoff_base=0.01, backoff_cap=0.05, keepalive=60)
    opts.update(kw)
    return host.HostClient("kp-1", "127.0.0.1", broker.port, **opts)  # type: ignore[arg-type]


# --------------------------------------------------------------- backoff


def backoff(base: float, cap: float, rand: Callable[[], float] | None = None) -> mc.MQTTClient:
    """A client whose reconnect backoff (firmware.mqtt.connect.backoff) the tests draw from."""
    return mc.MQTTClient("kp-1", "127.0.0.1", 1, backoff_base=base, backoff_cap=cap, rand=rand)


def test_backoff_first_retries_of_3000_keypads_are_spread_not_in_lockstep() -> None:
    rng = random.Random(20260101)
    base = 2.0
    firsts = [connect.backoff(backoff(base, 60.0, rng.random)) for _ in range(3000)]
    assert all(0 <= d < base for d in firsts)
    assert len(set(firsts)) > 2990  # no two hundred clients on the same instant
    # spread evenly: every 100 ms slot of [0, 2 s) gets a share near 3000/20 = 150
    slots = [0] * 20
    for d in firsts:
        slots[int(d / 0.1)] += 1
    assert min(slots) > 90 and max(slots) < 210, slots
    # and no 10 ms window holds more than a small crowd (expected 15)
    windows: dict[int, int] = {}
    for d in firsts:
        windows[int(d / 0.01)] = windows.get(int(d / 0.01), 0) + 1
    assert max(windows.values()) < 40


def test_backoff_without_jitter_would_be_lockstep() -> None:
    """The spread comes from the random source: a constant one puts all clients together."""
    firsts = {connect.backoff(backoff(2.0, 60.0, lambda: 0.5)) for _ in range(3000)}
    assert firsts == {1.0}


def test_backoff_doubles_to_the_cap_and_resets() -> None:
    b = backoff(0.5, 8.0, lambda: 1.0)
    assert [connect.backoff(b) for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    b.backoff_attempt = 0  # what an accepted CONNACK does
    assert connect.backoff(b) == 0.5
    big = backoff(1.0, 1e9, lambda: 0.999)
    for _ in range(200):
        assert connect.backoff(big) < 1e9
    with pytest.raises(ValueError):
        backoff(0, 1)
    with pytest.raises(ValueError):
        backoff(2, 1)


def test_default_random_source_is_in_unit_interval() -> None:
    draws = [connect.default_rand() for _ in range(1000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert len(set(draws)) > 990
    assert backoff(1.0, 2.0).rand is None  # the client draws from it (connect.backoff)


def test_run_loop_waits_the_backoff_between_failed_attempts() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    delays: list[float] = []

    async def main() -> None:
        async def fake_sleep(d: float) -> None:
            delays.append(d)
            if len(delays) >= 6:
                client._closing = True
            await asyncio.sleep(0)

        client = mc.MQTTClient(
            "kp-1", "127.0.0.1", port, backoff_base=1.0, backoff_cap=8.0,
            rand=lambda: 0.5, sleep=fake_sleep,
        )
        await client.run()
        assert client.attempts == 6
        assert isinstance(client.last_error, OSError)
        assert not client.connected

    run(main())
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_run_loop_waits_the_longest_backoff_if_the_connect_path_cannot_be_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a link loss the client loads its connect path again (on MicroPython from flash
    into the heap); if that fails (no memory), it waits the cap and retries: never spins, never dies."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    delays: list[float] = []

    def no_memory(client: mc.MQTTClient) -> float:
        raise MemoryError

    async def main() -> None:
        async def fake_sleep(d: float) -> None:
            delays.append(d)
            if len(delays) >= 3:
                client._closing = True
            await asyncio.sleep(0)

        client = mc.MQTTClient("kp-1", "127.0.0.1", port, backoff_base=1.0, backoff_cap=8.0, sleep=fake_sleep)
        monkeypatch.setattr(connect, "backoff", no_memory)
        await client.run()
        assert client.attempts == 3 and isinstance(client.last_error, OSError)

    run(main())
    assert delays == [8.0, 8.0, 8.0]


# --------------------------------------------------------------- QoS 1 and the queue


def test_unacked_qos1_is_resent_with_dup_after_reconnect() -> None:
    seen: list[c.Publish] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        pub = await conn.recv_kind(c.Publish)
        seen.append(pub)
        if i == 0:
            return  # link lost before the PUBACK
        await conn.send(c.Puback(pub.packet_id))
        await conn.recv()  # hold the link until the client leaves

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker)
            pid = await client.publish("hallvote/v2/h1/dev/kp-1/up", b"vote", qos=1)
            assert client.is_pending(pid)
            client.start()
            await until(lambda: len(seen) == 2 and not client.is_pending(pid), "PUBACK")
            assert client.connects == 2
            await client.close()
        first, again = seen
        assert (first.dup, again.dup) == (False, True)
        assert first.packet_id == again.packet_id == pid
        assert again.payload == b"vote" and again.qos == 1
        assert client.pending() == 0

    run(main())


def test_offline_queue_is_bounded_drops_oldest_and_keeps_order() -> None:
    got: list[c.Publish] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        while True:
            pub = await conn.recv_kind(c.Publish)
            got.append(pub)
            if pub.qos:
                await conn.send(c.Puback(pub.packet_id))

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, queue_max=3, max_inflight=1)
            for n in range(5):
                await client.publish("t/%d" % n, b"%d" % n, qos=n % 2)
            assert client.dropped == 2
            assert client.pending() == 3
            client.start()
            await until(lambda: len(got) == 3 and client.pending() == 0, "queued messages")
            await client.close()
        assert [(p.topic, p.qos, p.dup) for p in got] == [
            ("t/2", 0, False), ("t/3", 1, False), ("t/4", 0, False)
        ]

    run(main())


def test_a_posted_message_is_sent_at_once_not_at_the_next_keepalive_tick() -> None:
    """The keypad's loop hands a signed vote to post(); the client task sends it as soon as the
    in-flight window has room, not when its keepalive tick (a quarter of the keepalive, up to 5 s)
    next comes round.  The broker here waits well under one tick for each message."""
    got: list[c.Publish] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        for _ in range(3):
            pub = await asyncio.wait_for(conn.recv_kind(c.Publish), 1.0)  # a tick is 5 s here
            got.append(pub)
            await conn.send(c.Puback(pub.packet_id))
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, keepalive=60, max_inflight=1)
            client.start()
            assert await client.wait_connected(WAIT)
            for n in range(3):  # one at a time: each waits for the PUBACK before it
                await asyncio.sleep(0.2)  # the serve loop is waiting out its tick again
                client.post("t/%d" % n, b"vote", 1)
                await until(lambda n=n: len(got) == n + 1 and client.pending() == 0, "message %d" % n)
            await client.close()
        assert [p.topic for p in got] == ["t/0", "t/1", "t/2"]

    run(main())


def test_opening_is_true_from_the_connect_until_the_connack_only() -> None:
    """``opening`` (read by the keypad's loop, which runs no precompute slice meanwhile) is True
    while the client opens a link, from the TCP connect to the CONNACK, and False once online or
    after a failed attempt."""
    seen: list[bool] = []
    release = asyncio.Event()

    async def script(conn: Conn, i: int) -> None:
        pkt = await conn.recv()
        assert isinstance(pkt, c.Connect)
        await release.wait()  # the CONNACK is held back: the client is still opening its link
        await conn.send(c.Connack(False, 0))
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker)
            assert client.opening is False
            client.start()
            await until(lambda: broker.count == 1 and client.opening, "a link being opened")
            seen.append(client.connected)
            release.set()
            assert await client.wait_connected(WAIT)
            seen.append(client.opening)
            await client.close()
            seen.append(client.opening)

    run(main())
    assert seen == [False, False, False]


def test_inflight_window_holds_back_until_puback() -> None:
    got: list[c.Publish] = []
    release = asyncio.Event()

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        first = await conn.recv_kind(c.Publish)
        got.append(first)
        with pytest.raises(asyncio.TimeoutError):
            await conn.recv(timeout=0.3)  # the window is full: nothing else comes
        release.set()
        await conn.send(c.Puback(first.packet_id))
        second = await conn.recv_kind(c.Publish)
        got.append(second)
        await conn.send(c.Puback(second.packet_id))
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, max_inflight=1)
            client.start()
            assert await client.wait_connected(WAIT)
            await client.publish("t/a", b"a", qos=1)
            await client.publish("t/b", b"b", qos=1)
            await until(lambda: len(got) == 2 and client.pending() == 0, "both PUBACKs")
            assert release.is_set()
            await client.close()

    run(main())


def test_publish_rejects_bad_arguments_at_once() -> None:
    client = host.HostClient("kp-1", "127.0.0.1", 1)
    for args in [("a/+", b""), ("", b""), ("t", "text")]:
        with pytest.raises(c.MQTTProtocolError):
            run(client.publish(*args))
        with pytest.raises(c.MQTTProtocolError):
            client.post(*args)
    with pytest.raises(c.MQTTProtocolError):
        run(client.publish("t", b"", qos=2))
    with pytest.raises(c.MQTTProtocolError):
        client.post("t", b"", qos=2)
    with pytest.raises(c.MQTTProtocolError):
        mc.MQTTClient("kp-1", "127.0.0.1", 1, password="pw")  # password without username
    assert client.pending() == 0


# --------------------------------------------------------------- inbound, subscribe


def test_inbound_qos1_is_acked_and_a_raising_callback_does_not_stop_the_loop() -> None:
    acks: list[int] = []
    received: list[tuple[str, bytes, bool]] = []

    def on_message(topic: str, payload: bytes, retained: bool) -> None:
        received.append((topic, payload, retained))
        if payload == b"bad":
            raise ValueError("app bug")

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        await conn.send(c.Publish("t/1", b"bad", qos=1, packet_id=9))
        await conn.send(c.Publish("t/2", b"good", qos=1, packet_id=10, retain=True))
        await conn.send(c.Publish("t/3", b"q0"))
        acks.append((await conn.recv_kind(c.Puback)).packet_id)
        acks.append((await conn.recv_kind(c.Puback)).packet_id)
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, on_message=on_message)
            client.start()
            await until(lambda: len(acks) == 2 and len(received) == 3, "deliveries")
            assert client.connected and client.connects == 1
            assert client.callback_errors == 1
            await client.close()
        assert received == [("t/1", b"bad", False), ("t/2", b"good", True), ("t/3", b"q0", False)]
        assert acks == [9, 10]

    run(main())


def test_subscribe_reports_grant_or_failure_and_renews_on_reconnect() -> None:
    renewed: list[c.Subscribe] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        sub = await conn.recv_kind(c.Subscribe)
        if i == 0:
            assert len(sub.topics) == 1
            code = c.SUBACK_FAILURE if sub.topics[0][0] == "denied/+" else sub.topics[0][1]
            await conn.send(c.Suback(sub.packet_id, [code]))
            sub = await conn.recv_kind(c.Subscribe)
            await conn.send(c.Suback(sub.packet_id, [c.SUBACK_FAILURE]))
            return  # then drop the link
        renewed.append(sub)
        await conn.send(c.Suback(sub.packet_id, [1] * len(sub.topics)))
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker)
            assert await client.subscribe("early/#", 0) is None  # offline: remembered
            client.start()
            assert await client.wait_connected(WAIT)
            # the "early" subscription went out on connect; answer it, then ours
            # (the script answers the first SUBSCRIBE by its filter)
            assert await client.subscribe("denied/+", 1) == c.SUBACK_FAILURE
            await until(lambda: len(renewed) == 1, "renewed subscriptions")
            await client.close()
        assert renewed[0].topics == [("early/#", 0), ("denied/+", 1)]

    run(main())


# --------------------------------------------------------------- keepalive and failures


def test_keepalive_pings_and_a_missing_pingresp_means_reconnect() -> None:
    pings: list[int] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        await conn.recv_kind(c.Pingreq)
        pings.append(i)
        if i == 0:
            await conn.send(c.Pingresp())
            await conn.recv_kind(c.Pingreq)  # ... and never answer this one
            pings.append(i)
            await conn.recv()  # until the client gives up on us
            return
        await conn.send(c.Pingresp())
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, keepalive=1)
            client.start()
            await until(lambda: broker.count == 2 and client.connected, "reconnect")
            assert isinstance(client.last_error, OSError)
            assert "PINGRESP" in str(client.last_error)
            await client.close()
        assert pings[:2] == [0, 0]

    run(main())


def test_refused_connack_is_recorded_and_retried() -> None:
    async def script(conn: Conn, i: int) -> None:
        await conn.recv_kind(c.Connect)
        await conn.send(c.Connack(False, c.REFUSED_NOT_AUTHORIZED))

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker)
            client.start()
            await until(lambda: client.attempts >= 3, "retries")
            assert client.refused == 5
            assert isinstance(client.last_error, mc.MQTTConnectError)
            assert "not authorized" in str(client.last_error)
            assert not client.connected and client.connects == 0
            assert not await client.wait_connected(0.05)
            await client.close()

    run(main())


def test_garbage_from_the_broker_is_a_link_loss() -> None:
    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        await conn.recv_kind(c.Publish)  # the birth: the client is past its CONNACK
        if i == 0:
            await conn.send(b"\xf0\x00")  # reserved packet type
        await conn.recv()

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker, birth=("t/birth", b"1", 0, False))
            client.start()
            await until(lambda: client.connects == 2 and client.connected, "reconnect")
            await client.close()
        assert broker.count == 2

    run(main())


def test_close_sends_disconnect_but_abrupt_close_does_not() -> None:
    ends: list[str] = []

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        try:
            pkt = await conn.recv()
            ends.append(type(pkt).__name__)
        except EOFError:
            ends.append("EOF")

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            graceful = client_for(broker)
            graceful.start()
            assert await graceful.wait_connected(WAIT)
            await graceful.close()
            await until(lambda: len(ends) == 1, "first close")
            abrupt = client_for(broker)
            abrupt.start()
            assert await abrupt.wait_connected(WAIT)
            await abrupt.close(disconnect=False)
            await until(lambda: len(ends) == 2, "second close")
        assert ends == ["Disconnect", "EOF"]

    run(main())


def test_drop_link_reconnects_and_renews_birth() -> None:
    births: list[int] = []

    async def script(conn: Conn, i: int) -> None:
        connect = await conn.accept()
        assert connect.will_topic == topics.device("h1", "kp-1", "presence")
        while True:
            pkt = await conn.recv()
            if isinstance(pkt, c.Subscribe):
                await conn.send(c.Suback(pkt.packet_id, [1] * len(pkt.topics)))
            elif isinstance(pkt, c.Publish):
                births.append(i)
                await conn.send(c.Puback(pkt.packet_id))

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = host.for_device("h1", "kp-1", "password-1", "127.0.0.1", broker.port,
                                   backoff_base=0.01, backoff_cap=0.05)
            client.start()
            await until(lambda: births == [0], "birth")
            client.drop_link()
            await until(lambda: births == [0, 1] and client.connects == 2, "birth again")
            await client.close()

    run(main())


def test_for_device_wires_identity_presence_and_subscriptions() -> None:
    client = connect.for_device("h1", "kp-7", "password-7", "broker.hall")
    assert type(client) is mc.MQTTClient  # the keypad's: no host conveniences
    assert isinstance(host.for_device("h1", "kp-7", "password-7", "broker.hall"), host.HostClient)
    [sent] = c.Parser().feed(client._connect)  # the CONNECT it sends, encoded once
    assert isinstance(sent, c.Connect)
    assert (sent.client_id, sent.username, sent.password) == ("kp-7", "kp-7", b"password-7")
    assert sent.will_topic == topics.device("h1", "kp-7", "presence")
    assert sent.will_message == topics.PRESENCE_OFFLINE
    assert sent.will_qos == 1 and sent.will_retain
    assert client.birth == (topics.device("h1", "kp-7", "presence"), topics.PRESENCE_ONLINE, 1, True)
    assert client._subs == [
        (topics.device("h1", "kp-7", "down"), 1),
        (topics.broadcast_filter("h1"), 1),
    ]
    assert client.server_hostname == "broker.hall"
