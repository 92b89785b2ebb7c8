"""The impairment proxy against a plain echo server: latency keeps order, a blackout refuses, a drop resets."""

from __future__ import annotations

import asyncio

import pytest

from hil.rig.netem import Proxy


async def _echo_server() -> tuple[asyncio.base_events.Server, int]:
    async def echo(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(1024):
                w.write(data)
                await w.drain()
        except ConnectionError:
            pass
        w.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def _closed(r: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(r.read(10), 5) == b""
    except ConnectionError:
        return True


def test_latency_order_blackout_and_drop() -> None:
    async def main() -> None:
        server, port = await _echo_server()
        proxy = Proxy("127.0.0.1", port, seed=1)
        p = await proxy.add("kp-1")
        link = proxy.links["kp-1"]
        link.latency_ms, link.jitter_ms = 40, 30
        r, w = await asyncio.open_connection("127.0.0.1", p)
        for i in range(20):
            w.write(b"%02d" % i)
            await asyncio.sleep(0.002)
        await w.drain()
        got = b""
        while len(got) < 40:
            got += await asyncio.wait_for(r.read(100), 5)
        assert got == b"".join(b"%02d" % i for i in range(20))  # jitter never reorders
        assert link.bytes_up == 40 and link.bytes_down == 40

        proxy.blackout("kp-1", 0.5)  # the open connection is reset ...
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            data = await asyncio.wait_for(r.read(10), 5)
            if not data:
                raise ConnectionResetError
        r2, _w2 = await asyncio.open_connection("127.0.0.1", p)  # ... and a new one refused while dark
        assert await _closed(r2)
        assert link.refused == 1
        await asyncio.sleep(0.6)
        link.latency_ms = link.jitter_ms = 0
        r3, w3 = await asyncio.open_connection("127.0.0.1", p)
        w3.write(b"hi")
        assert await asyncio.wait_for(r3.read(10), 5) == b"hi"
        proxy.stall("kp-1", 0.5)
        w3.write(b"held")
        reading = asyncio.ensure_future(r3.read(10))
        done, _ = await asyncio.wait({reading}, timeout=0.1)
        assert not done and link.bytes_up == 42  # held while stalled, the connection kept ...
        got = await asyncio.wait_for(reading, 5)
        while len(got) < 4:  # ... and delivered after
            got += await asyncio.wait_for(r3.read(10), 5)
        assert got == b"held"
        proxy.drop("kp-1")
        assert await _closed(r3)
        await proxy.close()
        server.close()

    asyncio.run(main())
