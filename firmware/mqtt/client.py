"""The keypad's MQTT 3.1.1 client: non-blocking, over asyncio streams.

Runs on MicroPython (1.22+ asyncio: ``open_connection(host, port, ssl=ctx,
server_hostname=...)``, ``Event``, ``Lock``, ``wait_for``, ``sleep``,
``create_task``) and CPython alike; nothing outside that common subset is
used.  TLS comes from an ``ssl.SSLContext`` the caller passes in (see
:func:`tls_context`).

Behaviour:

* :meth:`MQTTClient.run` is the one outer loop: connect, serve, and on link
  loss (``OSError``, a timeout, a refused CONNACK, a protocol error from
  the broker, or ``ValueError``, which is how MicroPython 1.27's TLS layer
  reports a certificate or handshake failure) wait a jittered exponential
  backoff (:class:`Backoff`, full jitter, injected random source) and
  connect again.  Nothing else catches link errors, and nothing ends the
  task but :meth:`close`: any other exception is counted in ``faults`` and
  treated like link loss.
* The broker is best given as an IP address.  A name is looked up once
  (``socket.getaddrinfo`` blocks the whole loop while it runs) and the
  address reused for every reconnect; it is looked up again only after
  ``resolve_after`` (3) connection attempts in a row failed.  The TLS name
  checked is still the name (``server_hostname``).
* Every network wait has a bound.  On MicroPython 1.27
  ``open_connection`` returns once TCP is up and the TLS handshake runs
  inside the first write, so the CONNECT write is bounded by
  ``connect_timeout`` (TCP, handshake and CONNACK each), every later drain
  by ``send_timeout``; a send that times out is link loss.
* One reader task per connection reads with no timeout and is never
  cancelled while the link is up: MicroPython's asyncio keeps one I/O-queue
  entry per socket for its reader and writer together and removes the whole
  entry when either wait is cancelled, so cancelling a periodic read would
  leave a concurrent drain waiting forever.  Timeouts (keepalive, a silent
  broker) are checked by the session loop, which waits on an ``Event``, not
  on the socket; an I/O wait is cancelled only when the link is torn down.
* QoS 0 and 1 publishes.  A QoS 1 message stays in flight until its PUBACK;
  after a reconnect every un-acknowledged one is sent again with the DUP flag
  and its packet id.  Publishes made while offline wait in a bounded queue
  (oldest dropped first, counted in ``dropped``) and go out after the
  reconnect, in order.
* The subscriptions (``_subs``: what :func:`for_device` sets, the keypad's
  downlink and the hall broadcasts) are made again on every connect; their
  SUBACK is not waited for.  Inbound messages go to the
  ``on_message(topic, payload, retained)`` callback; a callback that raises
  is counted in ``callback_errors`` and never stops the loop.  Inbound QoS 1
  is acknowledged after the callback ran.
* Packets are the bytes :mod:`firmware.mqtt.packets` makes, encoded once:
  the CONNECT when the client is made (bad settings fail at once), a
  PUBLISH when it is posted (a bad topic or payload fails in :meth:`post`).
* Keepalive: a PINGREQ when nothing was sent or received for half the
  keepalive; no PINGRESP within another half means the link is dead.
* Last will and a "birth" message published on every connect (the keypad's
  presence, see :func:`for_device`).

This is what the keypad runs: it posts with :meth:`MQTTClient.post` and
never subscribes at run time.  :class:`firmware.mqtt.host.HostClient` adds
what a host program or a test wants (an awaitable publish, subscribe with
the broker's answer, ``wait_connected``, ``pending``, ``drop_link``).
"""

import asyncio
import sys
import time

from . import packets as mp

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable

    Message = tuple[str, bytes, int, bool]  # (topic, payload, qos, retain)
    Opener = Callable[[str, int, Any, "str | None"], Awaitable[tuple[Any, Any]]]
    Outgoing = tuple["int | None", bytes]  # (packet id at QoS 1 or None, the PUBLISH's bytes)

