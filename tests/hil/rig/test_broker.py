"""The rig broker's keypad listener (hil/rig/broker.py KeypadListener): loopback by default, a LAN address
for a bench of physical keypads, with the generated configuration and certificate made for it.

Real Mosquitto (and the embedded broker) bound to 127.0.0.2 (a loopback address other than 127.0.0.1, so
"bound there and nowhere else" shows) and to 0.0.0.0 reached at this machine's own LAN address when it
has one; keypads' TLS clients check the hall CA and the address as the certificate's name, and log in.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from hvtest.tools import need_executable

from gateway.broker import config as bc
from hil.rig.base import HallRig
from hil.rig.broker import HOST, HallBroker, KeypadListener, free_port, hall_config
from hil.rig.embedded import EmbeddedBroker

HALL = "hil-hall"
DEV = "kp-0001"
OTHER = "127.0.0.2"


def lan_address() -> str:
    """This machine's address on its network (no packet is sent), else a second loopback address."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addr = str(s.getsockname()[0])
    except OSError:
        return OTHER
    return OTHER if ipaddress.ip_address(addr).is_loopback else addr


def sans(cert_path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in names}


def login(host: str, port: int, ca: Path, user: str, password: str) -> bool:
    """A keypad's TLS login at ``host``: the hall CA, the certificate checked for ``host`` as its name.

    True on CONNACK success, False on a refusal."""
    done = threading.Event()
    result: dict[str, Any] = {}
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user)
    c.username_pw_set(user, password)
    c.tls_set_context(ssl.create_default_context(cafile=str(ca)))  # the chain and the name checked

    def on_connect(_c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        result["ok"] = not rc.is_failure
        done.set()

    c.on_connect = on_connect
    c.connect(host, port)
    c.loop_start()
    try:
        assert done.wait(20), "no CONNACK"
    finally:
        c.disconnect()
        c.loop_stop()
    return bool(result["ok"])


def refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


# ---------------------------------------------------------------- one place computes the listener


def test_the_default_is_todays_loopback_listener(tmp_path: Path) -> None:
    lis = KeypadListener()
    assert (lis.host, lis.bind, lis.hosts, lis.server_hostname) == (HOST, HOST, bc.DEFAULT_HOSTS, "localhost")
    port, local = free_port(), free_port()
    _, files = hall_config(tmp_path, HALL, [DEV], port, local)
    conf = files[bc.CONF].read_text()
    assert f"listener {port} 127.0.0.1" in conf and f"listener {local} 127.0.0.1" in conf
    assert sans(files[bc.SERVER_CERT]) == {"localhost", "127.0.0.1"}  # not 127.0.0.2, nor a LAN address


def test_a_lan_listener_binds_and_names_the_address(tmp_path: Path) -> None:
    lis = KeypadListener("192.0.2.10", "0.0.0.0")
    assert lis.hosts == ("localhost", "127.0.0.1", "192.0.2.10") and lis.server_hostname == "192.0.2.10"
    assert lis.probe_host == HOST  # bound everywhere: loopback answers too
    port, local = free_port("0.0.0.0"), free_port()
    _, files = hall_config(tmp_path, HALL, [DEV], port, local, lis)
    conf = files[bc.CONF].read_text()
    assert f"listener {port} 0.0.0.0" in conf
    assert f"listener {local} 127.0.0.1" in conf  # the gateway's plain listener stays on loopback
    assert sans(files[bc.SERVER_CERT]) == {"localhost", "127.0.0.1", "192.0.2.10"}
    named = KeypadListener("bench.hall")
    assert named.bind == "bench.hall" and named.server_hostname == "bench.hall"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "bad host!", ""])
def test_an_address_keypads_cannot_reach_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(bc.InvalidSettingError):
        KeypadListener(host)
    with pytest.raises(bc.InvalidSettingError):  # the rig refuses it before seeding or starting anything
        HallRig(tmp_path / "rig", 1, keypad_host=host)
    assert not (tmp_path / "rig" / "hallvote.db").exists()


def test_a_malformed_bind_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(bc.InvalidSettingError):
        KeypadListener("192.0.2.10", "every address")
    with pytest.raises(bc.InvalidSettingError):
        HallRig(tmp_path / "rig", 1, keypad_host="192.0.2.10", listen_host="every address")


# ---------------------------------------------------------------- through the real brokers


@pytest.fixture
def mosquitto() -> None:
    need_executable("mosquitto", extra_dirs=("/usr/sbin",), hint="apt-get install mosquitto")


@pytest.mark.mosquitto
def test_mosquitto_on_a_given_address_only(tmp_path: Path, mosquitto: None) -> None:
    b = HallBroker(tmp_path, HALL, [DEV], KeypadListener(OTHER))
    b.start()
    try:
        assert (b.host, b.server_hostname) == (OTHER, OTHER)
        assert login(OTHER, b.port, b.ca_path, DEV, b.password(DEV))
        assert not login(OTHER, b.port, b.ca_path, DEV, "wrong-password-1")
        assert refused(HOST, b.port)  # bound to that address, not to 127.0.0.1
        assert not refused(HOST, b.local_port)  # the gateway's listener
    finally:
        b.stop()


@pytest.mark.mosquitto
def test_mosquitto_on_every_address_reached_at_the_lan_address(tmp_path: Path, mosquitto: None) -> None:
    lan = lan_address()
    b = HallBroker(tmp_path, HALL, [DEV], KeypadListener(lan, "0.0.0.0"))
    b.start()
    try:
        assert lan in sans(tmp_path / "broker" / bc.SERVER_CERT)
        assert login(lan, b.port, b.ca_path, DEV, b.password(DEV))
        assert not refused(HOST, b.port)
    finally:
        b.stop()


def test_the_embedded_broker_on_a_given_address(tmp_path: Path) -> None:
    b = EmbeddedBroker(tmp_path, HALL, [DEV], KeypadListener(OTHER))
    b.start()
    try:
        assert login(OTHER, b.port, b.ca_path, DEV, b.password(DEV))
        assert refused(HOST, b.port)
    finally:
        b.stop()


def test_free_port_is_below_the_ephemeral_range_bindable_and_never_repeated() -> None:
    from hil.rig import broker as rb

    low = rb._ephemeral_low()
    ports = [rb.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)  # never the same port twice in one process
    for port in ports[:5]:
        if low - 10000 >= 1000:  # an outgoing connection's own port never takes it
            assert 10000 <= port < low
        with socket.socket() as s:
            s.bind((rb.HOST, port))  # free when handed out
