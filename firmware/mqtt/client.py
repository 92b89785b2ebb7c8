"""The keypad's MQTT 3.1.1 client: non-blocking, over asyncio streams.

Runs on MicroPython (1.22+ asyncio: ``open_connection(host, port, ssl=ctx,
server_hostname=...)``, ``Event``, ``Lock``, ``wait_for``, ``sleep``,
``create_task``) and CPython alike; nothing outside that common subset is
used.  TLS comes from an ``ssl.SSLContext`` the caller passes in (see
:func:`firmware.mqtt.connect.tls_context`).

Two modules, so that the keypad keeps only what it needs online:

* this one, loaded for good: the session (keepalive, the queue, QoS 1,
  the reader, the bounded sends, teardown), the packets it sends online
  (:func:`publish`, PUBACK, :data:`PINGREQ_PACKET`)
  and :func:`parse` for every packet it receives;
* :mod:`firmware.mqtt.connect`, the connect path: the keypad's client
  (``for_device``) and its TLS context, the client's construction
  (``setup``: every attribute, declared on :class:`MQTTClient`), the CONNECT and SUBSCRIBE packets,
  the CONNACK check, the reconnect backoff, the broker's address and the
  TCP/TLS opener, and :meth:`~MQTTClient.close` with its DISCONNECT.  It is
  loaded when the client is made, after a link loss and to close, and
  unloaded (``firmware.unload``) once the session is online.

Behaviour:

* :meth:`MQTTClient.run` is the one outer loop: connect, serve, and on link
  loss (``OSError``, a timeout, a refused CONNACK, a protocol error from
  the broker, or ``ValueError``, which is how MicroPython 1.27's TLS layer
  reports a certificate or handshake failure) wait a jittered exponential
  backoff (:func:`firmware.mqtt.connect.backoff`, full jitter, injected
  random source) and connect again.  Nothing else catches link errors, and
  nothing ends the task but :meth:`close`: any other exception is counted in
  ``faults`` and treated like link loss.
* The broker is best given as an IP address.  A name is looked up once
  (``socket.getaddrinfo`` blocks the whole loop while it runs) and the
  address reused for every reconnect; it is looked up again only after
  ``resolve_after`` (3) connection attempts in a row failed.  The TLS name
  checked is still the name (``server_hostname``).
* Every network wait has a bound.  On MicroPython 1.27
  ``open_connection`` returns once TCP is up and the TLS handshake runs
  inside the first write, so the CONNECT write is bounded by
  ``connect_timeout`` (TCP, handshake and CONNACK each), every later drain
  by ``send_timeout``; a send that times out is link loss.  Loading the
  connect path is a read from flash, not a network wait.
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
* The subscriptions (``_subs``: what :func:`~firmware.mqtt.connect.for_device` sets, the keypad's
  downlink and the hall broadcasts) are made again on every connect; their
  SUBACK is not waited for.  Inbound messages go to the
  ``on_message(topic, payload, retained)`` callback; a callback that raises
  is counted in ``callback_errors`` and never stops the loop.  Inbound QoS 1
  is acknowledged after the callback ran.
* Packets are encoded once: the CONNECT when the client is made (bad
  settings fail at once), a PUBLISH when it is posted (a bad topic or
  payload fails in :meth:`post`).
* Keepalive: a PINGREQ when nothing was sent or received for half the
  keepalive; no PINGRESP within another half means the link is dead.
* Last will and a "birth" message published on every connect (the keypad's
  presence, see :func:`~firmware.mqtt.connect.for_device`).

This is what the keypad runs: it posts with :meth:`MQTTClient.post` and
never subscribes at run time.  :class:`firmware.mqtt.host.HostClient` adds
what a host program or a test wants (an awaitable publish, subscribe with
the broker's answer, ``wait_connected``, ``pending``, ``drop_link``).

MQTT 3.1.1 (OASIS standard, 2014) as this module speaks it: every packet is
``fixed header byte | remaining length (1..4 byte varint, at most
268435455) | body``; strings are UTF-8 with a 2-byte big-endian length,
never longer than 65535 bytes and never containing U+0000.  Decoding is
strict (see :func:`parse`) and encoding checks its arguments the same way;
both raise :class:`MQTTProtocolError` and nothing else.  The host's
:mod:`firmware.mqtt.codec` (both directions as packet classes, for test
brokers and benches; never on the keypad) encodes and decodes the keypad's
packets through these functions and :mod:`firmware.mqtt.connect`, so the two
agree byte for byte.
"""

import asyncio
import sys
import time

