"""The MQTT client's connect path: loaded only while connecting, unloaded once online.

What :class:`firmware.mqtt.client.MQTTClient` needs from the moment it is
made, or the link is lost, until the broker has accepted the session: the
keypad's client itself (:func:`for_device`), the client's construction
(:func:`setup`, which sets every attribute), the CONNECT (:func:`connect`,
encoded once when the client is made) and
SUBSCRIBE (:func:`subscribe`) packets, the CONNACK check, the reconnect
backoff (:func:`backoff`), the broker's address (a name looked up once and
cached), the TCP/TLS opener and :func:`tls_context`; and :func:`close`
with its DISCONNECT, since the keypad closes its client only when it stops.  The client imports it
when it needs it and unloads it (``firmware.unload``) once the session is
online, so the keypad does not hold it while it serves; it keeps no
reference to anything defined here (a function or object kept would keep
the whole module).  See the client's docstring for the behaviour.

The host's :mod:`firmware.mqtt.codec` encodes CONNECT and SUBSCRIBE through
these functions, so the two agree byte for byte.  Encoding checks its
arguments (MQTT 3.1.1 strings, QoS 0..2, packet ids 1..65535, topic
names and filters) and raises :class:`~firmware.mqtt.client.MQTTProtocolError`.

Runs on MicroPython and CPython.
"""

import asyncio
import sys

from . import client as mc

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int

# Type checkers treat any name TYPE_CHECKING as true; at run time (MicroPython
# has no typing module) nothing is imported and annotations are never evaluated.
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable, NoReturn

    from .client import Message, MQTTClient, Opener

__all__ = (
    "CONNACK_MESSAGES",
    "DISCONNECT_PACKET",
    "backoff",
    "close",
    "connect",
    "default_rand",
    "for_device",
    "go_online",
    "setup",
    "subscribe",
    "tls_context",
    "valid_topic_filter",
)

