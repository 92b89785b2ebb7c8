"""gateway.broker.limits: each limit computed for the hall, and each one honoured by the real Mosquitto."""

from __future__ import annotations

import queue
import re
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hvtest.mosquitto import WAIT, MosquittoBroker

from gateway.broker import config as bc
from gateway.broker.limits import CONTROL_MAX, MAX_SEATS, limits_for
from protocol import consts, topics

HALL = "h1"


# --------------------------------------------------------------- the numbers


@pytest.mark.parametrize("seats", [1, 10, 200, 1000, 3000, MAX_SEATS])
def test_limits_grow_with_the_hall(seats: int) -> None:
    lim = limits_for(seats)
    assert lim.max_queued_messages >= 3 * seats
    assert lim.max_queued_messages >= 1000
    assert lim.max_inflight_messages >= 256
    assert CONTROL_MAX < lim.max_packet_size <= CONTROL_MAX + 1024
    assert lim.max_packet_size > consts.BROADCAST_MAX
    assert lim.set_tcp_nodelay


@pytest.mark.parametrize("bad", [0, -1, MAX_SEATS + 1, True, 2.5])
def test_bad_hall_size_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="seats"):
        limits_for(bad)  # type: ignore[arg-type]
    with pytest.raises(bc.InvalidSettingError, match="seats"):
        bc.render_conf(bc.BrokerSettings("h1", seats=bad), "/srv/hv")  # type: ignore[arg-type]


def test_conf_carries_the_limits_and_username_as_clientid_on_every_listener() -> None:
    conf = bc.render_conf(bc.BrokerSettings("h1", local_port=1884, seats=3000), "/srv/hv")
    lim = limits_for(3000)
    assert f"max_packet_size {lim.max_packet_size}" in conf
    assert f"max_queued_messages {lim.max_queued_messages}" in conf
    assert f"max_inflight_messages {lim.max_inflight_messages}" in conf
    assert "set_tcp_nodelay true" in conf
    assert conf.count("listener ") == conf.count("use_username_as_clientid true") == 2


# --------------------------------------------------------------- against the real broker


class Client:
    """paho on the loopback listener with connects, disconnects and messages seen; no auto-ack."""

    def __init__(self, broker: MosquittoBroker, username: str, *, client_id: str = "",
                 clean: bool = True, manual_ack: bool = False) -> None:
        self.events: queue.Queue[tuple[str, int]] = queue.Queue()
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311,
                        clean_session=clean, manual_ack=manual_ack)
        c.username_pw_set(username, broker.password(username))
        c.max_inflight_messages_set(0)  # paho itself never holds our publishes back
        c.max_queued_messages_set(0)
        c.on_connect = lambda cl, u, f, rc, p: self.events.put(("connack", rc.value))
        c.on_disconnect = lambda cl, u, f, rc, p: self.events.put(("disconnect", rc.value))
        c.on_subscribe = lambda cl, u, mid, rcs, p: self.events.put(("suback", rcs[0].value))
        c.on_message = lambda cl, u, m: self.messages.put(m)
        self.client = c
        assert broker.local_port is not None
        c.connect(broker.host, broker.local_port, keepalive=30)
        c.loop_start()
        assert self.event() == ("connack", 0)

    def event(self) -> tuple[str, int]:
        return self.events.get(timeout=WAIT)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self.event() == ("suback", 1)

    def drain(self, settle: float = 5.0, want: int | None = None) -> list[paho.MQTTMessage]:
        """Every message until ``want`` came or none came for ``settle`` seconds (bounded)."""
        out: list[paho.MQTTMessage] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (want is None or len(out) < want):
            try:
                out.append(self.messages.get(timeout=settle))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _grant_display_device_uplinks(acl: str) -> str:
    """Let the display account stand in for every keypad (one client sends a whole hall's burst)."""
    return acl.replace("user _display\n", f"user _display\ntopic write {topics.device_filter(HALL, 'up')}\n")


