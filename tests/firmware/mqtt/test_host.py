"""The host's client (firmware/mqtt/host.py): the keypad's client plus a host's conveniences.

Its publish, wait_connected, is_pending and drop_link run through every
client test (test_client.py, test_client_mp127.py, test_client_mosquitto.py);
here: subscribe's answer when the broker is silent or the link goes, the
packet ids a SUBACK still waits for, and that the keypad's client has none
of it.
"""

from __future__ import annotations

import asyncio

from firmware.mqtt import client as mc
from firmware.mqtt import codec as c
from firmware.mqtt import connect, host

from .test_client import Conn, ScriptedBroker, client_for, run


def test_the_keypads_client_has_none_of_the_conveniences() -> None:
    keypad = mc.MQTTClient("kp-1", "127.0.0.1", 1)
    for name in ("publish", "subscribe", "wait_connected", "is_pending", "pending", "drop_link"):
        assert not hasattr(keypad, name) and callable(getattr(host.HostClient, name))
    assert host.HostClient.post is mc.MQTTClient.post


def test_subscribe_without_an_answer_gives_none_and_a_link_loss_releases_the_wait() -> None:
    seen: list[c.Subscribe] = []
    drop = asyncio.Event()

    async def script(conn: Conn, i: int) -> None:
        await conn.accept()
        while True:
            pkt = await conn.recv_kind(c.Subscribe)
            seen.append(pkt)  # never answered
            if len(seen) == 2:
                await drop.wait()
                return  # the link goes while the client waits for the SUBACK

    async def main() -> None:
        async with ScriptedBroker(script) as broker:
            client = client_for(broker)
            client.start()
            assert await client.wait_connected(10)
            assert await client.subscribe("a/+", 1, timeout=0.2) is None  # silent broker
            waiting = asyncio.create_task(client.subscribe("b/#", 0, timeout=600))
            while len(seen) < 2:
                await asyncio.sleep(0.01)
            assert client._waiters  # waiting for the second SUBACK
            drop.set()
            # released by the teardown, long before its own timeout (the run is bounded at 60 s)
            assert await waiting is None
            assert client._waiters == {}
            await client.close()
        assert [s.topics for s in seen] == [[("a/+", 1)], [("b/#", 0)]]

    run(main())


def test_packet_ids_skip_one_a_suback_still_waits_for() -> None:
    client = host.HostClient("kp-1", "127.0.0.1", 1)
    client._waiters[1] = [asyncio.Event(), None]
    client._waiters[2] = [asyncio.Event(), None]
    assert client._next_pid() == 3
    assert client.post("t", b"x", 1) == 4  # and the queued message's id is taken too
    client._pid = 0  # round again: 1, 2 (waiting) and 4 (queued) are skipped
    assert [client._next_pid(), client._next_pid()] == [3, 5]


def test_for_device_makes_a_host_client_wired_like_the_keypads() -> None:
    mine = host.for_device("h1", "kp-7", "password-7", "broker.hall", 8884, keepalive=30)
    keypads = connect.for_device("h1", "kp-7", "password-7", "broker.hall", 8884, keepalive=30)
    assert isinstance(mine, host.HostClient) and type(keypads) is mc.MQTTClient
    assert (mine._connect, mine._subs, mine.birth, mine.port) == (
        keypads._connect,
        keypads._subs,
        keypads.birth,
        keypads.port,
    )
