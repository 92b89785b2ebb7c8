"""gateway.broker.dynsec against the real Mosquitto: keypad accounts managed at runtime."""

from __future__ import annotations

import json
import queue
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hvtest.mosquitto import WAIT, ConnectRefused, MosquittoBroker

from gateway.broker import config as bc
from gateway.broker import dynsec
from gateway.broker.limits import CONTROL_MAX
from protocol import topics


@pytest.fixture
def broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    with MosquittoBroker(tmp_path, devices=["kp-1", "kp-2"], dynsec=True) as b:
        yield b


def control(broker: MosquittoBroker) -> dynsec.DynsecClient:
    assert broker.local_port is not None
    return dynsec.DynsecClient(
        host=broker.host, port=broker.local_port, password=broker.password(bc.CONTROL_USER)
    ).connect()


class Watched:
    """A keypad on the TLS listener whose disconnects are seen (paho reconnect off)."""

    def __init__(self, broker: MosquittoBroker, username: str, password: str) -> None:
        self.events: queue.Queue[tuple[str, int]] = queue.Queue()
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=username, protocol=paho.MQTTv311)
        c.username_pw_set(username, password)
        c.tls_set_context(broker.ssl_context())
        c.on_connect = lambda cl, u, f, rc, p: self.events.put(("connack", rc.value))
        c.on_disconnect = lambda cl, u, f, rc, p: self.events.put(("disconnect", rc.value))
        c.connect(broker.host, broker.port, keepalive=30)
        c.loop_start()
        self.client = c
        assert self.next() == ("connack", 0)

    def next(self) -> tuple[str, int]:
        return self.events.get(timeout=WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_generated_file_admits_exactly_the_listed_accounts(broker: MosquittoBroker) -> None:
    doc = json.loads((broker.confdir / bc.DYNSEC_FILE).read_text())
    assert {c["username"] for c in doc["clients"]} == {"_gateway", "_display", "_control", "kp-1", "kp-2"}
    assert doc["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    text = (broker.confdir / bc.DYNSEC_FILE).read_text()
    assert all(a.password not in text for a in broker.config.accounts)  # only salted hashes
    kp1 = broker.paho("kp-1", tls=True)
    # its own downlink yes, another keypad's no (128 = refused)
    assert kp1.subscribe(topics.device(broker.hall, "kp-1", "down")) == [1]
    assert kp1.subscribe(topics.device(broker.hall, "kp-2", "down")) == [128]
    with pytest.raises(ConnectRefused):
        broker.paho("kp-1", password="not-the-password", tls=True)
    with pytest.raises(ConnectRefused):
        broker.paho("kp-9", password="whatever-password", tls=True)


def test_the_gateway_account_cannot_manage_accounts(broker: MosquittoBroker) -> None:
    assert broker.local_port is not None
    with pytest.raises(dynsec.DynsecError) as info:
        dynsec.DynsecClient(
            host=broker.host,
            port=broker.local_port,
            password=broker.password(bc.GATEWAY_USER),
            username=bc.GATEWAY_USER,
        ).connect()
    assert info.value.code == "REFUSED"


def test_disable_disconnects_at_once_and_refuses_login_enable_restores(broker: MosquittoBroker) -> None:
    kp1 = Watched(broker, "kp-1", broker.password("kp-1"))
    kp2 = Watched(broker, "kp-2", broker.password("kp-2"))
    with control(broker) as ctl:
        ctl.disable(["kp-1"])
        assert kp1.next()[0] == "disconnect"
        assert ctl.client("kp-1").get("disabled") is True
        with pytest.raises(ConnectRefused) as refused:
            broker.paho("kp-1", tls=True)
        assert refused.value.code in (134, 135)
        assert kp2.events.empty()  # the other keypad stays connected
        ctl.enable(["kp-1"])
        broker.paho("kp-1", tls=True)
    kp1.close()
    kp2.close()


def test_delete_and_add_at_runtime(broker: MosquittoBroker) -> None:
    with control(broker) as ctl:
        ctl.add_devices(broker.hall, [("kp-9", "password-of-kp-9")])
        kp9 = broker.paho("kp-9", password="password-of-kp-9", tls=True)
        assert kp9.subscribe(topics.device(broker.hall, "kp-9", "down")) == [1]
        assert kp9.subscribe(topics.device(broker.hall, "kp-1", "down")) == [128]
        with pytest.raises(dynsec.DynsecError) as twice:
            ctl.add_devices(broker.hall, [("kp-9", "password-of-kp-9")])
        assert twice.value.code == "COMMAND"
        watched = Watched(broker, "kp-2", broker.password("kp-2"))
        ctl.delete(["kp-2"])
        assert watched.next()[0] == "disconnect"
        with pytest.raises(ConnectRefused):
            broker.paho("kp-2", tls=True)
        watched.close()


def test_bulk_add_is_batched_within_the_control_limit(broker: MosquittoBroker) -> None:
    devices = [(f"b-{i:04d}", f"password-{i:04d}") for i in range(300)]
    commands = [c for d, p in devices for c in dynsec.device_commands(broker.hall, d, p)]
    chunks = list(dynsec._chunks(commands))
    assert 1 < len(chunks) < len(commands)
    assert all(len(json.dumps({"commands": c}).encode()) <= CONTROL_MAX for c in chunks)
    with control(broker) as ctl:
        ctl.add_devices(broker.hall, devices)
    broker.paho("b-0299", password="password-0299", tls=True)


def test_disabled_survives_restart_and_regeneration(broker: MosquittoBroker) -> None:
    with control(broker) as ctl:
        ctl.disable(["kp-2"])
    broker.stop()  # the plugin has saved its file
    bc.write_broker_config(broker.confdir, broker.settings, ["kp-1", "kp-2"])
    broker.start()
    with pytest.raises(ConnectRefused):
        broker.paho("kp-2", tls=True)
    broker.paho("kp-1", tls=True)


def test_file_edits_while_stopped(broker: MosquittoBroker) -> None:
    broker.stop()
    f = dynsec.DynsecFile(broker.confdir / bc.DYNSEC_FILE, broker.hall)
    f.add_devices([("kp-7", "password-of-kp-7")])
    f.set_disabled("kp-1")
    with pytest.raises(dynsec.DynsecError) as exists:
        f.add_devices([("kp-7", "x" * 10)])
    assert exists.value.code == "EXISTS"
    f.save()
    broker.start()
    broker.paho("kp-7", password="password-of-kp-7", tls=True)
    with pytest.raises(ConnectRefused):
        broker.paho("kp-1", tls=True)