DISCONNECT_PACKET = b"\xe0\x00"
# CONNACK return codes 0..5, in order
CONNACK_MESSAGES = (
    "accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)

# ---------------------------------------------------------------- CONNECT and SUBSCRIBE


def _fail(msg: str) -> "NoReturn":
    raise mc.MQTTProtocolError(msg)


def _str(value: object, what: str) -> bytes:
    """An MQTT string: UTF-8 without U+0000, its 2-byte length in front."""
    if not isinstance(value, str):
        _fail("%s must be str, not %s" % (what, type(value).__name__))
    if "\x00" in value:
        _fail("%s contains U+0000" % what)
    return _bin(value.encode("utf-8"), what)


def _bin(value: object, what: str) -> bytes:
    """Bytes with their 2-byte length in front."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        _fail("%s must be bytes, not %s" % (what, type(value).__name__))
    data = bytes(value)
    if len(data) > 0xFFFF:
        _fail("%s longer than 65535 bytes" % what)
    return bytes((len(data) >> 8, len(data) & 0xFF)) + data


def _qos(qos: object) -> int:
    if not isinstance(qos, int) or isinstance(qos, bool) or not 0 <= qos <= 2:
        _fail("QoS must be 0..2: %r" % (qos,))
    return qos


def valid_topic_filter(flt: object) -> bool:
    """True for a well-formed subscription filter (``+`` fills a level, ``#`` only last)."""
    if not isinstance(flt, str) or not flt:
        return False
    levels = flt.split("/")
    last = len(levels) - 1
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != last):
            return False
        if "+" in level and level != "+":
            return False
    return True


def connect(
    client_id: str,
    clean_session: bool = True,
    keepalive: int = 60,
    will: "Message | None" = None,
    username: "str | None" = None,
    password: "bytes | str | None" = None,
) -> bytes:
    """CONNECT.  ``will`` is ``(topic, message, qos, retain)`` or None; a str password is UTF-8."""
    if not isinstance(keepalive, int) or not 0 <= keepalive <= 0xFFFF:
        _fail("keepalive must be 0..65535 s: %r" % (keepalive,))
    flags = 0x02 if clean_session else 0
    tail = _str(client_id, "client id")
    if will is not None:
        topic, message, qos, retain = will
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
            _fail("bad will topic %r" % (topic,))
        flags |= 0x04 | (_qos(qos) << 3) | (0x20 if retain else 0)
        tail += _str(topic, "will topic") + _bin(message, "will message")
    if username is not None:
        flags |= 0x80
        tail += _str(username, "username")
    if password is not None:
        if username is None:
            _fail("password without username")
        flags |= 0x40
        tail += _bin(password.encode("utf-8") if isinstance(password, str) else password, "password")
    # protocol name "MQTT", level 4 (3.1.1), then the flags and the keepalive
    return mc.frame(0x10, b"\x00\x04MQTT\x04" + bytes((flags, keepalive >> 8, keepalive & 0xFF)) + tail)


def subscribe(packet_id: int, topics: "list[tuple[str, int]]") -> bytes:
    """SUBSCRIBE to ``topics``, a list of ``(filter, max_qos)``."""
    if not topics:
        _fail("SUBSCRIBE without topics")
    if not isinstance(packet_id, int) or isinstance(packet_id, bool) or not 1 <= packet_id <= 0xFFFF:
        _fail("packet id must be 1..65535: %r" % (packet_id,))
    body = bytes((packet_id >> 8, packet_id & 0xFF))
    for flt, qos in topics:
        if not valid_topic_filter(flt):
            _fail("bad topic filter %r" % (flt,))
        body += _str(flt, "topic filter") + bytes((_qos(qos),))
    return mc.frame(0x82, body)  # SUBSCRIBE's flags are 0b0010


def setup(
    client: "MQTTClient",
    client_id: str,
    host: str,
    port: int,
    username: "str | None",
    password: "str | bytes | None",
    ssl: "Any",
    server_hostname: "str | None",
    keepalive: int,
    clean_session: bool,
    will: "Message | None",
    birth: "Message | None",
    on_message: "Callable[[str, bytes, bool], object] | None",
    backoff_base: float,
    backoff_cap: float,
    rand: "Callable[[], float] | None",
    sleep: "Callable[[float], Awaitable[object]] | None",
    connect_timeout: float,
    send_timeout: float,
    queue_max: int,
    max_inflight: int,
    max_packet: int,
    open_connection: "Opener | None",
    resolver: "Callable[[str, int], str] | None",
    resolve_after: int,
) -> None:
    """Make ``client``: :class:`~firmware.mqtt.client.MQTTClient`'s constructor (its arguments, in
    order; the attributes are declared and described there), the CONNECT encoded once: bad
    settings (and backoff) fail here, at once."""
    client.client_id = client_id
    client.host = host
    client.port = port
    client.ssl = ssl
    client.server_hostname = server_hostname if server_hostname is not None else host
    client.keepalive = keepalive
    client.birth = birth
    client.on_message = on_message
    client.backoff_base = backoff_base
    client.backoff_cap = backoff_cap
    client.backoff_attempt = 0
    client.rand = rand
    client._sleep = sleep if sleep is not None else asyncio.sleep
    client.connect_timeout = connect_timeout
    client.send_timeout = send_timeout
    client.queue_max = queue_max
    client.max_inflight = max_inflight
    client.max_packet = max_packet
    client._open = open_connection
    client._resolver = resolver
    client.resolve_after = resolve_after
    client.address = None
    client.lookups = 0
    client._failed_since_lookup = 0
    # the CONNECT packet, encoded once: bad settings (and backoff) fail here, at once
    if not backoff_base > 0 or backoff_cap < backoff_base:
        raise ValueError("backoff needs 0 < base <= cap")
    client._connect = connect(client_id, clean_session, keepalive, will, username, password)

    client.connected = client.opening = False
    client.connects = 0
    client.attempts = 0
    client.dropped = 0
    client.callback_errors = 0
    client.tls_errors = 0
    client.send_timeouts = 0
    client.faults = 0
    client.pings = 0
    client.refused = None
    client.last_error = None

    client._inflight = []
    client._queue = []
    client._subs = []
    client._pid = 0
    client._writer = None
    client._rtask = None
    client._rerror = None
    client._wake = asyncio.Event()
    client._connack = None
    client._broken = False
    client._closing = False
    client._task = None
    client._lock = asyncio.Lock()
    client._last_tx = mc._ticks()
    client._last_rx = mc._ticks()
    client._ping_at = None


# ---------------------------------------------------------------- backoff


def default_rand() -> float:
    """A float in [0, 1) from the hardware/OS RNG, so keypads booted together differ."""
    try:
        import os

        b = os.urandom(4)
        return ((b[0] << 16) | (b[1] << 8) | b[2]) / 16777216.0
    except (ImportError, AttributeError, OSError, NotImplementedError):
        import random

        return random.getrandbits(24) / 16777216.0


def backoff(client: "MQTTClient") -> float:
    """The client's next reconnect delay in seconds, full-jitter exponential:
    ``rand() * min(cap, base * 2**attempt)``; each call doubles the ceiling up to ``cap``
    (``backoff_attempt`` is 0 again once online).

    With full jitter the first retries of thousands of keypads that lost the
    broker at the same instant spread evenly over ``[0, base)`` instead of
    arriving together.  ``rand`` (None: :func:`default_rand`) returns a float in ``[0, 1)``.
    """
    attempt = client.backoff_attempt
    if attempt < 30:  # 2**30 times base is past any cap
        client.backoff_attempt = attempt + 1
    return (client.rand or default_rand)() * min(client.backoff_cap, client.backoff_base * (1 << attempt))


# ---------------------------------------------------------------- the link


def _is_ip(host: str) -> bool:
    """A dotted IPv4 literal (no resolver needed)."""
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts)


