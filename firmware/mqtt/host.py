"""The keypad's MQTT client with what a host program or a test wants on top; never on the keypad.

:class:`HostClient` is :class:`firmware.mqtt.client.MQTTClient` (the same
session, queue, bounds, counters and packets) plus what the keypad does not
run: :meth:`~HostClient.publish` that sends at once, :meth:`~HostClient.subscribe`
at run time with the broker's answer, :meth:`~HostClient.wait_connected`,
:meth:`~HostClient.is_pending` and :meth:`~HostClient.pending`, and
:meth:`~HostClient.drop_link` for fault injection.  The keypad posts with
:meth:`~firmware.mqtt.client.MQTTClient.post` and subscribes only to what
:func:`~firmware.mqtt.connect.for_device` sets, so it never loads this module.

Runs on MicroPython and CPython alike, like the client.
"""

import asyncio

from . import client as _client
from .client import _elapsed, _ticks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ("HostClient", "for_device")

_SUBACK = 9  # the packet type, first in a firmware.mqtt.client.parse tuple


class HostClient(_client.MQTTClient):
    """:class:`~firmware.mqtt.client.MQTTClient` with the conveniences of a host program."""

    def __init__(self, *args: "Any", **kw: "Any") -> None:
        _client.MQTTClient.__init__(self, *args, **kw)
        self._waiters: dict[int, list[Any]] = {}  # SUBACK by packet id: [Event, return codes]

    async def wait_connected(self, timeout: "float | None" = None) -> bool:
        """True once connected (within ``timeout`` seconds), else False."""
        start = _ticks()
        while not self.connected:
            if timeout is not None and _elapsed(start) >= timeout * 1000:
                return False
            await asyncio.sleep(0.01)
        return True

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> "int | None":
        """:meth:`post`, then send now if connected; returns the packet id (QoS 1) or None.

        Never raises on link loss: a QoS 1 message is then resent after the
        reconnect, a QoS 0 message is lost (and counted in ``dropped``).
        """
        pid = self.post(topic, payload, qos, retain)
        try:
            await self._pump()
        except OSError as e:  # the outer loop notices and reconnects
            self._link_lost(e)
        return pid

    def is_pending(self, packet_id: "int | None") -> bool:
        """True while a QoS 1 message is queued or awaiting its PUBACK.

        False once acknowledged, or once dropped from a full offline queue
        (counted in ``dropped``): the keypad's own retransmit-until-acked
        logic, not this flag, decides whether a vote was recorded.
        """
        return any(pid == packet_id for pid, _ in self._inflight + self._queue)

    def pending(self) -> int:
        """Messages queued or in flight."""
        return len(self._queue) + len(self._inflight)

    async def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = 10.0) -> "int | None":
        """Subscribe now and on every reconnect; the granted QoS, 0x80, or None if offline or
        unanswered within ``timeout`` seconds."""
        subscribe = _client._connect_path().subscribe  # the connect path's SUBSCRIBE
        subscribe(1, [(topic_filter, qos)])  # validates
        self._subs = [(f, q) for f, q in self._subs if f != topic_filter]
        self._subs.append((topic_filter, qos))
        if not self.connected:
            return None
        pid = self._next_pid()
        waiter = self._waiters[pid] = [asyncio.Event(), None]
        try:
            await self._send(subscribe(pid, [(topic_filter, qos)]))
            await asyncio.wait_for(waiter[0].wait(), timeout)
        except _client._TIMEOUT:  # before OSError: CPython's TimeoutError is an OSError
            pass
        except OSError as e:
            self._link_lost(e)
        finally:
            self._waiters.pop(pid, None)
        return waiter[1][0] if waiter[1] else None

    def drop_link(self) -> None:
        """Fault injection: lose the link abruptly (no DISCONNECT, so the broker sends the
        will); :meth:`run` notices and reconnects as after any link loss."""
        if self._writer is not None:
            self._link_lost(OSError("link dropped"))

    # ------------------------------------------------------------ the SUBACK waiters

    async def _handle(self, pkt: "tuple[Any, ...]") -> None:
        if pkt[0] == _SUBACK:  # (type, packet id, return codes)
            waiter = self._waiters.pop(pkt[1], None)
            if waiter is not None:
                waiter[1] = pkt[2]
                waiter[0].set()
        await _client.MQTTClient._handle(self, pkt)

    def _next_pid(self) -> int:
        while True:
            pid = _client.MQTTClient._next_pid(self)
            if pid not in self._waiters:
                return pid

    def _teardown(self) -> None:
        _client.MQTTClient._teardown(self)
        for waiter in self._waiters.values():
            waiter[0].set()
        self._waiters = {}


def for_device(
    hall: str, device_id: str, password: "str | bytes", host: str, port: int = 8883, **kw: "Any"
) -> HostClient:
    """:func:`firmware.mqtt.connect.for_device`, as a :class:`HostClient`."""
    client = _client._connect_path().for_device(hall, device_id, password, host, port, cls=HostClient, **kw)
    assert isinstance(client, HostClient)
    return client