from firmware import unload

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Awaitable, Callable

    Message = tuple[str, bytes, int, bool]  # (topic, payload, qos, retain)
    Opener = Callable[[str, int, Any, "str | None"], Awaitable[tuple[Any, Any]]]
    Outgoing = tuple["int | None", bytes]  # (packet id at QoS 1 or None, the PUBLISH's bytes)
    Received = tuple[Any, ...]  # what parse() makes of a packet, see there

if sys.implementation.name != "micropython":  # the keypad imports names, never *
    __all__ = (
        "PINGREQ_PACKET",
        "MQTTClient",
        "MQTTConnectError",
        "MQTTError",
        "MQTTProtocolError",
        "frame",
        "parse",
        "publish",
    )

# Packet types (the fixed header's high nibble): what the broker sends, first in a parse() tuple
_CONNACK = const(2)
_PUBLISH = const(3)
_PUBACK = const(4)
_SUBACK = const(9)
_PINGRESP = const(13)
_DUP = const(0x08)  # PUBLISH fixed-header flag: a resend
_SUBACK_FAILURE = const(0x80)
_MAX_REMAINING = const(268435455)
_MAX_STRING = const(0xFFFF)

PINGREQ_PACKET = b"\xc0\x00"


class MQTTError(Exception):
    """Base of the client's MQTT errors."""


class MQTTProtocolError(MQTTError):
    """Bytes that are not a well-formed MQTT 3.1.1 packet, or values that cannot be encoded."""


class MQTTConnectError(MQTTError):
    """The broker refused the connection; ``code`` is the CONNACK return code (1..5).

    Made by :mod:`firmware.mqtt.connect` (which has the texts), defined here so
    that the class stays the same while that module is unloaded and loaded again."""

    code: int


def _connect_path() -> "ModuleType":
    """:mod:`firmware.mqtt.connect`, loaded if it is not (it is unloaded once online).

    Returned, never kept: a reference in a long-lived frame or attribute would keep its code."""
    from . import connect

    return connect


# ---------------------------------------------------------------- the clock

if sys.implementation.name == "micropython":  # the port's own millisecond clock, wrap-safe
    _ticks = time.ticks_ms  # type: ignore[attr-defined]
    _ticks_diff = time.ticks_diff  # type: ignore[attr-defined]
else:  # the other branch's functions are never made on the keypad (their code is left to the GC)

    def _ticks() -> int:
        return int(time.monotonic() * 1000)

    def _ticks_diff(now: int, since: int) -> int:
        return now - since


def _elapsed(since: int) -> int:
    """Milliseconds from ``since`` (a ``_ticks()`` value) to now."""
    return int(_ticks_diff(_ticks(), since))


# ---------------------------------------------------------------- packets


def publish(
    topic: str,
    payload: bytes,
    qos: int = 0,
    retain: bool = False,
    dup: bool = False,
    packet_id: "int | None" = None,
) -> bytes:
    """PUBLISH; ``packet_id`` (1..65535) is required at QoS 1 and 2 and absent at QoS 0, like DUP.
    The topic is one may publish to: non-empty, no ``+`` or ``#``."""
    if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
        raise MQTTProtocolError("bad topic")
    if not isinstance(qos, int) or isinstance(qos, bool) or not 0 <= qos <= 2:
        raise MQTTProtocolError("QoS %r" % (qos,))
    if "\x00" in topic:
        raise MQTTProtocolError("U+0000")
    name = topic.encode("utf-8")
    if len(name) > _MAX_STRING:
        raise MQTTProtocolError("long topic")
    first = (_PUBLISH << 4) | (qos << 1) | (1 if retain else 0)
    body = bytes((len(name) >> 8, len(name) & 0xFF)) + name
    if qos:
        pid = packet_id
        if not isinstance(pid, int) or isinstance(pid, bool) or not 1 <= pid <= 0xFFFF:
            raise MQTTProtocolError("packet id %r" % (pid,))
        body += bytes((pid >> 8, pid & 0xFF))
        if dup:
            first |= _DUP
    elif dup or packet_id is not None:
        raise MQTTProtocolError("QoS 0 DUP/id")
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise MQTTProtocolError("not bytes")
    body += bytes(payload)
    return frame(first, body)


def frame(first: int, body: bytes) -> bytes:
    """A packet: the fixed header (the type and flags byte, then the remaining length, 7 bits a
    byte, low first) and ``body`` (the connect path's CONNECT and SUBSCRIBE too)."""
    n = len(body)
    if n > _MAX_REMAINING:
        raise MQTTProtocolError("too long")
    head = bytearray((first,))
    while True:
        low = n & 0x7F
        n >>= 7
        head.append(low | 0x80 if n else low)
        if not n:
            return bytes(head) + body


