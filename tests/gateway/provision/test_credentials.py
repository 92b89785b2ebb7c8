"""gateway.provision.credentials: a new keypad account reaches the broker whichever way its folder says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hvtest.mosquitto import ConnectRefused, MosquittoBroker

from gateway.broker import config as bc
from gateway.provision.credentials import Credentials
from gateway.provision.errors import CredentialsError

pytestmark = pytest.mark.mosquitto


def test_dynamic_security_running_broker_gets_the_account_at_once(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path, devices=["kp-1"], dynsec=True) as broker:
        creds = Credentials(broker.confdir / bc.CREDENTIALS, broker.hall)
        password = creds.add_device("kp-50")
        assert creds.applied == "broker" and creds.changed
        broker.paho("kp-50", password=password, tls=True)  # no restart, no SIGHUP
        assert Credentials(broker.confdir / bc.CREDENTIALS, broker.hall).password("kp-50") == password
        with pytest.raises(CredentialsError):
            creds.add_device("kp-50")


def test_dynamic_security_stopped_broker_reads_it_at_start(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path, devices=["kp-1"], dynsec=True)
    creds = Credentials(broker.confdir / bc.CREDENTIALS, broker.hall)
    password = creds.add_device("kp-51")
    assert creds.applied == "file"
    with broker:
        broker.paho("kp-51", password=password, tls=True)


def test_static_accounts_need_sighup(tmp_path: Path) -> None:
    with MosquittoBroker(tmp_path, devices=["kp-1"], dynsec=False) as broker:
        creds = Credentials(broker.confdir / bc.CREDENTIALS, broker.hall)
        password = creds.add_device("kp-52")
        assert creds.applied == "static"
        assert (broker.confdir / bc.PASSWORD_FILE).read_text().count("kp-52:$7$") == 1
        with pytest.raises(ConnectRefused):
            broker.paho("kp-52", password=password, tls=True)
        broker.reload()
        broker.paho("kp-52", password=password, tls=True)
