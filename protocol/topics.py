"""MQTT topic scheme.

::

    hallvote/v2/<hall>/dev/<device>/up        keypad -> gateway  check-in, vote (signed)
    hallvote/v2/<hall>/dev/<device>/status    keypad -> gateway  hello, status (signed)
    hallvote/v2/<hall>/dev/<device>/presence  keypad -> gateway  01 online / 00 offline (last will), retained
    hallvote/v2/<hall>/dev/<device>/down      gateway -> keypad  ack, nack
    hallvote/v2/<hall>/hall/sitting           gateway -> all     sitting state, retained
    hallvote/v2/<hall>/hall/motion            gateway -> all     motion open / closed, retained
    hallvote/v2/<hall>/hall/result            gateway -> all     result summary, retained

Hall and device ids are 1..16 characters of ``a-z 0-9 -`` not starting with
``-``, so they can never contain an MQTT wildcard or separator.
"""

from . import reasons
from .errors import DecodeError, EncodeError

__all__ = [
    "BROADCAST_CHANNELS",
    "DEVICE_CHANNELS",
    "ID_MAX",
    "PREFIX",
    "PRESENCE_OFFLINE",
    "PRESENCE_ONLINE",
    "broadcast",
    "broadcast_filter",
    "check_id",
    "device",
    "device_filter",
    "parse",
]

PREFIX = "hallvote/v2"
ID_MAX = 16
DEVICE_CHANNELS = ("up", "status", "presence", "down")
BROADCAST_CHANNELS = ("sitting", "motion", "result")
PRESENCE_ONLINE = b"\x01"
PRESENCE_OFFLINE = b"\x00"

_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _valid_id(value: str) -> bool:
    if not 1 <= len(value) <= ID_MAX or value[0] == "-":
        return False
    return all(ch in _ID_CHARS for ch in value)


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid hall or device id, else raise EncodeError."""
    if not isinstance(value, str) or not _valid_id(value):
        raise EncodeError(reasons.MALFORMED, "%s must be 1..%d of a-z 0-9 - : %r" % (what, ID_MAX, value))
    return value


def device(hall: str, device_id: str, channel: str) -> str:
    """Topic of one device's channel (``up``, ``status``, ``presence``, ``down``)."""
    if channel not in DEVICE_CHANNELS:
        raise EncodeError(reasons.MALFORMED, "unknown device channel %r" % channel)
    return "%s/%s/dev/%s/%s" % (PREFIX, check_id(hall, "hall"), check_id(device_id, "device"), channel)


def broadcast(hall: str, channel: str) -> str:
    """Topic of a hall broadcast channel (``sitting``, ``motion``, ``result``)."""
    if channel not in BROADCAST_CHANNELS:
        raise EncodeError(reasons.MALFORMED, "unknown broadcast channel %r" % channel)
    return "%s/%s/hall/%s" % (PREFIX, check_id(hall, "hall"), channel)


def device_filter(hall: str, channel: str) -> str:
    """Subscription filter for one channel of every device in a hall (for the gateway)."""
    if channel not in DEVICE_CHANNELS:
        raise EncodeError(reasons.MALFORMED, "unknown device channel %r" % channel)
    return "%s/%s/dev/+/%s" % (PREFIX, check_id(hall, "hall"), channel)


def broadcast_filter(hall: str) -> str:
    """Subscription filter for every broadcast of a hall (for keypads and displays)."""
    return "%s/%s/hall/+" % (PREFIX, check_id(hall, "hall"))


def parse(topic: str) -> "tuple[str, str, str]":
    """Split a topic into ``(hall, device_id, channel)``; device_id is "" for broadcasts.

    Raises DecodeError for anything that is not a hallvote v2 topic.
    """
    parts = topic.split("/") if isinstance(topic, str) else []
    if len(parts) >= 2 and parts[0] == "hallvote" and parts[1] != "v2":
        raise DecodeError(reasons.BAD_VERSION, "topic version %r" % parts[1])
    if len(parts) == 6 and parts[0] + "/" + parts[1] == PREFIX and parts[3] == "dev":
        hall, dev, channel = parts[2], parts[4], parts[5]
        if _valid_id(hall) and _valid_id(dev) and channel in DEVICE_CHANNELS:
            return hall, dev, channel
    elif len(parts) == 5 and parts[0] + "/" + parts[1] == PREFIX and parts[3] == "hall":
        hall, channel = parts[2], parts[4]
        if _valid_id(hall) and channel in BROADCAST_CHANNELS:
            return hall, "", channel
    raise DecodeError(reasons.MALFORMED, "not a hallvote topic: %r" % (topic,))
