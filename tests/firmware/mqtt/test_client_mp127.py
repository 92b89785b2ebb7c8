"""The MQTT client over a link that behaves like MicroPython 1.27's (see mp127.py).

Each test is a way a keypad used to hang or die in a hall: a broker that
accepts TCP and stalls the TLS handshake, a certificate error raised as
``ValueError``, a send that never drains, and a periodic read whose
cancellation orphaned a waiting write on the same socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firmware.mqtt import host

from .mp127 import Broker127


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


async def until(pred: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    for _ in range(int(limit / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def client(broker: Broker127, **kw: object) -> host.HostClient:
    opts: dict[str, object] = dict(
        backoff_base=0.01, backoff_cap=0.02, keepalive=60, connect_timeout=0.3, send_timeout=0.3,
        open_connection=broker.open_connection,
    )
    opts.update(kw)
    return host.HostClient("kp-1", "broker", 8883, **opts)  # type: ignore[arg-type]


def test_a_broker_that_stalls_the_handshake_is_left_and_retried() -> None:
    async def main() -> None:
        broker = Broker127(handshake="stall")
        cl = client(broker)
        task = cl.start()
        await until(lambda: cl.attempts >= 3, "three connection attempts")
        assert not cl.connected and not task.done()
        assert isinstance(cl.last_error, OSError)
        assert cl.send_timeouts >= 2
        broker.handshake = "ok"  # the broker recovers: the keypad connects
        await until(lambda: cl.connected, "connected")
        await cl.close()

    run(main())


def test_a_certificate_error_is_link_loss_with_backoff_and_the_task_lives() -> None:
    async def main() -> None:
        broker = Broker127(handshake="cert")
        cl = client(broker)
        task = cl.start()
        await until(lambda: cl.tls_errors >= 3, "three TLS failures")
        assert not task.done(), "the client task must survive a TLS ValueError"
        assert cl.attempts >= 3 and not cl.connected
        broker.handshake = "ok"
        await until(lambda: cl.connected, "connected after the certificate is fixed")
        await cl.close()

    run(main())


def test_a_send_that_never_drains_is_bounded_and_the_message_is_kept() -> None:
    async def main() -> None:
        broker = Broker127(sndbuf=1024)
        cl = client(broker)
        cl.start()
        await until(lambda: cl.connected, "connected")
        broker.set_reading(False)  # the broker's side stops reading: the send buffer fills
        pid = await asyncio.wait_for(cl.publish("hall/up", b"v" * 3000, 1), 5)
        assert cl.send_timeouts >= 1
        assert cl.is_pending(pid), "an unacknowledged QoS 1 message is kept for the next link"
        broker.set_reading(True)
        await until(lambda: any(p.packet_id == pid and len(p.payload) == 3000 for p in broker.publishes), "resent")
        await until(lambda: not cl.is_pending(pid), "acknowledged")
        assert cl.connects >= 2
        await cl.close()

    run(main())


def test_a_read_timeout_never_orphans_a_waiting_write() -> None:
    async def main() -> None:
        broker = Broker127(sndbuf=1024)
        # keepalive 2 s: the session checks timers every 0.5 s while a send waits
        cl = client(broker, keepalive=2, send_timeout=5.0)
        cl.start()
        await until(lambda: cl.connected, "connected")
        broker.set_reading(False)
        asyncio.get_running_loop().call_later(1.2, broker.set_reading, True)
        pid = await asyncio.wait_for(cl.publish("hall/up", b"v" * 3000, 1), 5)
        await until(lambda: not cl.is_pending(pid), "acknowledged")
        assert cl.connects == 1, "the link was never lost"
        assert all(conn.q.orphaned == 0 for conn in broker.conns)
        await cl.close()

    run(main())


def test_a_refused_connack_is_still_a_refusal() -> None:
    async def main() -> None:
        broker = Broker127(connack=5)
        cl = client(broker)
        task = cl.start()
        await until(lambda: cl.refused == 5 and cl.attempts >= 2, "refused twice")
        assert not task.done() and not cl.connected
        await cl.close()

    run(main())


def test_a_broker_name_is_looked_up_once_and_again_only_after_failures() -> None:
    async def main() -> None:
        broker = Broker127()
        asked: list[str] = []
        hosts: list[str] = []

        async def opener(host: str, port: int, ssl: object, server_hostname: str | None) -> tuple[object, object]:
            hosts.append(host)
            return await broker.open_connection(host, port, ssl, server_hostname)

        def resolver(host: str, port: int) -> str:
            asked.append(host)
            return "192.168.10.%d" % (len(asked) + 1)

        cl = host.HostClient(
            "kp-1", "broker.hall.local", 8883, backoff_base=0.01, backoff_cap=0.02, keepalive=60,
            connect_timeout=0.2, send_timeout=0.2, open_connection=opener, resolver=resolver,
        )  # fmt: skip
        assert cl.server_hostname == "broker.hall.local"  # TLS checks the name, not the address
        cl.start()
        await until(lambda: cl.connected, "connected")
        for _ in range(2):  # reconnects reuse the cached address
            cl.drop_link()
            await until(lambda n=cl.connects: cl.connects > n, "reconnected")
        assert asked == ["broker.hall.local"] and set(hosts) == {"192.168.10.2"}
        broker.handshake = "stall"  # the broker moved or died: after 3 failures, look up again
        cl.drop_link()
        await until(lambda: len(asked) == 2, "a second lookup")
        broker.handshake = "ok"
        await until(lambda: cl.connected and hosts[-1] == "192.168.10.3", "connected to the new address")
        await cl.close()

    run(main())


def test_an_ip_broker_is_never_looked_up() -> None:
    def resolver(host: str, port: int) -> str:
        raise AssertionError("no lookup for an IP")

    async def main() -> None:
        broker = Broker127()
        cl = client(broker, resolver=resolver)
        cl.host = "192.168.10.1"
        cl.start()
        await until(lambda: cl.connected, "connected")
        await cl.close()

    run(main())
