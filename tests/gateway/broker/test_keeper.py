"""The running gateway disables a revoked keypad's broker account: disconnected at once, refused at login.

Real parts: Mosquitto with the dynamic-security plugin (generated config),
the gateway as its own process (``hallvote gateway run``) with the control
account's password file, SQLite, keypads on the TLS listener.
"""

from __future__ import annotations

import queue
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hvtest.databases import fresh_database
from hvtest.gatewayproc import GatewayProcess, free_port, wait_for, write_config
from hvtest.keypads import TestKeypad
from hvtest.mosquitto import WAIT, ConnectRefused, MosquittoBroker
from hvtest.seed import seed_hall

from gateway.broker import config as bc
from gateway.broker.keeper import AccountKeeper
from gateway.db import init_db, make_engine

HALL = "county-hall"
pytestmark = pytest.mark.mosquitto


class Watched:
    def __init__(self, broker: MosquittoBroker, username: str) -> None:
        self.events: queue.Queue[str] = queue.Queue()
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=username, protocol=paho.MQTTv311)
        c.username_pw_set(username, broker.password(username))
        c.tls_set_context(broker.ssl_context())
        c.on_connect = lambda cl, u, f, rc, p: self.events.put(f"connack {rc.value}")
        c.on_disconnect = lambda cl, u, f, rc, p: self.events.put("disconnect")
        c.reconnect_delay_set(5, 10)
        c.connect(broker.host, broker.port, keepalive=30)
        c.loop_start()
        self.client = c
        assert self.events.get(timeout=WAIT) == "connack 0"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_api_revoke_disconnects_the_keypad_and_refuses_it(tmp_path: Path) -> None:
    devices = ["kp-1", "kp-2", "kp-3"]
    with (
        fresh_database("sqlite", tmp_path) as url,
        MosquittoBroker(tmp_path, hall=HALL, devices=devices, dynsec=True) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        seed_hall(engine, hall_id=HALL, members=3)
        control = tmp_path / "control.pass"
        control.write_text(broker.password(bc.CONTROL_USER) + "\n")
        control.chmod(0o600)
        port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=port
        )
        config.write_text(
            config.read_text().replace("\n[api]", f'control_password_file = "{control}"\n\n[api]')
        )
        gw = GatewayProcess(config, port, tmp_path / "gateway.log")
        kp1, kp2 = Watched(broker, "kp-1"), Watched(broker, "kp-2")
        try:
            gw.start()
            revoked = gw.api("POST", "/devices/kp-2/revoke", role="technician")
            assert revoked.status_code == 200, revoked.text
            assert kp2.events.get(timeout=WAIT) == "disconnect"
            with pytest.raises(ConnectRefused):
                broker.paho("kp-2", tls=True)
            assert kp1.events.empty()  # the others stay
            wait_for(
                lambda: (
                    "broker accounts disabled (revoked keypads): kp-2"
                    in (tmp_path / "gateway.log").read_text()
                )
            )
            # a restarted gateway keeps it so (and a restarted broker kept the plugin's file)
            gw.stop()
            broker.restart()
            gw.start()
            with pytest.raises(ConnectRefused):
                broker.paho("kp-2", tls=True)
        finally:
            kp1.close()
            kp2.close()
            gw.stop()
            engine.dispose()


def test_api_swap_disconnects_the_swapped_out_keypad_and_refuses_it(tmp_path: Path) -> None:
    devices = ["kp-1", "kp-2", "kp-9"]
    with (
        fresh_database("sqlite", tmp_path) as url,
        MosquittoBroker(tmp_path, hall=HALL, devices=devices, dynsec=True) as broker,
    ):
        engine = make_engine(url)
        init_db(engine)
        seed_hall(engine, hall_id=HALL, members=2)
        control = tmp_path / "control.pass"
        control.write_text(broker.password(bc.CONTROL_USER) + "\n")
        port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=HALL, database_url=url, broker=broker, api_port=port
        )
        config.write_text(
            config.read_text().replace("\n[api]", f'control_password_file = "{control}"\n\n[api]')
        )
        gw = GatewayProcess(config, port, tmp_path / "gateway.log")
        kp1, kp9 = Watched(broker, "kp-1"), None
        try:
            gw.start()
            spare = TestKeypad("kp-9")
            r = gw.api(
                "POST",
                f"/halls/{HALL}/devices",
                role="technician",
                json={"device_id": "kp-9", "public_key": spare.public_key.hex()},
            )
            assert r.status_code == 201, r.text
            kp9 = Watched(broker, "kp-9")
            r = gw.api("POST", f"/halls/{HALL}/seats/A-1/swap", role="technician", json={"to": "kp-9"})
            assert r.status_code == 200, r.text
            assert kp1.events.get(timeout=WAIT) == "disconnect"  # the swapped-out keypad, at once
            with pytest.raises(ConnectRefused):
                broker.paho("kp-1", tls=True)
            assert kp9.events.empty()  # the replacement stays
        finally:
            kp1.close()
            if kp9 is not None:
                kp9.close()
            gw.stop()
            engine.dispose()


def test_keeper_retries_after_a_failure_and_forgets_nothing(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path, hall=HALL, devices=["kp-1", "kp-2"], dynsec=True) as broker:
        from gateway.broker.dynsec import DynsecClient

        assert broker.local_port is not None
        revoked = {"kp-1"}
        keeper = AccountKeeper(
            lambda: set(revoked),
            lambda: DynsecClient(
                host=broker.host, port=broker.local_port or 0, password=broker.password(bc.CONTROL_USER)
            ),
        )
        broker.stop()
        assert keeper.sync() == [] and keeper.last_error is not None and "UNREACHABLE" in keeper.last_error
        broker.start()
        assert keeper.sync() == ["kp-1"] and keeper.last_error is None
        assert keeper.sync() == []  # once
        revoked.add("gone")  # a keypad the broker does not know: nothing to disable, no error
        assert keeper.sync() == ["gone"]
        with pytest.raises(ConnectRefused):
            broker.paho("kp-1", tls=True)
        broker.paho("kp-2", tls=True)
        keeper.stop()