def _target(client: "MQTTClient") -> str:
    """Where to connect: the IP, the cached lookup, or (no resolver) the host as given.
    A name is looked up again after ``resolve_after`` failed attempts in a row."""
    host = client.host
    resolver = client._resolver
    if resolver is None and client._open is None:
        resolver = _default_resolver
    if resolver is None or _is_ip(host):
        return host
    if client.address is None or client._failed_since_lookup >= client.resolve_after:
        client._failed_since_lookup = 0
        client.lookups += 1
        client.address = resolver(host, client.port)  # OSError: link loss, retried later
    client._failed_since_lookup += 1  # cleared by the CONNACK
    return client.address


def _default_resolver(host: str, port: int) -> str:
    """The first address of ``host`` (a blocking lookup: done once, then cached)."""
    import socket

    return str(socket.getaddrinfo(host, port)[0][-1][0])


async def go_online(client: "MQTTClient") -> None:
    """Open the link, send the CONNECT and wait for an accepted CONNACK (each within
    ``connect_timeout``: MicroPython 1.27 runs the TLS handshake inside that first write),
    then queue the birth first, send every un-acknowledged QoS 1 message again marked DUP
    and renew the subscriptions (their SUBACK is not waited for)."""
    client.attempts += 1
    client._broken = False
    client._ping_at = None
    client._rerror = None
    client._connack = None
    client._wake.clear()
    host, port, ssl, name = _target(client), client.port, client.ssl, client.server_hostname
    if client._open is not None:
        opening = client._open(host, port, ssl, name)
    elif ssl is None:
        opening = asyncio.open_connection(host, port)
    else:
        opening = asyncio.open_connection(host, port, ssl=ssl, server_hostname=name)
    reader, client._writer = await asyncio.wait_for(opening, client.connect_timeout)
    await client._send(client._connect, client.connect_timeout)
    client._rtask = asyncio.create_task(client._read_loop(reader))
    # the CONNACK: wait on the reader's Event, never on the socket; raise what the reader hit
    start = mc._ticks()
    while True:
        if client._rerror is not None:
            raise client._rerror
        if client._broken:
            raise OSError("link lost")
        if client._connack is not None:
            break
        left = client.connect_timeout * 1000 - mc._elapsed(start)
        if left <= 0:
            raise OSError("no CONNACK within %s s" % client.connect_timeout)
        client._wake.clear()
        try:  # noqa: SIM105  (MicroPython has no contextlib)
            await asyncio.wait_for(client._wake.wait(), left / 1000)
        except mc._TIMEOUT:
            pass
    code = client._connack[2]
    if code:  # 1..5: parse() refuses any other
        refused = mc.MQTTConnectError("connection refused (%d: %s)" % (code, CONNACK_MESSAGES[code]))
        refused.code = code
        raise refused

    client.connected = True
    client._failed_since_lookup = 0
    client.connects += 1
    client.refused = None
    client.backoff_attempt = 0
    client._last_rx = mc._ticks()
    if client.birth:  # first in the queue, before anyone can publish on this link
        topic, payload, qos, retain = client.birth
        pid = client._next_pid() if qos else None
        client._queue.insert(0, (pid, mc.publish(topic, payload, qos, retain, False, pid)))
    for _, data in client._inflight:  # not acknowledged on the last link: send again, marked DUP
        await client._send(bytes((data[0] | 0x08,)) + data[1:])
    if client._subs:
        await client._send(subscribe(client._next_pid(), client._subs))


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
) -> "MQTTClient":
    """The keypad's client: username and client id = device id, presence as will and birth,
    subscribed to its own downlink and the hall broadcasts (exactly what the ACL allows).
    ``cls``: a subclass to make instead (:class:`firmware.mqtt.host.HostClient`)."""
    from protocol import device as wire

    presence = wire.topic(hall, device_id, "presence")
    client = (cls or mc.MQTTClient)(
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


async def close(client: "MQTTClient", disconnect: bool = True) -> None:
    """:meth:`MQTTClient.close <firmware.mqtt.client.MQTTClient.close>`: stop.
    ``disconnect=False`` drops the socket without DISCONNECT: the will is sent."""
    client._closing = True
    if disconnect and client.connected:
        try:  # noqa: SIM105
            await asyncio.wait_for(client._send(DISCONNECT_PACKET), 2)
        except (OSError, mc._TIMEOUT):
            pass
    client._teardown()
    # stop the run task (``_closing`` is set, so it also stops by itself)
    task = client._task
    client._task = None
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