__all__ = ("Backoff", "MQTTClient", "MQTTConnectError", "for_device", "tls_context")

# What the broker sends (the first item of a firmware.mqtt.packets tuple)
_CONNACK = const(2)
_PUBLISH = const(3)
_PUBACK = const(4)
_PINGRESP = const(13)
_DUP = const(0x08)  # PUBLISH fixed-header flag: a resend

# ---------------------------------------------------------------- the link
# A millisecond clock, the reconnect backoff, the broker's address, the TCP/TLS opener and the
# TLS context: no session state.  (One module with the session: less heap on the keypad than two.)

_TICKS_MS = getattr(time, "ticks_ms", None)  # MicroPython
_TICKS_DIFF = getattr(time, "ticks_diff", None)


def _ticks() -> int:
    if _TICKS_MS is not None:
        return int(_TICKS_MS())
    return int(time.monotonic() * 1000)


def _elapsed(since: int) -> int:
    """Milliseconds from ``since`` (a ``_ticks()`` value) to now."""
    if _TICKS_DIFF is not None:
        return int(_TICKS_DIFF(_ticks(), since))
    return _ticks() - since


def _default_rand() -> float:
    """A float in [0, 1) from the hardware/OS RNG, so keypads booted together differ."""
    try:
        import os

        b = os.urandom(4)
        return ((b[0] << 16) | (b[1] << 8) | b[2]) / 16777216.0
    except (ImportError, AttributeError, OSError, NotImplementedError):
        import random

        return random.getrandbits(24) / 16777216.0


class MQTTConnectError(mp.MQTTError):
    """The broker refused the connection; ``code`` is the CONNACK return code (1..5)."""

    def __init__(self, code: int) -> None:
        text = mp.CONNACK_MESSAGES[code] if 0 <= code <= 5 else "?"
        mp.MQTTError.__init__(self, "connection refused (%d: %s)" % (code, text))
        self.code = code


class Backoff:
    """Full-jitter exponential backoff: ``delay = rand() * min(cap, base * 2**attempt)``.

    With full jitter the first retries of thousands of keypads that lost the
    broker at the same instant spread evenly over ``[0, base)`` instead of
    arriving together.  ``rand`` returns a float in ``[0, 1)``.
    """

    def __init__(
        self, base: float = 1.0, cap: float = 60.0, rand: "Callable[[], float] | None" = None
    ) -> None:
        if not base > 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.rand = rand if rand is not None else _default_rand
        self.attempt = 0

    def next(self) -> float:
        """The next delay in seconds; each call doubles the ceiling up to ``cap``."""
        delay = self.rand() * min(self.cap, self.base * (1 << self.attempt))
        if self.attempt < 30:  # 2**30 times base is past any cap
            self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def _is_ip(host: str) -> bool:
    """A dotted IPv4 literal (no resolver needed)."""
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts)


def _default_resolver(host: str, port: int) -> str:
    """The first address of ``host`` (a blocking lookup: done once, then cached)."""
    import socket

    return str(socket.getaddrinfo(host, port)[0][-1][0])


async def _open_connection(
    host: str, port: int, ssl: "Any", server_hostname: "str | None"
) -> "tuple[Any, Any]":
    if ssl is None:
        return await asyncio.open_connection(host, port)
    return await asyncio.open_connection(host, port, ssl=ssl, server_hostname=server_hostname)


def tls_context(cafile: "str | None" = None, cadata: "Any" = None) -> "Any":
    """A client TLS context that trusts only the given CA (the hall CA) and checks the host.

    ``cafile`` is a path; ``cadata`` the CA certificate itself (PEM text on
    CPython; on MicroPython what its ``load_verify_locations`` accepts).
    """
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if hasattr(ctx, "check_hostname"):
        ctx.check_hostname = True
    if cafile is not None:
        ctx.load_verify_locations(cafile=cafile)
    if cadata is not None:
        ctx.load_verify_locations(cadata=cadata)
    return ctx


