"""The impairment proxy: one TCP listener per keypad in front of the broker's TLS port.

Bytes pass through unchanged (TLS end to end); per keypad ``Link`` holds
the impairments: latency and jitter (order kept), a stall (bytes held, the
connection stays), a drop (the connection reset now) and a blackout
(connections reset and refused until it ends).  Runs on the rig's asyncio
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass, field

__all__ = ["LISTEN_HOST", "Link", "Proxy"]


LISTEN_HOST = "127.0.0.1"  # where the per-keypad listeners are


@dataclass
class Link:
    device_id: str
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    stalled_until: float = 0.0
    blackout_until: float = 0.0
    connections: int = 0
    refused: int = 0
    resets: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def delay(self, rng: random.Random) -> float:
        if not self.latency_ms and not self.jitter_ms:
            return 0.0
        return max(0.0, self.latency_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000

    def dark(self) -> bool:
        return time.monotonic() < self.blackout_until


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()


class Proxy:
    """Listeners for keypads (``add``) forwarding to ``target``; impair with the Link of a device."""

    def __init__(self, target_host: str, target_port: int, seed: int = 0) -> None:
        self.target = (target_host, target_port)
        self.links: dict[str, Link] = {}
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self.rng = random.Random(seed)

    async def add(self, device_id: str) -> int:
        link = self.links.setdefault(device_id, Link(device_id))
        server = await asyncio.start_server(lambda r, w: self._serve(link, r, w), LISTEN_HOST, 0)
        self._servers.append(server)
        port = int(server.sockets[0].getsockname()[1])
        self.ports[device_id] = port
        return port

    def drop(self, device_id: str) -> None:
        link = self.links[device_id]
        for w in list(link.writers):
            _reset(w)
            link.resets += 1
        link.writers.clear()

    def blackout(self, device_id: str, seconds: float) -> None:
        self.links[device_id].blackout_until = time.monotonic() + seconds
        self.drop(device_id)

    def stall(self, device_id: str, seconds: float) -> None:
        self.links[device_id].stalled_until = time.monotonic() + seconds

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for dev in self.links:
            self.drop(dev)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _serve(self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if link.dark():
            link.refused += 1
            _reset(writer)
            return
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        link.connections += 1
        link.writers.update((writer, up_w))
        await asyncio.gather(
            self._pump(link, reader, up_w, True),
            self._pump(link, up_r, writer, False),
            return_exceptions=True,
        )
        for w in (writer, up_w):
            link.writers.discard(w)
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(self, link: Link, src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
        last = 0.0
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                at = max(last, time.monotonic() + link.delay(self.rng))
                last = at
                while True:  # latency, then any stall (bytes held, connection kept)
                    wait = max(at, link.stalled_until) - time.monotonic()
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                if link.dark() or dst.is_closing():
                    break
                if up:
                    link.bytes_up += len(data)
                else:
                    link.bytes_down += len(data)
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()
