"""The gateway's MQTT edge: paho-mqtt 2.x between Mosquitto and a :class:`Handler`.

Rules, in the order a message meets them:

* **paho's network thread only enqueues.**  ``on_message`` turns the
  message into a frozen :class:`Received` (topic, payload, mid, QoS, the
  connection it came on) and puts it on an unbounded ``queue.Queue``; it
  never parses, decides, blocks or raises.
* **One worker thread does the rest.**  It drains up to ``batch_max``
  messages (waiting at most ``batch_wait_s`` after the first), turns each
  into a :class:`gateway.core.decide.Inbound` (``up`` and ``status``) or a
  presence change, calls the handler, publishes its replies and broadcasts,
  and only **then** acks the messages (``manual_ack=True``: paho sends no
  PUBACK by itself).  A message is acked only after ``handle_batch``
  returned, i.e. after its decision is durable; if the gateway dies
  before that, the broker redelivers it to the persistent session
  (fixed client id, ``clean_session=False``) and the core answers the
  redelivered copy like any retransmission.
* **A bad message is logged and skipped, never kills the loop.**  A topic
  that is not a hallvote v1 device topic of this hall (another hall, a
  broadcast, ``down``, unparsable, not UTF-8) and a presence payload other
  than ``01``/``00`` are logged, counted as ``skipped`` and acked (so the
  broker never retries them forever).  A malformed frame on a good topic
  goes to the core, which refuses it with a nack.
* **A handler failure acks nothing.**  The batch is retried ``retries``
  times with exponential backoff (the messages stay unacked meanwhile).  If
  it still fails, its frames are retried one by one (``retries`` times
  each), so one poison message cannot hold the others back; a frame that
  fails even alone is refused with a nack (``BUSY`` for a readable frame:
  nothing was recorded, the keypad may send it again; the decoder's reason,
  e.g. ``MALFORMED``, for an unreadable one) and its message acked.  While
  the bridge is stopping it gives up instead: the messages stay unacked
  and come back on the next start.
* **Acks belong to a connection.**  Every message remembers the connection
  it arrived on; after a disconnect its PUBACK would be meaningless (or,
  with packet ids reused, wrong), so messages of an earlier connection are
  neither acked nor handled: the broker redelivers them on the new one.

**A close is fair: drain, then close.**  :meth:`BrokerBridge.drain` (the
gateway calls it before closing a round) puts a marker behind every message
received so far and waits (bounded) until the worker has handled and acked
all of them: a press that reached the bridge before the chair's close is
decided in that round; one that arrives after the close is requested is
decided after it (``ROUND_CLOSED``).

The connection to the broker has ``TCP_NODELAY`` set (acks are small and
latency-bound); the generated broker configuration sets it on its side.

``publish()`` is thread-safe (the API uses it for retained broadcasts);
paho keeps QoS 1 messages published while disconnected and sends them on
reconnect.  Subscriptions (QoS 1 to ``up``, ``status``, ``presence`` of
every device of the hall) are made on every (re)connect; ``connected`` is
set once the broker granted them.

**Retained state survives a broker restart.**  The broker keeps no
persistence (secret ballots), so after it restarts the retained sitting
and motion broadcasts are gone.  On every (re)connect, once the
subscriptions are granted, the worker calls ``retained(publish)`` (the
gateway's :meth:`~gateway.service.Gateway.republish`, which hands its
current broadcasts to ``publish`` under its lock, so no newer broadcast
of a command is overtaken), so a keypad that connects afterwards learns
the open round.

**Connection failures are logged with their reason** (``refused``,
``unreachable``, ``tls``, ``auth``, ``acl``) and the wait before the next
attempt (paho's backoff, ``reconnect_delay_s``), one line per attempt;
:meth:`BrokerBridge.link` reports the same for health checks.
"""

from __future__ import annotations

import itertools
import logging
import queue
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from gateway.core.decide import Inbound
from protocol import codec, reasons, topics
from protocol.errors import DecodeError, ProtocolError
from protocol.frames import Nack, Uplink

from .edge import no_delay, peek, skip_unused_filters
from .handler import Handler, Outbound
from .link import LinkState, failure_reason
from .messages import BridgeStats, Received, _Presence, _Uplink

__all__ = ["BridgeStats", "BrokerBridge", "LinkState", "Received", "failure_reason"]

