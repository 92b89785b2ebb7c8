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
* Subscriptions are remembered and renewed on every connect.  Inbound
  messages go to the ``on_message(topic, payload, retained)`` callback; a
  callback that raises is counted in ``callback_errors`` and never stops the
  loop.  Inbound QoS 1 is acknowledged after the callback ran.
* Keepalive: a PINGREQ when nothing was sent or received for half the
  keepalive; no PINGRESP within another half means the link is dead.
* Last will and a "birth" message published on every connect (the keypad's
  presence, see :func:`for_device`).
"""

import asyncio

from . import packets as codec
from .link import (
    Backoff,
    MQTTConnectError,
    _default_resolver,
    _elapsed,
    _is_ip,
    _open_connection,
    _ticks,
    tls_context,
)

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable

    Message = tuple[str, bytes, int, bool]  # (topic, payload, qos, retain)
    Opener = Callable[[str, int, Any, "str | None"], Awaitable[tuple[Any, Any]]]

__all__ = [
    "Backoff",
    "MQTTClient",
    "MQTTConnectError",
    "for_device",
    "tls_context",
]

# MicroPython's asyncio.TimeoutError is its own class, not the builtin TimeoutError
# (which MicroPython lacks), and MicroPython has no contextlib: hence the spelling below.
_TIMEOUT = asyncio.TimeoutError


class _Waiter:
    """A SUBSCRIBE / UNSUBSCRIBE awaiting its acknowledgement."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.result: list[int] | None = None


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
        self.username = username
        self.password = password
        self.ssl = ssl
        self.server_hostname = server_hostname if server_hostname is not None else host
        self.keepalive = keepalive
        self.clean_session = clean_session
        self.will = will
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
        # the CONNECT packet, checked now so bad settings fail at once
        self._connect_packet().encode()

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

        self._inflight: list[codec.Publish] = []  # QoS 1 awaiting PUBACK, in send order
        self._queue: list[codec.Publish] = []  # not yet sent
        self._subs: list[tuple[str, int]] = []  # (filter, qos) renewed on every connect
        self._waiters: dict[int, _Waiter] = {}  # SUBACK / UNSUBACK by packet id
        self._pid = 0
        self._reader: Any = None
        self._writer: Any = None
        self._rtask: Any = None  # the reader task of the current connection
        self._rerror: BaseException | None = None
        self._wake = asyncio.Event()  # set by the reader on data, error or close
        self._connack: codec.Connack | None = None
        self._parser: codec.Parser | None = None
        self._broken = False
        self._closing = False
        self._task: Any = None
        self._lock = asyncio.Lock()
        self._up = asyncio.Event()
        self._last_tx = _ticks()
        self._last_rx = _ticks()
        self._ping_at: int | None = None

    # ------------------------------------------------------------ public API

    def start(self) -> "Any":
        """Run :meth:`run` as a task and return it."""
        self._closing = False
        self._task = asyncio.create_task(self.run())
        return self._task

    async def run(self, first_delay: float = 0) -> None:
        """Connect and stay connected until :meth:`close`; the one place link loss is caught."""
        if first_delay:
            await self._sleep(first_delay)
        while not self._closing:
            try:
                await self._session()
            except (OSError, EOFError, _TIMEOUT, codec.MQTTError) as e:
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

    async def wait_connected(self, timeout: "float | None" = None) -> bool:
        """True once connected (within ``timeout`` seconds), else False."""
        if self.connected:
            return True
        try:
            if timeout is None:
                await self._up.wait()
            else:
                await asyncio.wait_for(self._up.wait(), timeout)
        except _TIMEOUT:
            return False
        return self.connected

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> "int | None":
        """Send now if connected, else queue; returns the packet id (QoS 1) or None.

        Never raises on link loss: a QoS 1 message is then resent after the
        reconnect, a QoS 0 message is lost (and counted in ``dropped``).
        """
        if qos not in (0, 1):
            raise codec.MQTTProtocolError("this client publishes QoS 0 or 1, not %r" % (qos,))
        pid = self._next_pid() if qos else None
        pkt = codec.Publish(topic, payload, qos, retain, False, pid)
        pkt.encode()  # bad topic or payload: MQTTProtocolError now, not at send time
        if len(self._queue) >= self.queue_max:
            self._queue.pop(0)
            self.dropped += 1
        self._queue.append(pkt)
        await self._pump_safely()
        return pid

    def post(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> "int | None":
        """Queue a message for the client task to send; never waits on the network.

        The keypad's loop uses this, so a stalled link can slow only the client
        task (whose every wait is bounded), never key scanning or the watchdog.
        Same queue, bound and drop rule as :meth:`publish`.
        """
        if qos not in (0, 1):
            raise codec.MQTTProtocolError("this client publishes QoS 0 or 1, not %r" % (qos,))
        pid = self._next_pid() if qos else None
        pkt = codec.Publish(topic, payload, qos, retain, False, pid)
        pkt.encode()
        if len(self._queue) >= self.queue_max:
            self._queue.pop(0)
            self.dropped += 1
        self._queue.append(pkt)
        self._wake.set()
        return pid

    def is_pending(self, packet_id: "int | None") -> bool:
        """True while a QoS 1 message is queued or awaiting its PUBACK.

        False once acknowledged, or once dropped from a full offline queue
        (counted in ``dropped``): the keypad's own retransmit-until-acked
        logic, not this flag, decides whether a vote was recorded.
        """
        return any(p.packet_id == packet_id for p in self._inflight + self._queue)

    def pending(self) -> int:
        """Messages queued or in flight."""
        return len(self._queue) + len(self._inflight)

    async def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = 10.0) -> "int | None":
        """Subscribe now and on every reconnect; the granted QoS, 0x80, or None if offline."""
        codec.Subscribe(1, [(topic_filter, qos)]).encode()  # validates
        self._subs = [(f, q) for f, q in self._subs if f != topic_filter]
        self._subs.append((topic_filter, qos))
        if not self.connected:
            return None
        result = await self._request(codec.Subscribe(self._next_pid(), [(topic_filter, qos)]), timeout)
        return result[0] if result else None

    async def unsubscribe(self, topic_filter: str, timeout: float = 10.0) -> None:
        self._subs = [(f, q) for f, q in self._subs if f != topic_filter]
        if self.connected:
            await self._request(codec.Unsubscribe(self._next_pid(), [topic_filter]), timeout)

    async def close(self, disconnect: bool = True) -> None:
        """Stop. ``disconnect=False`` drops the socket without DISCONNECT: the will is sent."""
        self._closing = True
        if disconnect and self.connected:
            try:  # noqa: SIM105
                await asyncio.wait_for(self._send(codec.Disconnect()), 2)
            except (OSError, _TIMEOUT):
                pass
        self._teardown()
        await self._stop_task()

    def drop_link(self) -> None:
        """Fault injection: lose the link abruptly (no DISCONNECT, so the broker sends the
        will); :meth:`run` notices and reconnects as after any link loss."""
        if self._writer is not None:
            self._link_lost(OSError("link dropped"))

    # ------------------------------------------------------------ the session

    def _connect_packet(self) -> codec.Connect:
        will = self.will
        return codec.Connect(
            self.client_id,
            clean_session=self.clean_session,
            keepalive=self.keepalive,
            will_topic=will[0] if will else None,
            will_message=will[1] if will else b"",
            will_qos=will[2] if will else 0,
            will_retain=will[3] if will else False,
            username=self.username,
            password=self.password,
        )

    async def _session(self) -> None:
        self.attempts += 1
        self._broken = False
        self._ping_at = None
        self._rerror = None
        self._connack = None
        self._wake.clear()
        reader, writer = await asyncio.wait_for(
            self._open(self._target(), self.port, self.ssl, self.server_hostname),
            self.connect_timeout,
        )
        self._reader, self._writer = reader, writer
        self._parser = codec.Parser(self.max_packet)
        # MicroPython 1.27 runs the TLS handshake inside this first write: bounded here.
        await self._send(self._connect_packet(), self.connect_timeout)
        self._rtask = asyncio.create_task(self._read_loop(reader))
        if not await self._wait_wake(self.connect_timeout, lambda: self._connack is not None):
            raise OSError("no CONNACK within %s s" % self.connect_timeout)
        ack = self._connack
        assert ack is not None
        if ack.return_code != codec.ACCEPTED:
            raise MQTTConnectError(ack.return_code)

        self.connected = True
        self._failed_since_lookup = 0
        self.connects += 1
        self.refused = None
        self.backoff.reset()
        self._last_rx = _ticks()
        if self.birth:  # first in the queue, before anyone can publish on this link
            topic, payload, qos, retain = self.birth
            pid = self._next_pid() if qos else None
            self._queue.insert(0, codec.Publish(topic, payload, qos, retain, False, pid))
        self._up.set()
        for p in self._inflight:  # not acknowledged on the last link: send again, marked DUP
            p.dup = True
            await self._send(p)
        if self._subs:
            await self._send(codec.Subscribe(self._next_pid(), self._subs))
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
        parser = self._parser
        assert parser is not None
        try:
            while True:
                data = await reader.read(512)
                if not data:
                    raise OSError("connection closed by the broker")
                self._last_rx = _ticks()
                for pkt in parser.feed(data):
                    if self._connack is None:
                        if not isinstance(pkt, codec.Connack):
                            raise codec.MQTTProtocolError("expected CONNACK, got %r" % (pkt,))
                        self._connack = pkt
                        self._wake.set()
                        if pkt.return_code != codec.ACCEPTED:
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

    def _tick(self) -> float:
        if self.keepalive:
            return min(max(self.keepalive / 4, 0.05), 5.0)
        return 5.0

    async def _serve(self) -> None:
        tick = self._tick()
        while True:
            await self._wait_wake(tick, lambda: False)
            if self._closing:
                raise OSError("client closing")
            await self._pump()  # what post() queued
            await self._keepalive()

    async def _keepalive(self) -> None:
        if not self.keepalive:
            return
        half = self.keepalive * 500
        if self._ping_at is not None:
            if _elapsed(self._ping_at) > half:
                raise OSError("keepalive: no PINGRESP")
        elif _elapsed(self._last_tx) >= half or _elapsed(self._last_rx) >= half:
            self._ping_at = _ticks()
            self.pings += 1
            await self._send(codec.Pingreq())

    async def _handle(self, pkt: codec.Packet) -> None:
        if isinstance(pkt, codec.Publish):
            if pkt.qos == 2:
                raise codec.MQTTProtocolError("QoS 2 delivery, but we never subscribe above QoS 1")
            if self.on_message is not None:
                try:
                    self.on_message(pkt.topic, pkt.payload, pkt.retain)
                except Exception as e:  # one bad message never stops the loop
                    self.callback_errors += 1
                    self.last_error = e
            if pkt.qos == 1 and pkt.packet_id is not None:  # the codec guarantees an id
                await self._send(codec.Puback(pkt.packet_id))
        elif isinstance(pkt, codec.Puback):
            self._inflight = [p for p in self._inflight if p.packet_id != pkt.packet_id]
            await self._pump()
        elif isinstance(pkt, (codec.Suback, codec.Unsuback)):
            waiter = self._waiters.pop(pkt.packet_id, None)
            if waiter is not None:
                waiter.result = pkt.return_codes if isinstance(pkt, codec.Suback) else []
                waiter.event.set()
        elif isinstance(pkt, codec.Pingresp):
            self._ping_at = None
        else:
            raise codec.MQTTProtocolError("unexpected %s from the broker" % type(pkt).__name__)

    # ------------------------------------------------------------ sending

    async def _send(self, pkt: codec.Packet, timeout: "float | None" = None) -> None:
        """Write one packet and drain it within ``timeout`` (default ``send_timeout``) seconds.

        A timeout or a TLS error (``ValueError`` on MicroPython 1.27) is link loss:
        the socket is closed at once and ``OSError`` raised.
        """
        writer = self._writer
        if writer is None:
            raise OSError("not connected")
        data = pkt.encode()
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
            if head.qos and len(self._inflight) >= self.max_inflight:
                return
            self._queue.pop(0)
            if head.qos:
                self._inflight.append(head)
            try:
                await self._send(head)
            except OSError:
                if not head.qos:
                    self.dropped += 1
                raise

    async def _pump_safely(self) -> None:
        try:
            await self._pump()
        except OSError as e:  # the outer loop notices and reconnects
            self._link_lost(e)

    async def _request(
        self, pkt: "codec.Subscribe | codec.Unsubscribe", timeout: float
    ) -> "list[int] | None":
        waiter = _Waiter()
        self._waiters[pkt.packet_id] = waiter
        try:
            await self._send(pkt)
            await asyncio.wait_for(waiter.event.wait(), timeout)
        except OSError as e:
            self._link_lost(e)
        except _TIMEOUT:
            pass
        finally:
            self._waiters.pop(pkt.packet_id, None)
        return waiter.result

    def _next_pid(self) -> int:
        busy = [p.packet_id for p in self._inflight] + [p.packet_id for p in self._queue]
        while True:
            self._pid = self._pid % 0xFFFF + 1
            if self._pid not in busy and self._pid not in self._waiters:
                return self._pid

    # ------------------------------------------------------------ teardown

    def _link_lost(self, error: BaseException) -> None:
        self.last_error = error
        self._broken = True
        self._wake.set()
        self._close_socket()
        self._stop_reader()

    def _stop_reader(self) -> None:
        task = self._rtask
        self._rtask = None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    def _close_socket(self) -> None:
        writer = self._writer
        if writer is None:
            return
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

    def _teardown(self) -> None:
        self._close_socket()
        self._stop_reader()
        self._writer = None
        self._reader = None
        self.connected = False
        self._up.clear()
        self._ping_at = None
        for waiter in self._waiters.values():
            waiter.event.set()
        self._waiters = {}

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
    **kw: "Any",
) -> MQTTClient:
    """The keypad's client: username and client id = device id, presence as will and birth,
    subscribed to its own downlink and the hall broadcasts (exactly what the ACL allows)."""
    from protocol import device as wire

    presence = wire.topic(hall, device_id, "presence")
    client = MQTTClient(
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