def _burst(broker: MosquittoBroker, n: int) -> int:
    """Publish ``n`` uplinks while the gateway's session is offline; how many reach it afterwards."""
    gw = Client(broker, bc.GATEWAY_USER, client_id="gw", clean=False)
    gw.subscribe(topics.device_filter(HALL, "up"))
    gw.close()
    sender = Client(broker, bc.DISPLAY_USER)
    infos = [sender.client.publish(topics.device(HALL, f"kp-{i % 3000}", "up"), b"x", qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(WAIT)
    sender.close()
    gw = Client(broker, bc.GATEWAY_USER, client_id="gw", clean=False)
    got = len(gw.drain(want=n))
    gw.close()
    return got


@pytest.mark.parametrize("mosquitto_default", [False, True])
def test_a_whole_hall_burst_is_queued_for_the_gateway(tmp_path: Path, mosquitto_default: bool) -> None:
    seats = 400  # limits_for(400): 1600 queued; Mosquitto's default would keep 1000
    n = 3 * seats - 100  # 1100 uplinks
    conf = (lambda c: re.sub(r"max_queued_messages \d+", "max_queued_messages 1000", c)) if mosquitto_default else None
    with MosquittoBroker(tmp_path, hall=HALL, devices=[], seats=seats, dynsec=False,
                         acl_transform=_grant_display_device_uplinks, conf_transform=conf) as broker:
        got = _burst(broker, n)
    if mosquitto_default:
        assert got < n  # the default drops part of the burst: the limit matters
    else:
        assert got == n


def test_inflight_window_fits_a_gateway_batch(tmp_path: Path) -> None:
    lim = limits_for(4)
    with MosquittoBroker(tmp_path, hall=HALL, devices=[], seats=4, dynsec=False,
                         acl_transform=_grant_display_device_uplinks) as broker:
        gw = Client(broker, bc.GATEWAY_USER, manual_ack=True)
        gw.subscribe(topics.device_filter(HALL, "up"))
        sender = Client(broker, bc.DISPLAY_USER)
        for i in range(lim.max_inflight_messages + 40):
            sender.client.publish(topics.device(HALL, f"kp-{i}", "up"), b"x", qos=1).wait_for_publish(WAIT)
        first = gw.drain(settle=3.0)
        assert len(first) == lim.max_inflight_messages  # the rest wait for acks
        for m in first:
            gw.client.ack(m.mid, m.qos)
        assert len(gw.drain(want=40)) == 40


def test_packet_size_limit(tmp_path: Path) -> None:
    lim = limits_for(200)
    with MosquittoBroker(tmp_path, hall=HALL, devices=["kp-1"], dynsec=False) as broker:
        gw = Client(broker, bc.GATEWAY_USER)
        # the largest legitimate payload passes ...
        info = gw.client.publish(topics.broadcast(HALL, "sitting"), b"s" * CONTROL_MAX, qos=1)
        info.wait_for_publish(WAIT)
        assert info.is_published()
        # ... a packet over the limit ends the connection
        gw.client.publish(topics.broadcast(HALL, "sitting"), b"x" * lim.max_packet_size, qos=0)
        assert gw.event()[0] == "disconnect"
        gw.close()


@pytest.mark.parametrize("on", [True, False])
def test_a_device_account_cannot_take_the_gateways_client_id_on_loopback(tmp_path: Path, on: bool) -> None:
    with MosquittoBroker(tmp_path, hall=HALL, devices=["kp-1"], dynsec=False,
                         username_as_clientid=on) as broker:
        gw = Client(broker, bc.GATEWAY_USER, client_id="hallvote-gw-h1")
        intruder = Client(broker, "kp-1", client_id="hallvote-gw-h1")
        if on:
            with pytest.raises(queue.Empty):
                gw.events.get(timeout=1.0)  # the gateway stays connected
        else:
            assert gw.event()[0] == "disconnect"  # without it, the takeover works: the option matters
        intruder.close()
        gw.client.loop_stop()


def test_broker_starts_with_tcp_nodelay(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path, hall=HALL, devices=[], dynsec=False) as broker:
        assert "set_tcp_nodelay true" in broker.conf_path.read_text()
        assert "Error" not in broker.log()
        Client(broker, bc.GATEWAY_USER).close()