def parse(buf: bytes, max_packet: int = _MAX_REMAINING + 5) -> "tuple[Received | None, int]":
    """The first whole packet in ``buf`` and how many bytes it took, or ``(None, 0)`` while
    more are needed.  The fixed-header byte is checked as soon as it is there, and a packet
    longer than ``max_packet`` bytes is refused from its length alone.

    A packet is a tuple whose first item is its type:

    ====================  ==================================================
    CONNACK (2)           ``(2, session_present, return_code)``
    PUBLISH (3)           ``(3, topic, payload, qos, retain, dup, packet_id)``
                          (``packet_id`` None at QoS 0)
    PUBACK (4)            ``(4, packet_id)``
    SUBACK (9)            ``(9, packet_id, return_codes)`` (bytes: granted QoS
                          0..2 or 0x80, failure, one per filter)
    PINGRESP (13)         ``(13,)``
    ====================  ==================================================

    Any other packet type is an :class:`MQTTProtocolError`: the keypad never
    asks for what would bring one (UNSUBSCRIBE, QoS 2), and the rest only a
    broker receives.  So are wrong fixed-header flags, bad lengths, trailing
    bytes, QoS 3, DUP on QoS 0, packet id 0, a topic that is not UTF-8 or has
    U+0000 or wildcards, an empty SUBACK and the like: nothing else is ever
    raised on any input.
    """
    if not buf:
        return None, 0
    first = buf[0]
    kind = first >> 4
    if kind not in (_CONNACK, _PUBLISH, _PUBACK, _SUBACK, _PINGRESP):
        raise MQTTProtocolError(("reserved %d" if kind in (0, 15) else "unwanted %d") % kind)
    if kind != _PUBLISH and first & 0x0F:
        raise MQTTProtocolError("flags 0x%02x" % first)
    # the remaining length: 1..4 bytes, 7 bits each, low first
    n = 0
    at = 1
    while True:
        if at >= len(buf):
            return None, 0
        b = buf[at]
        n |= (b & 0x7F) << (7 * (at - 1))
        at += 1
        if not b & 0x80:
            break
        if at == 5:
            raise MQTTProtocolError("length > 4B")
    end = at + n
    if end > max_packet:
        raise MQTTProtocolError("%d > limit %d" % (end, max_packet))
    if len(buf) < end:
        return None, 0
    body = buf[at:end]
    truncated = "truncated"
    if kind == _PINGRESP:
        if n:
            raise MQTTProtocolError("trailing %d" % n)
        return (_PINGRESP,), end
    if n < 2:
        raise MQTTProtocolError(truncated)
    word = (body[0] << 8) | body[1]  # CONNACK: flags and return code; else a length or packet id
    if kind == _PUBLISH:
        qos = (first >> 1) & 3
        dup = bool(first & _DUP)
        if qos == 3:
            raise MQTTProtocolError("QoS 3")
        if dup and not qos:
            raise MQTTProtocolError("QoS 0 DUP")
        at = 2 + word
        if at > n:
            raise MQTTProtocolError(truncated)
        try:
            topic = bytes(body[2:at]).decode("utf-8")
        except (UnicodeError, ValueError):
            raise MQTTProtocolError("not UTF-8") from None
        if "\x00" in topic:
            raise MQTTProtocolError("U+0000")
        if not topic or "+" in topic or "#" in topic:
            raise MQTTProtocolError("bad topic")
        pid = None
        if qos:
            if n < at + 2:
                raise MQTTProtocolError(truncated)
            pid = (body[at] << 8) | body[at + 1]
            if not pid:
                raise MQTTProtocolError("packet id %r" % 0)
            at += 2
        return (_PUBLISH, topic, bytes(body[at:]), qos, bool(first & 0x01), dup, pid), end
    if kind == _CONNACK:
        flags, code = body[0], body[1]
        if n > 2:
            raise MQTTProtocolError("trailing %d" % (n - 2))
        if flags & 0xFE:
            raise MQTTProtocolError("CONNACK flags")
        if code > 5:
            raise MQTTProtocolError("CONNACK %d" % code)
        if flags and code:
            raise MQTTProtocolError("SP on refusal")
        return (_CONNACK, bool(flags), code), end
    if not word:
        raise MQTTProtocolError("packet id %r" % 0)
    if kind == _PUBACK:
        if n > 2:
            raise MQTTProtocolError("trailing %d" % (n - 2))
        return (_PUBACK, word), end
    codes = bytes(body[2:])  # SUBACK
    if not codes:
        raise MQTTProtocolError("SUBACK empty")
    for code in codes:
        if code > 2 and code != _SUBACK_FAILURE:
            raise MQTTProtocolError("SUBACK %d" % code)
    return (_SUBACK, word, codes), end


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

    # The attributes, all set when the client is made (firmware.mqtt.connect.setup).
    client_id: "str"
    host: "str"
    port: "int"
    ssl: "Any"
    server_hostname: "str"
    keepalive: "int"
    birth: "Message | None"
    on_message: "Callable[[str, bytes, bool], object] | None"
    # the reconnect backoff (firmware.mqtt.connect.backoff): rand None is the hardware/OS RNG
    backoff_base: "float"
    backoff_cap: "float"
    backoff_attempt: "int"  # doubles the ceiling on each retry, 0 again once online
    rand: "Callable[[], float] | None"
    _sleep: "Callable[[float], Awaitable[object]]"
    connect_timeout: "float"
    send_timeout: "float"
    queue_max: "int"
    max_inflight: "int"
    max_packet: "int"
    _open: "Opener | None"  # None: asyncio's (firmware.mqtt.connect)
    # A broker name is looked up once and the address reused (a lookup blocks the whole
    # loop); looked up again after ``resolve_after`` failed connects.  An IP is used as is.
    # No resolver: the system's, unless open_connection is given (it gets the name).
    _resolver: "Callable[[str, int], str] | None"
    resolve_after: "int"
    address: "str | None"
    lookups: "int"
    _failed_since_lookup: "int"
    # the CONNECT packet, encoded once: bad settings (and backoff) fail here, at once
    _connect: "bytes"
    connected: "bool"
    opening: "bool"  # a link is being opened: TCP, the TLS handshake, CONNECT until the CONNACK
    connects: "int"  # CONNACKs accepted
    attempts: "int"  # connection attempts
    dropped: "int"  # messages dropped from the offline queue or lost as QoS 0
    callback_errors: "int"
    tls_errors: "int"  # ValueError from the TLS layer (MicroPython 1.27: certificate, handshake)
    send_timeouts: "int"
    faults: "int"  # unexpected exceptions in a session, survived as link loss
    pings: "int"
    refused: "int | None"  # last CONNACK refusal, None after an accepted one
    last_error: "BaseException | None"
    _inflight: "list[Outgoing]"  # QoS 1 awaiting PUBACK, in send order
    _queue: "list[Outgoing]"  # not yet sent
    _subs: "list[tuple[str, int]]"  # (filter, qos) renewed on every connect
    _pid: "int"
    _writer: "Any"
    _rtask: "Any"  # the reader task of the current connection
    _rerror: "BaseException | None"
    _wake: "asyncio.Event"  # set by the reader on data, error or close
    _connack: "tuple[Any, ...] | None"
    _broken: "bool"
    _closing: "bool"
    _task: "Any"
    _lock: "asyncio.Lock"
    _last_tx: "int"
    _last_rx: "int"
    _ping_at: "int | None"

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
        # Every attribute (declared above) is set by the connect path, loaded while the client is
        # made: the code that makes it is not kept while the client serves.
        _connect_path().setup(
            self, client_id, host, port, username, password, ssl, server_hostname, keepalive, clean_session,
            will, birth, on_message, backoff_base, backoff_cap, rand, sleep, connect_timeout, send_timeout,
            queue_max, max_inflight, max_packet, open_connection, resolver, resolve_after,
        )  # fmt: skip

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
                # the connect path until the broker's CONNACK (and the resends and subscriptions
                # after it), then, with the connect path unloaded, serve until link loss
                self.opening = True
                await _connect_path().go_online(self)
                self.opening = False
                unload("firmware.mqtt.connect")
                await self._pump()
                await self._serve()
            except (OSError, EOFError, _TIMEOUT, MQTTError) as e:
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
            try:
                delay = _connect_path().backoff(self)
            except Exception:  # the connect path cannot be loaded now (memory): wait the longest
                delay = self.backoff_cap
            await self._sleep(delay)

    def post(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> "int | None":
        """Queue a message for the client task to send; never waits on the network.

        Returns the packet id (QoS 1) or None.  A bad topic or payload raises
        ``MQTTProtocolError`` now, not at send time.  A full queue drops its
        oldest message (counted in ``dropped``).  The keypad's loop uses this,
        so a stalled link can slow only the client task (whose every wait is
        bounded), never key scanning or the watchdog.
        """
        if qos not in (0, 1):
            raise MQTTProtocolError("QoS %r" % (qos,))
        pid = self._next_pid() if qos else None
        data = publish(topic, payload, qos, retain, False, pid)
        if len(self._queue) >= self.queue_max:
            self._queue.pop(0)
            self.dropped += 1
        self._queue.append((pid, data))
        self._wake.set()
        return pid

    async def close(self, disconnect: bool = True) -> None:
        """Stop. ``disconnect=False`` drops the socket without DISCONNECT: the will is sent.
        (In the connect path, :func:`firmware.mqtt.connect.close`: the keypad closes only when
        it stops.)"""
        await _connect_path().close(self, disconnect)

    # ------------------------------------------------------------ the session

    async def _read_loop(self, reader: "Any") -> None:
        """The connection's only reader: no timeout, never cancelled while the link is up."""
        buf = b""
        try:
            while True:
                data = await reader.read(512)
                if not data:
                    raise OSError("broker EOF")
                self._last_rx = _ticks()
                buf += data
                while buf:
                    pkt, used = parse(buf, self.max_packet)
                    if pkt is None:
                        break
                    buf = buf[used:]
                    if self._connack is None:
                        if pkt[0] != _CONNACK:
                            raise MQTTProtocolError("%d before CONNACK" % pkt[0])
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
        keepalive without traffic either way, link loss after another half without PINGRESP.

        Each tick waits on the reader's Event, never on the socket, and raises at once what
        the reader hit; a message :meth:`post` queued ends the wait, so it is sent at once
        (if the in-flight window has room; a PUBACK makes room and sends the next)."""
        keepalive = self.keepalive
        tick = (min(max(keepalive / 4, 0.05), 5.0) if keepalive else 5.0) * 1000  # ms
        half = keepalive * 500  # ms
        while True:
            start = _ticks()
            while True:
                if self._rerror is not None:
                    raise self._rerror
                if self._broken:
                    raise OSError("link lost")
                queue = self._queue  # what post() queued goes now if the window has room
                if queue and (not queue[0][0] or len(self._inflight) < self.max_inflight):
                    break
                left = tick - _elapsed(start)
                if left <= 0:
                    break
                self._wake.clear()
                try:  # noqa: SIM105  (MicroPython has no contextlib)
                    await asyncio.wait_for(self._wake.wait(), left / 1000)
                except _TIMEOUT:
                    pass
            if self._closing:
                raise OSError("closing")
            await self._pump()
            if not keepalive:
                continue
            if self._ping_at is not None:
                if _elapsed(self._ping_at) > half:
                    raise OSError("no PINGRESP")
            elif _elapsed(self._last_tx) >= half or _elapsed(self._last_rx) >= half:
                self._ping_at = _ticks()
                self.pings += 1
                await self._send(PINGREQ_PACKET)

    async def _handle(self, pkt: "Received") -> None:
        kind = pkt[0]
        if kind == _PUBLISH:
            _, topic, payload, qos, retain, _, pid = pkt
            if qos == 2:
                raise MQTTProtocolError("got QoS 2")
            if self.on_message is not None:
                try:
                    self.on_message(topic, payload, retain)
                except Exception as e:  # one bad message never stops the loop
                    self.callback_errors += 1
                    self.last_error = e
            if qos:  # PUBACK; parse() guarantees an id
                await self._send(bytes((_PUBACK << 4, 2, pid >> 8, pid & 0xFF)))
        elif kind == _PUBACK:
            self._inflight = [m for m in self._inflight if m[0] != pkt[1]]
            await self._pump()
        elif kind == _PINGRESP:
            self._ping_at = None
        elif kind == _CONNACK:
            raise MQTTProtocolError("2nd CONNACK")
        # a SUBACK answers the subscriptions renewed on connect: nothing waits for it

    # ------------------------------------------------------------ sending

    async def _send(self, data: bytes, timeout: "float | None" = None) -> None:
        """Write one packet and drain it within ``timeout`` (default ``send_timeout``) seconds.

        A timeout or a TLS error (``ValueError`` on MicroPython 1.27) is link loss:
        the socket is closed at once and ``OSError`` raised.
        """
        writer = self._writer
        if writer is None:
            raise OSError("offline")
        async with self._lock:
            if self._writer is not writer or self._broken:
                raise OSError("link lost")
            try:
                writer.write(data)  # MicroPython: tries the socket at once (may raise)
                await asyncio.wait_for(writer.drain(), self.send_timeout if timeout is None else timeout)
            except _TIMEOUT:
                self.send_timeouts += 1
                err = OSError("send timeout")
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
        self.connected = self.opening = False
        self._ping_at = None
