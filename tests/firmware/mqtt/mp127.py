"""A link that behaves like MicroPython 1.27's asyncio streams over TLS, for CPython tests.

What it models (read from the 1.27 ``extmod/asyncio`` sources and the ESP32
port's ``ssl`` module), because these are what a keypad meets in a hall and
CPython's asyncio does differently:

* ``open_connection(..., ssl=ctx)`` returns as soon as TCP is connected; the
  TLS handshake runs inside the first write (``Stream.write`` tries the
  socket at once, ``drain`` finishes it).  A broker that accepts TCP and
  then says nothing leaves that drain waiting; a certificate the keypad
  refuses raises ``ValueError`` (not ``OSError``) out of the drain.
* One I/O-queue entry per socket holds the task waiting to read and the task
  waiting to write.  When either wait is cancelled (``wait_for`` timing out)
  the *whole* entry is removed, so the other task is never woken again
  (it is orphaned).
* The kernel send buffer is finite (``sndbuf`` bytes): a broker that stops
  reading makes ``drain`` wait for writability.

The broker end answers CONNECT with CONNACK (``connack`` return code),
QoS 1 PUBLISH with PUBACK, SUBSCRIBE with SUBACK and PINGREQ with PINGRESP,
reading only while ``reading`` is true.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from firmware.mqtt import codec as c

__all__ = ["Broker127", "Conn127"]


class _IOQueue:
    """The per-socket entry of MicroPython's ``IOQueue``: ``[reader, writer]`` futures."""

    def __init__(self) -> None:
        self.entry: list[asyncio.Future[None] | None] | None = None
        self.orphaned = 0

    def wait(self, idx: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.entry is None:
            self.entry = [None, None]
        assert self.entry[idx] is None, "two tasks wait on the same direction of one socket"
        self.entry[idx] = fut
        return fut

    def waiting(self, idx: int) -> bool:
        return self.entry is not None and self.entry[idx] is not None

    def wake(self, idx: int) -> None:
        e = self.entry
        if e is None or e[idx] is None:
            return
        fut = e[idx]
        e[idx] = None
        if e[0] is None and e[1] is None:
            self.entry = None
        assert fut is not None
        if not fut.done():
            fut.set_result(None)

    def remove(self) -> None:
        """A cancelled wait: MicroPython deletes the socket's whole entry."""
        e = self.entry
        if e is not None:
            self.orphaned += sum(1 for f in e if f is not None and not f.done()) - 1
        self.entry = None


class Conn127:
    """One connection: the keypad's ``Stream`` (reader and writer are the same object)."""

    def __init__(self, broker: Broker127) -> None:
        self.broker = broker
        self.q = _IOQueue()
        self.out_buf = b""  # Stream.out_buf
        self.sock_buf = bytearray()  # in the kernel, not yet read by the broker
        self.rx = bytearray()  # from the broker, not yet read by the keypad
        self.handshaken = False
        self.closed = False
        self.parser = c.Parser()
        self.received: list[c.Packet] = []

    # --- the socket (non-blocking; None means EAGAIN)

    def _writable(self) -> bool:
        if self.closed:
            return True  # an error is "ready": the next call raises
        if not self.handshaken:
            return self.broker.mode() != "stall"
        return len(self.sock_buf) < self.broker.sndbuf

    def _sock_write(self, data: bytes) -> int | None:
        if self.closed:
            raise OSError(9, "EBADF")
        if not self.handshaken:
            mode = self.broker.mode()
            if mode == "stall" or not self.q_attempted:
                self.q_attempted = True
                return None  # ClientHello sent, waiting for the server
            if mode == "cert":
                raise ValueError("MBEDTLS_ERR_X509_CERT_VERIFY_FAILED")
            self.handshaken = True
        room = self.broker.sndbuf - len(self.sock_buf)
        if room <= 0:
            return None
        n = min(room, len(data))
        self.sock_buf += data[:n]
        self.broker.kick(self)
        return n

    q_attempted = False

    def poll(self) -> None:
        """What ``IOQueue.wait_io_event`` does: wake the waiters whose condition holds."""
        if self.q.waiting(0) and (self.rx or self.closed):
            self.q.wake(0)
        if self.q.waiting(1) and self._writable():
            self.q.wake(1)

    async def _wait(self, idx: int) -> None:
        fut = self.q.wait(idx)
        asyncio.get_running_loop().call_soon(self.poll)
        try:
            await fut
        except asyncio.CancelledError:
            self.q.remove()
            raise

    # --- the Stream API the client uses

    async def read(self, n: int) -> bytes:
        await self._wait(0)
        if not self.rx:
            return b""
        data = bytes(self.rx[:n])
        del self.rx[:n]
        return data

    def write(self, buf: bytes) -> None:
        if not self.out_buf:
            ret = self._sock_write(bytes(buf))
            if ret == len(buf):
                return
            if ret is not None:
                buf = buf[ret:]
        self.out_buf += bytes(buf)

    async def drain(self) -> None:
        if not self.out_buf:
            await asyncio.sleep(0)
            return
        mv = self.out_buf
        off = 0
        while off < len(mv):
            await self._wait(1)
            ret = self._sock_write(mv[off:])
            if ret is not None:
                off += ret
        self.out_buf = b""

    def close(self) -> None:
        self.closed = True
        self.poll()

    # --- the broker side

    def deliver(self, data: bytes) -> None:
        self.rx += data
        self.poll()


class Broker127:
    """The broker end of every :class:`Conn127` it opens (see the module docstring).

    ``handshake``: "ok", "stall" (accepts TCP, never answers the ClientHello)
    or "cert" (the keypad refuses its certificate: ``ValueError``), or a
    function returning one of those at each handshake (e.g. from the keypad's clock).
    """

    def __init__(self, handshake: str | Callable[[], str] = "ok", sndbuf: int = 4096, connack: int = 0) -> None:
        self.handshake = handshake
        self.sndbuf = sndbuf
        self.connack = connack
        self.reading = True
        self.conns: list[Conn127] = []
        self.publishes: list[c.Publish] = []

    async def open_connection(self, host: str, port: int, ssl: Any, server_hostname: str | None) -> tuple[Any, Any]:
        await asyncio.sleep(0)  # TCP connected: that is all open_connection waits for
        conn = Conn127(self)
        self.conns.append(conn)
        return conn, conn

    def mode(self) -> str:
        return self.handshake() if callable(self.handshake) else self.handshake

    def set_reading(self, on: bool) -> None:
        self.reading = on
        for conn in self.conns:
            self.kick(conn)

    def kick(self, conn: Conn127) -> None:
        asyncio.get_running_loop().call_soon(self._consume, conn)

    def _consume(self, conn: Conn127) -> None:
        if not self.reading or conn.closed or not conn.sock_buf:
            return
        data = bytes(conn.sock_buf)
        conn.sock_buf.clear()
        for pkt in conn.parser.feed(data):
            conn.received.append(pkt)
            if isinstance(pkt, c.Connect):
                conn.deliver(c.Connack(False, self.connack).encode())
            elif isinstance(pkt, c.Publish):
                self.publishes.append(pkt)
                if pkt.qos and pkt.packet_id is not None:
                    conn.deliver(c.Puback(pkt.packet_id).encode())
            elif isinstance(pkt, c.Subscribe):
                conn.deliver(c.Suback(pkt.packet_id, [1] * len(pkt.topics)).encode())
            elif isinstance(pkt, c.Pingreq):
                conn.deliver(c.Pingresp().encode())
        conn.poll()  # room in the send buffer again
