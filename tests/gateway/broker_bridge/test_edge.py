"""The bridge's edge helpers: paho's filter matcher left out while no filter is added."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from gateway.broker_bridge.edge import FilterMatcher, skip_unused_filters

TOPIC = "hallvote/v2/county-hall/dev/kp-1/up"


def _client() -> paho.Client:
    return paho.Client(CallbackAPIVersion.VERSION2, client_id="edge-test", protocol=paho.MQTTv311)


def _deliver(client: paho.Client, topic: str) -> None:
    client._handle_on_message(paho.MQTTMessage(1, topic.encode()))  # what paho's loop calls per PUBLISH


def test_on_message_takes_every_message_without_a_filter_walk() -> None:
    client = _client()
    assert skip_unused_filters(client)
    seen: list[str] = []
    client.on_message = lambda c, u, msg: seen.append(msg.topic)
    _deliver(client, TOPIC)
    assert seen == [TOPIC]
    assert list(client._on_message_filtered.iter_match(TOPIC)) == []


def test_a_filter_added_later_is_still_matched() -> None:
    client = _client()
    skip_unused_filters(client)
    filtered: list[str] = []
    rest: list[str] = []
    client.on_message = lambda c, u, msg: rest.append(msg.topic)
    client.message_callback_add("hallvote/v2/+/dev/+/up", lambda c, u, msg: filtered.append(msg.topic))
    _deliver(client, TOPIC)
    _deliver(client, "hallvote/v2/county-hall/dev/kp-1/status")
    assert filtered == [TOPIC] and rest == ["hallvote/v2/county-hall/dev/kp-1/status"]


def test_a_client_with_filters_keeps_its_matcher() -> None:
    client = _client()
    client.message_callback_add("a/#", lambda *args: None)
    before: Any = client._on_message_filtered
    assert not skip_unused_filters(client)
    assert client._on_message_filtered is before and not isinstance(before, FilterMatcher)