# ---------------------------------------------------------------- the session

# MicroPython's asyncio.TimeoutError is its own class, not the builtin TimeoutError
# (which MicroPython lacks), and MicroPython has no contextlib: hence the spelling below.
_TIMEOUT = asyncio.TimeoutError


class MQTTClient:
    """One MQTT 3.1.1 connection, kept up by :meth:`run`.

    ``will`` and ``birth`` are ``(topic, payload, qos, retain)`` or None.
    ``open_connection(host, port, ssl, server_hostname)`` may be replaced to
    put an impaired or in-memory link under the client (tests, hil/).
    """

    def __init__(
        self,
        client_id: str,
        host: str,
        port: int = 8883,
        username: "str | None" = None,
        password: "str | bytes | None" = None,
        ssl: "Any" = None,
        server_hostname: "str | None" = None,
        keepalive: int = 60,
        clean_session: bool = True,
        will: "Message | None" = None,
        birth: "Message | None" = None,
        on_message: "Callable[[str, bytes, bool], object] | None" = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rand: "Callable[[], float] | None" = None,
        sleep: "Callable[[float], Awaitable[object]] | None" = None,
        connect_timeout: float = 10.0,
        send_timeout: float = 10.0,
        queue_max: int = 32,
        max_inflight: int = 8,
        max_packet: int = 16384,
        open_connection: "Opener | None" = None,
        resolver: "Callable[[str, int], str] | None" = None,
        resolve_after: int = 3,
    ) -> None:
        self.client_id = client_id
        self.host = host
        self.port = port
        self.ssl = ssl
        self.server_hostname = server_hostname if server_hostname is not None else host
        self.keepalive = keepalive
        self.birth = birth
        self.on_message = on_message
        self.backoff = Backoff(backoff_base, backoff_cap, rand)
        self._sleep: Callable[[float], Awaitable[object]] = sleep if sleep is not None else asyncio.sleep
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.queue_max = queue_max
        self.max_inflight = max_inflight
        self.max_packet = max_packet
        self._open: Opener = open_connection if open_connection is not None else _open_connection
        # A broker name is looked up once and the address reused (a lookup blocks the whole
        # loop); looked up again after ``resolve_after`` failed connects.  An IP is used as is.
        if resolver is None and open_connection is None:
            resolver = _default_resolver
        self._resolver = resolver
        self.resolve_after = resolve_after
        self.address: str | None = host if _is_ip(host) else None
        self.lookups = 0
        self._failed_since_lookup = 0
        # the CONNECT packet, encoded once: bad settings fail here, at once
        self._connect = mp.connect(client_id, clean_session, keepalive, will, username, password)

        self.connected = False
        self.connects = 0  # CONNACKs accepted
        self.attempts = 0  # connection attempts
        self.dropped = 0  # messages dropped from the offline queue or lost as QoS 0
        self.callback_errors = 0
        self.tls_errors = 0  # ValueError from the TLS layer (MicroPython 1.27: certificate, handshake)
        self.send_timeouts = 0
        self.faults = 0  # unexpected exceptions in a session, survived as link loss
        self.pings = 0
        self.refused: int | None = None  # last CONNACK refusal, None after an accepted one
        self.last_error: BaseException | None = None

        self._inflight: list[Outgoing] = []  # QoS 1 awaiting PUBACK, in send order
        self._queue: list[Outgoing] = []  # not yet sent
        self._subs: list[tuple[str, int]] = []  # (filter, qos) renewed on every connect
        self._pid = 0
        self._writer: Any = None
        self._rtask: Any = None  # the reader task of the current connection
        self._rerror: BaseException | None = None
        self._wake = asyncio.Event()  # set by the reader on data, error or close
        self._connack: tuple[Any, ...] | None = None
        self._broken = False
        self._closing = False
        self._task: Any = None
        self._lock = asyncio.Lock()
        self._last_tx = _ticks()
        self._last_rx = _ticks()
        self._ping_at: int | None = None

    # ------------------------------------------------------------ public API

    def start(self) -> "Any":
        """Run :meth:`run` as a task and return it."""
        self._closing = False
        self._task = asyncio.create_task(self.run())
        return self._task

    async def run(self) -> None:
        """Connect and stay connected until :meth:`close`; the one place link loss is caught."""
        while not self._closing:
            try:
                await self._session()
            except (OSError, EOFError, _TIMEOUT, mp.MQTTError) as e:
                self.last_error = e
                if isinstance(e, MQTTConnectError):
                    self.refused = e.code
            except ValueError as e:  # MicroPython 1.27: TLS certificate / handshake failure
                self.tls_errors += 1
                self.last_error = e
            except Exception as e:  # a bug must not end the task: count it, back off, retry
                self.faults += 1
                self.last_error = e
            finally:
                self._teardown()
            if self._closing:
                break
            await self._sleep(self.backoff.next())

    def post(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> "int | None":
        """Queue a message for the client task to send; never waits on the network.

        Returns the packet id (QoS 1) or None.  A bad topic or payload raises
        ``MQTTProtocolError`` now, not at send time.  A full queue drops its
        oldest message (counted in ``dropped``).  The keypad's loop uses this,
        so a stalled link can slow only the client task (whose every wait is
        bounded), never key scanning or the watchdog.
        """
        if qos not in (0, 1):
            raise mp.MQTTProtocolError("this client publishes QoS 0 or 1, not %r" % (qos,))
        pid = self._next_pid() if qos else None
        data = mp.publish(topic, payload, qos, retain, False, pid)
        if len(self._queue) >= self.queue_max:
            self._queue.pop(0)
            self.dropped += 1
        self._queue.append((pid, data))
        self._wake.set()
        return pid

    async def close(self, disconnect: bool = True) -> None:
        """Stop. ``disconnect=False`` drops the socket without DISCONNECT: the will is sent."""
        self._closing = True
        if disconnect and self.connected:
            try:  # noqa: SIM105
                await asyncio.wait_for(self._send(mp.DISCONNECT_PACKET), 2)
            except (OSError, _TIMEOUT):
                pass
        self._teardown()
        await self._stop_task()

    # ------------------------------------------------------------ the session

    async def _session(self) -> None:
        self.attempts += 1
        self._broken = False
        self._ping_at = None
        self._rerror = None
        self._connack = None
        self._wake.clear()
        reader, self._writer = await asyncio.wait_for(
            self._open(self._target(), self.port, self.ssl, self.server_hostname),
            self.connect_timeout,
        )
        # MicroPython 1.27 runs the TLS handshake inside this first write: bounded here.
        await self._send(self._connect, self.connect_timeout)
        self._rtask = asyncio.create_task(self._read_loop(reader))
        if not await self._wait_wake(self.connect_timeout, lambda: self._connack is not None):
            raise OSError("no CONNACK within %s s" % self.connect_timeout)
        code = self._connack[2]  # type: ignore[index]
        if code:
            raise MQTTConnectError(code)

        self.connected = True
        self._failed_since_lookup = 0
        self.connects += 1
        self.refused = None
        self.backoff.reset()
        self._last_rx = _ticks()
        if self.birth:  # first in the queue, before anyone can publish on this link
            topic, payload, qos, retain = self.birth
            pid = self._next_pid() if qos else None
            self._queue.insert(0, (pid, mp.publish(topic, payload, qos, retain, False, pid)))
        for _, data in self._inflight:  # not acknowledged on the last link: send again, marked DUP
            await self._send(bytes((data[0] | _DUP,)) + data[1:])
        if self._subs:
            await self._send(mp.subscribe(self._next_pid(), self._subs))
        await self._pump()
        await self._serve()

    def _target(self) -> str:
        """Where to connect: the IP, the cached lookup, or (no resolver) the host as given."""
        resolver = self._resolver
        if resolver is None or _is_ip(self.host):
            return self.host
        if self.address is None or self._failed_since_lookup >= self.resolve_after:
            self._failed_since_lookup = 0
            self.lookups += 1
            self.address = resolver(self.host, self.port)  # OSError: link loss, retried later
        self._failed_since_lookup += 1  # cleared by the CONNACK
        return self.address

    async def _wait_wake(self, timeout: float, done: "Callable[[], bool]") -> bool:
        """Wait (on the reader's Event, never on the socket) until ``done()`` or ``timeout``
        seconds; raises what the reader hit."""
        start = _ticks()
        while True:
            if self._rerror is not None:
                raise self._rerror
            if self._broken:
                raise OSError("link lost")
            if done():
                return True
            left = timeout * 1000 - _elapsed(start)
            if left <= 0:
                return False
            self._wake.clear()
            try:  # noqa: SIM105  (MicroPython has no contextlib)
                await asyncio.wait_for(self._wake.wait(), left / 1000)
            except _TIMEOUT:
                pass

    async def _read_loop(self, reader: "Any") -> None:
        """The connection's only reader: no timeout, never cancelled while the link is up."""
        buf = b""
        try:
            while True:
                data = await reader.read(512)
                if not data:
                    raise OSError("connection closed by the broker")
                self._last_rx = _ticks()
                buf += data
                while buf:
                    pkt, used = mp.parse(buf, self.max_packet)
                    if pkt is None:
                        break
                    buf = buf[used:]
                    if self._connack is None:
                        if pkt[0] != _CONNACK:
                            raise mp.MQTTProtocolError("expected CONNACK, got packet type %d" % pkt[0])
                        self._connack = pkt
                        self._wake.set()
                        if pkt[2]:  # refused: the session ends
                            return
                        continue
                    await self._handle(pkt)
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # ValueError (TLS) included: the session loop raises it
            if self._rerror is None:
                self._rerror = e
            self._wake.set()

    async def _serve(self) -> None:
        """Send what :meth:`post` queued and keep the link alive: a PINGREQ after half the
        keepalive without traffic either way, link loss after another half without PINGRESP."""
        keepalive = self.keepalive
        tick = min(max(keepalive / 4, 0.05), 5.0) if keepalive else 5.0
        half = keepalive * 500  # ms
        while True:
            await self._wait_wake(tick, lambda: False)
            if self._closing:
                raise OSError("client closing")
            await self._pump()
            if not keepalive:
                continue
            if self._ping_at is not None:
                if _elapsed(self._ping_at) > half:
                    raise OSError("keepalive: no PINGRESP")
            elif _elapsed(self._last_tx) >= half or _elapsed(self._last_rx) >= half:
                self._ping_at = _ticks()
                self.pings += 1
                await self._send(mp.PINGREQ_PACKET)

    async def _handle(self, pkt: "tuple[Any, ...]") -> None:
        kind = pkt[0]
        if kind == _PUBLISH:
            _, topic, payload, qos, retain, _, pid = pkt
            if qos == 2:
                raise mp.MQTTProtocolError("QoS 2 delivery, but we never subscribe above QoS 1")
            if self.on_message is not None:
                try:
                    self.on_message(topic, payload, retain)
                except Exception as e:  # one bad message never stops the loop
                    self.callback_errors += 1
                    self.last_error = e
            if qos:  # the codec guarantees an id
                await self._send(mp.puback(pid))
        elif kind == _PUBACK:
            self._inflight = [m for m in self._inflight if m[0] != pkt[1]]
            await self._pump()
        elif kind == _PINGRESP:
            self._ping_at = None
        elif kind == _CONNACK:
            raise mp.MQTTProtocolError("a second CONNACK from the broker")
        # a SUBACK answers the subscriptions renewed on connect: nothing waits for it

    # ------------------------------------------------------------ sending

    async def _send(self, data: bytes, timeout: "float | None" = None) -> None:
        """Write one packet and drain it within ``timeout`` (default ``send_timeout``) seconds.

        A timeout or a TLS error (``ValueError`` on MicroPython 1.27) is link loss:
        the socket is closed at once and ``OSError`` raised.
        """
        writer = self._writer
        if writer is None:
            raise OSError("not connected")
        async with self._lock:
            if self._writer is not writer or self._broken:
                raise OSError("link lost")
            try:
                writer.write(data)  # MicroPython: tries the socket at once (may raise)
                await asyncio.wait_for(writer.drain(), self.send_timeout if timeout is None else timeout)
            except _TIMEOUT:
                self.send_timeouts += 1
                err = OSError("send not drained in time")
                self._link_lost(err)
                raise err from None
            except ValueError as e:
                self.tls_errors += 1
                self._link_lost(e)
                raise OSError("TLS: %s" % (e,)) from e
        self._last_tx = _ticks()

    async def _pump(self) -> None:
        """Send queued messages in order while connected and the in-flight window has room."""
        while self.connected and self._queue:
            head = self._queue[0]
            if head[0] and len(self._inflight) >= self.max_inflight:
                return
            self._queue.pop(0)
            if head[0]:
                self._inflight.append(head)
            try:
                await self._send(head[1])
            except OSError:
                if not head[0]:
                    self.dropped += 1
                raise

    def _next_pid(self) -> int:
        """The next packet id (1..65535, wrapping) not held by a queued or in-flight message."""
        busy = [m[0] for m in self._inflight + self._queue]
        while True:
            self._pid = self._pid % 0xFFFF + 1
            if self._pid not in busy:
                return self._pid

    # ------------------------------------------------------------ teardown

    def _link_lost(self, error: BaseException) -> None:
        self.last_error = error
        self._broken = True
        self._wake.set()
        self._close()

    def _close(self) -> None:
        """Close the socket and stop the reader task (unless it is the caller)."""
        writer = self._writer
        if writer is not None:
            try:  # noqa: SIM105
                writer.close()
            except Exception:
                pass
            sock = getattr(writer, "s", None)  # MicroPython's Stream.close() leaves the socket open
            if sock is not None:
                try:  # noqa: SIM105
                    sock.close()
                except Exception:
                    pass
        task = self._rtask
        self._rtask = None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    def _teardown(self) -> None:
        self._close()
        self._writer = None
        self.connected = False
        self._ping_at = None

    async def _stop_task(self) -> None:
        """Stop the run task (``_closing`` is already set, so it also stops by itself)."""
        task = self._task
        self._task = None
        current = asyncio.current_task()
        if task is None or task is current:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # ours to swallow only if it was the run task that got cancelled, not our caller
            cancelling = getattr(current, "cancelling", None)
            if cancelling is not None and cancelling():
                raise
        except Exception:
            pass


def for_device(
    hall: str,
    device_id: str,
    password: "str | bytes",
    host: str,
    port: int = 8883,
    ssl: "Any" = None,
    server_hostname: "str | None" = None,
    cls: "type[MQTTClient] | None" = None,
    **kw: "Any",
) -> MQTTClient:
    """The keypad's client: username and client id = device id, presence as will and birth,
    subscribed to its own downlink and the hall broadcasts (exactly what the ACL allows).
    ``cls``: a subclass to make instead (:class:`firmware.mqtt.host.HostClient`)."""
    from protocol import device as wire

    presence = wire.topic(hall, device_id, "presence")
    client = (cls or MQTTClient)(
        device_id,
        host,
        port,
        username=device_id,
        password=password,
        ssl=ssl,
        server_hostname=server_hostname,
        will=(presence, wire.PRESENCE_OFFLINE, 1, True),
        birth=(presence, wire.PRESENCE_ONLINE, 1, True),
        **kw,
    )
    client._subs = [(wire.topic(hall, device_id, "down"), 1), (wire.hall_filter(hall), 1)]
    return client
