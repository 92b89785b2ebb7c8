"""protocol.topics: the topic scheme and its refusals."""

from __future__ import annotations

import pytest
from hvtest.strategies import device_ids
from hypothesis import given
from hypothesis import strategies as st

from protocol import reasons, topics
from protocol.errors import DecodeError, EncodeError


def test_device_and_broadcast_topics() -> None:
    assert topics.device("hall-1", "kp-0001", "up") == "hallvote/v2/hall-1/dev/kp-0001/up"
    assert topics.device("h", "d", "down") == "hallvote/v2/h/dev/d/down"
    assert topics.broadcast("hall-1", "motion") == "hallvote/v2/hall-1/hall/motion"
    assert topics.device_filter("hall-1", "status") == "hallvote/v2/hall-1/dev/+/status"
    assert topics.broadcast_filter("hall-1") == "hallvote/v2/hall-1/hall/+"


@given(device_ids, device_ids, st.sampled_from(topics.DEVICE_CHANNELS))
def test_parse_inverts_device(hall: str, dev: str, channel: str) -> None:
    assert topics.parse(topics.device(hall, dev, channel)) == (hall, dev, channel)


@pytest.mark.parametrize("channel", topics.BROADCAST_CHANNELS)
def test_parse_inverts_broadcast(channel: str) -> None:
    assert topics.parse(topics.broadcast("h1", channel)) == ("h1", "", channel)


@pytest.mark.parametrize(
    ("hall", "dev"),
    [
        ("Hall", "kp"),
        ("h", "kp/1"),
        ("h", "+"),
        ("h", "#"),
        ("", "kp"),
        ("h", "-kp"),
        ("h", "k" * 17),
        ("h", "座位"),
    ],
)
def test_bad_ids_are_refused(hall: str, dev: str) -> None:
    with pytest.raises(EncodeError) as err:
        topics.device(hall, dev, "up")
    assert err.value.reason == reasons.MALFORMED


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("hallvote/v1/h/dev/kp/up", reasons.BAD_VERSION),
        ("hallvote/v3/h/dev/kp/up", reasons.BAD_VERSION),
        ("hallvote/v2/h/dev/kp/sideways", reasons.MALFORMED),
        ("hallvote/v2/h/dev/KP/up", reasons.MALFORMED),
        ("hallvote/v2/h/dev/kp/up/extra", reasons.MALFORMED),
        ("hallvote/v2/h/hall/votes", reasons.MALFORMED),
        ("other/v2/h/dev/kp/up", reasons.MALFORMED),
        ("", reasons.MALFORMED),
    ],
)
def test_parse_refuses(topic: str, reason: int) -> None:
    with pytest.raises(DecodeError) as err:
        topics.parse(topic)
    assert err.value.reason == reason


def test_unknown_channels_are_refused() -> None:
    with pytest.raises(EncodeError):
        topics.device("h", "d", "sideways")
    with pytest.raises(EncodeError):
        topics.broadcast("h", "votes")
    with pytest.raises(EncodeError):
        topics.device_filter("h", "votes")