log = logging.getLogger("hallvote.broker_bridge")

UPLINK_CHANNELS: Final = ("up", "status")
SUBSCRIBED_CHANNELS: Final = ("up", "status", "presence")
_PRESENCE: Final = {topics.PRESENCE_ONLINE: True, topics.PRESENCE_OFFLINE: False}
_DISCONNECTED: Final = -1  # the connection generation while there is none
# publish() results that mean "sent or kept to send on reconnect" (paho keeps QoS 1 while disconnected)
_QUEUED: Final = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


class _Failed:
    """Marker: the handler kept failing (or the bridge is stopping)."""


_FAILED: Final = _Failed()
_STOP: Final = object()  # queue sentinel
_CONNECTED: Final = object()  # queue marker: a connection is up; republish the retained state


class _Drain:
    """Queue marker: set ``done`` once every message queued before it has been handled."""

    def __init__(self) -> None:
        self.done = threading.Event()


class BrokerBridge:
    def __init__(
        self,
        *,
        hall_id: str,
        host: str,
        port: int,
        username: str,
        password: str,
        handler: Handler,
        client_id: str | None = None,
        tls: ssl.SSLContext | None = None,
        batch_max: int = 256,
        batch_wait_s: float = 0.002,
        keepalive: int = 30,
        retries: int = 3,
        retry_backoff_s: float = 0.1,
        retry_backoff_max_s: float = 2.0,
        reconnect_delay_s: tuple[int, int] = (1, 30),
        max_inflight: int = 0,
        clock: Callable[[], float] = time.time,
        retained: Callable[[Callable[[Outbound], object]], int] | None = None,
    ) -> None:
        if batch_max < 1 or retries < 1:
            raise ValueError("batch_max and retries must be at least 1")
        self.hall_id = topics.check_id(hall_id, "hall")
        self.client_id = client_id if client_id is not None else f"hallvote-gw-{self.hall_id}"
        self.host = host
        self.port = port
        self.handler = handler
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self.keepalive = keepalive
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.retry_backoff_max_s = retry_backoff_max_s
        self._clock = clock
        self._retained = retained
        self._reconnect_delay_s = reconnect_delay_s
        self._link_lock = threading.Lock()
        self._link = LinkState(False, None, 0, None)
        self.filters = tuple(topics.device_filter(self.hall_id, ch) for ch in SUBSCRIBED_CHANNELS)

        #: set while connected with the subscriptions granted
        self.connected = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._drained: list[_Drain] = []  # markers met while taking the batch in hand
        self._started = False
        # _conn_lock guards _connection: the worker acks under it, the network thread changes it
        # under it (held for a few deque appends at most, so paho's thread never waits long).
        self._conn_lock = threading.Lock()
        self._connection = _DISCONNECTED
        self._connections = itertools.count(1)
        self._sub_mid: int | None = None
        self._stats_lock = threading.Lock()
        self._stats: dict[str, int] = dict.fromkeys(BridgeStats.__dataclass_fields__, 0)

        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        client.username_pw_set(username, password)
        if tls is not None:
            client.tls_set_context(tls)
        client.reconnect_delay_set(min_delay=reconnect_delay_s[0], max_delay=reconnect_delay_s[1])
        client.max_inflight_messages_set(max_inflight)
        client.suppress_exceptions = True  # belt and braces: a callback bug must not end paho's loop
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_open = no_delay
        skip_unused_filters(client)
        self._client = client

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect (in the background, retrying) and start the worker; returns at once.

        Wait on ``connected`` to know the subscriptions are in place.  A
        bridge starts once; after ``stop()`` make a new one (same client id:
        it resumes the broker's session).
        """
        if self._started:
            raise RuntimeError("a BrokerBridge starts once")
        self._started = True
        self._worker = threading.Thread(target=self._run, name=f"hallvote-bridge-{self.hall_id}", daemon=True)
        self._worker.start()
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self._client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (and ack it), then disconnect.

        Messages still queued are left unacked; the broker keeps them in the
        session and delivers them to the next bridge with this client id.
        """
        if not self._started:
            return
        self._stopping.set()
        self._queue.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                log.error("bridge worker did not finish within %.1f s (handler stuck?)", timeout)
        with self._conn_lock:
            self._connection = _DISCONNECTED
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every message received before this call has been handled (decided, committed,
        answered); False if that took longer than ``timeout`` or the bridge is not running.

        Called from another thread (never the worker's); the gateway calls it before closing a round.
        """
        worker = self._worker
        if worker is None or not worker.is_alive() or threading.current_thread() is worker:
            return False
        marker = _Drain()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def __enter__(self) -> BrokerBridge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ publishing

    def publish(self, outbound: Outbound) -> paho.MQTTMessageInfo:
        """Publish ``outbound``; thread-safe, never blocks.

        Returns paho's message info (``wait_for_publish(timeout)`` waits for
        the broker's PUBACK).  While disconnected, paho keeps a QoS 1 message
        and sends it after reconnecting.
        """
        return self.publish_many((outbound,))[0]

    def publish_many(self, outbounds: Sequence[Outbound]) -> list[paho.MQTTMessageInfo]:
        """Publish ``outbounds`` in order (a batch's acks); thread-safe, never blocks.

        Per message only paho's own ``publish`` runs; the count is taken once
        per call and failures are logged once per call (the first topic).
        """
        send = self._client.publish
        infos = [send(o.topic, o.payload, qos=o.qos, retain=o.retain) for o in outbounds]
        failed = [(o, i) for o, i in zip(outbounds, infos, strict=True) if i.rc not in _QUEUED]
        if failed:
            o, i = failed[0]
            log.error(
                "publish of %d message(s) failed, first to %s: %s",
                len(failed),
                o.topic,
                paho.error_string(i.rc),
            )
        self._count("published", len(infos) - len(failed))
        return infos

    # ------------------------------------------------------------ counters

    def stats(self) -> BridgeStats:
        with self._stats_lock:
            return BridgeStats(**self._stats)

    @property
    def received(self) -> int:
        return self.stats().received

    @property
    def handled(self) -> int:
        return self.stats().handled

    @property
    def skipped(self) -> int:
        return self.stats().skipped

    @property
    def published(self) -> int:
        return self.stats().published

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self._stats[name] += n

    def link(self) -> LinkState:
        """Connected (and since when), or the failures since the link was last up and the last reason."""
        with self._link_lock:
            return self._link

    def _failed(self, reason: str, detail: str) -> None:
        """Record and log one failed attempt with the wait before the next (paho's backoff)."""
        with self._link_lock:
            prev = self._link
            failures = prev.failures + 1
            since = prev.since if not prev.connected and prev.since is not None else self._clock()
            self._link = LinkState(False, since, failures, f"{reason}: {detail}")
        low, high = self._reconnect_delay_s
        wait = min(low * 2 ** (failures - 1), high)
        log.warning(
            "broker %s:%d: connection failed (%s: %s); attempt %d, next in %d s",
            self.host,
            self.port,
            reason,
            detail,
            failures,
            wait,
        )

    # ------------------------------------------------------------ paho callbacks (network thread)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            self._failed("auth", f"the broker refused the gateway's login ({reason})")
            return
        with self._conn_lock:
            self._connection = next(self._connections)
        self._count("connects")
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            self.host,
            self.port,
            self.client_id,
            getattr(flags, "session_present", None),
        )
        rc, mid = client.subscribe([(f, 1) for f in self.filters])
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.error("subscribe failed: %s", paho.error_string(rc))
        self._sub_mid = mid

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons_: list[ReasonCode], props: Any
    ) -> None:
        if mid != self._sub_mid:
            return
        refused = [f for f, rc in zip(self.filters, reasons_, strict=False) if rc.is_failure]
        if refused:
            log.error("broker refused the subscriptions %s (acl: the gateway account's rights?)", refused)
            with self._link_lock:
                self._link = LinkState(
                    False, self._clock(), self._link.failures + 1, f"acl: refused {refused}"
                )
            return
        with self._link_lock:
            self._link = LinkState(True, self._clock(), 0, None)
        self.connected.set()
        self._queue.put(_CONNECTED)  # the worker republishes the retained state

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho calls this inside its ``except OSError`` around the attempt: the exception says why.
        exc = sys.exc_info()[1]
        if exc is None:
            self._failed("error", "connection attempt failed")
        else:
            self._failed(failure_reason(exc), str(exc) or type(exc).__name__)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        with self._conn_lock:
            self._connection = _DISCONNECTED
        was_up = self.connected.is_set()
        self.connected.clear()
        if was_up:
            with self._link_lock:
                self._link = LinkState(False, self._clock(), 0, f"disconnected: {reason}")
        if not self._stopping.is_set():
            log.warning("disconnected from the broker (%s); paho reconnects", reason)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            try:
                topic = msg.topic
            except UnicodeDecodeError:
                topic = ""
            item = Received(
                topic,
                bytes(msg.payload),
                msg.mid,
                msg.qos,
                bool(msg.retain),
                bool(msg.dup),
                self._clock(),
                self._connection,
            )
        except Exception:  # never let a message end paho's loop
            log.exception("could not take a message from paho (mid %s)", getattr(msg, "mid", "?"))
            item = Received("", b"", msg.mid, msg.qos, False, False, 0.0, self._connection)
        self._queue.put(item)
        self._count("received")

    # ------------------------------------------------------------ the worker

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if batch:
                try:
                    self._process(batch)
                except Exception:  # a bug here must not end the worker; the messages stay unacked
                    log.exception("bridge worker failed on a batch of %d messages", len(batch))
            for marker in self._drained:  # everything queued before them is handled now
                marker.done.set()
            self._drained.clear()
        while True:  # stopping: nobody waits on a drain that will not come
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Drain):
                item.done.set()

    def _next_batch(self) -> list[Received]:
        first = self._queue.get()
        while first is _CONNECTED or isinstance(first, _Drain):
            if isinstance(first, _Drain):
                first.done.set()  # nothing was queued before it
            else:
                self._republish()
            first = self._queue.get()
        if first is _STOP:
            return []
        batch: list[Received] = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_max:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP or item is _CONNECTED:
                self._queue.put(item)  # seen again after this batch
                break
            if isinstance(item, _Drain):
                self._drained.append(item)  # done once this batch is handled
                break
            batch.append(item)
        return batch

    def _republish(self) -> None:
        """Publish the retained state again (the broker may have lost it in a restart)."""
        if self._retained is None:
            return
        try:
            n = self._retained(self.publish)
        except Exception:
            log.exception("could not republish the retained state")
            return
        log.info("republished %d retained broadcast(s) after connecting", n)

    def _process(self, batch: Sequence[Received]) -> None:
        """Classify, then hand consecutive uplinks to the handler as one batch, and consecutive
        presence changes as another (one call, one transaction, when the handler has ``presences``).

        PUBACKs go out in the order the messages arrived (MQTT 3.1.1 section
        4.6): a skipped message stays in the run and is acked with it.
        """
        current = self._connection
        run: list[_Uplink | Received] = []
        seen: list[_Presence | Received] = []
        for item in batch:
            if item.qos > 0 and item.connection != current:
                self._count("dropped")  # the broker redelivers it on the current connection
                continue
            what = self._classify(item)
            if what is None:
                self._count("skipped")
                (seen if seen else run).append(item)
            elif isinstance(what, _Uplink):
                if seen:
                    self._presences(seen)
                    seen = []
                run.append(what)
            else:
                if run:
                    self._uplinks(run)
                    run = []
                seen.append(what)
        if seen:
            self._presences(seen)
        else:
            self._uplinks(run)

    def _presences(self, run: Sequence[_Presence | Received]) -> None:
        """A run of presence changes: one ``handler.presences`` call if it has one, else one by one."""
        changes = [p for p in run if isinstance(p, _Presence)]
        many = getattr(self.handler, "presences", None)
        if many is None or len(changes) < 2:
            for e in run:
                if isinstance(e, _Presence):
                    self._presence(e)
                else:
                    self._ack([e])
            return
        items = [(p.device_id, p.online, p.received.received_at) for p in changes]
        out = self._attempt(lambda: many(items), len(items))
        if isinstance(out, _Failed):
            if self._stopping.is_set():
                return
            log.error("%d presence changes dropped after %d failed attempts", len(items), self.retries)
            self._count("skipped", len(items))
            self._ack([e.received if isinstance(e, _Presence) else e for e in run])
            return
        self._count("handled", len(items))
        self._done([e.received if isinstance(e, _Presence) else e for e in run], out)

    def _classify(self, item: Received) -> _Uplink | _Presence | None:
        try:
            hall, device_id, channel = topics.parse(item.topic)
        except DecodeError:
            log.warning("skipped a message on a topic that is not hallvote v1: %r", item.topic[:120])
            return None
        if hall != self.hall_id or not device_id or channel not in SUBSCRIBED_CHANNELS:
            log.warning("skipped a message on %r: not an uplink of hall %s", item.topic, self.hall_id)
            return None
        if channel == "presence":
            online = _PRESENCE.get(item.payload)
            if online is None:
                log.warning(
                    "skipped presence of %s: payload %r is neither 01 nor 00", device_id, item.payload[:8]
                )
                return None
            return _Presence(item, device_id, online)
        return _Uplink(item, Inbound(device_id, channel, item.payload, item.received_at))

    def _uplinks(self, run: Sequence[_Uplink | Received]) -> None:
        """Hand the run's frames to the handler as one batch; ack the whole run in order after it returned."""
        uplinks = [e for e in run if isinstance(e, _Uplink)]
        if not uplinks:
            self._ack([e for e in run if isinstance(e, Received)])
            return
        batch = [u.inbound for u in uplinks]
        out = self._attempt(lambda: self.handler.handle_batch(batch), len(batch))
        if not isinstance(out, _Failed):
            self._count("handled", len(uplinks))
            self._done([e.received if isinstance(e, _Uplink) else e for e in run], out)
            return
        if self._stopping.is_set():
            return  # left unacked: the broker redelivers them to the next bridge
        if len(uplinks) > 1:
            # One poison frame must not hold the others back: each frame alone.
            log.error("a batch of %d frames keeps failing; handling them one by one", len(uplinks))
        for e in run:
            if self._stopping.is_set():
                return
            if not isinstance(e, _Uplink):
                self._ack([e])
            elif len(uplinks) > 1:
                self._uplinks([e])
            else:
                self._refuse(e)

    def _presence(self, p: _Presence) -> None:
        at = p.received.received_at
        out = self._attempt(lambda: self.handler.presence(p.device_id, p.online, at), 1)
        if isinstance(out, _Failed):
            if self._stopping.is_set():
                return
            log.error(
                "presence of %s (%s) dropped after %d failed attempts", p.device_id, p.online, self.retries
            )
            self._count("skipped")
            self._ack([p.received])
            return
        self._count("handled")
        self._done([p.received], out)

    def _attempt(self, call: Callable[[], Sequence[Outbound]], size: int) -> Sequence[Outbound] | _Failed:
        """``call()`` up to ``retries`` times with exponential backoff; _FAILED if it never returned."""
        for attempt in range(self.retries):
            if attempt and self._stopping.is_set():
                break
            try:
                return call()
            except Exception:
                self._count("handler_errors")
                log.exception(
                    "handler failed on %d message(s), attempt %d of %d; nothing acked",
                    size,
                    attempt + 1,
                    self.retries,
                )
            if attempt + 1 < self.retries:
                delay = min(self.retry_backoff_s * 2**attempt, self.retry_backoff_max_s)
                self._stopping.wait(delay)
        return _FAILED

    def _done(self, items: Sequence[Received], out: Sequence[Outbound]) -> None:
        """The handler returned: its decisions are durable.  Publish, then ack."""
        if out:
            self.publish_many(out)
        self._ack(items)

    def _refuse(self, u: _Uplink) -> None:
        """Nack a frame the handler could not take even alone, and ack its message.

        BUSY for a readable frame (nothing was recorded; the keypad may send it
        again), the decoder's reason for an unreadable one.
        """
        inbound = u.inbound
        try:
            frame = codec.decode_for_topic(inbound.channel, inbound.device_id, inbound.payload)
            assert isinstance(frame, Uplink)
            nack = Nack(frame.counter, reasons.BUSY, frame.TYPE)
        except ProtocolError as exc:
            counter, frame_type = peek(inbound.payload)
            nack = Nack(counter, exc.reason, frame_type)
        log.error(
            "refused frame %d of %s with %s: the handler failed on it %d times alone",
            nack.counter,
            inbound.device_id,
            reasons.name(nack.reason),
            self.retries,
        )
        self._count("refused")
        self.publish(Outbound(topics.device(self.hall_id, inbound.device_id, "down"), codec.encode(nack)))
        self._ack([u.received])

    def _ack(self, items: Sequence[Received]) -> None:
        """PUBACK each message, if it came on the connection we still have."""
        with self._conn_lock:
            current = self._connection
            for item in items:
                if item.qos and item.connection == current:
                    self._client.ack(item.mid, item.qos)
