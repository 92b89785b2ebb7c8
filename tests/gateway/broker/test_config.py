"""gateway.broker.config: files, errors, and the real Mosquitto accepting what we generate."""

from __future__ import annotations

import datetime
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hvtest.mosquitto import ConnectRefused, MosquittoBroker, running_broker
from hvtest.tools import need_executable

from gateway.broker import config as bc
from gateway.broker.owner import broker_user
from protocol import topics

# --------------------------------------------------------------- passwords


def test_hash_has_mosquitto_2_format() -> None:
    h = bc.hash_password("correct horse")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==", h)
    assert bc.check_password("correct horse", h)
    assert not bc.check_password("wrong horse", h)


def test_hash_is_salted_and_deterministic_for_a_given_salt() -> None:
    assert bc.hash_password("pw-12345678") != bc.hash_password("pw-12345678")
    salt = bytes(range(12))
    assert bc.hash_password("pw-12345678", salt=salt, iterations=5) == bc.hash_password(
        "pw-12345678", salt=salt, iterations=5
    )
    assert bc.hash_password("x" * 8, salt=salt, iterations=5).startswith("$7$5$AAECAwQFBgcICQoL$")


@pytest.mark.parametrize("bad", ["", "$6$abc$def", "$7$x$AAAA$BBBB", "$7$101$!!$!!", "$7$101$AA"])
def test_check_password_rejects_malformed_hashes(bad: str) -> None:
    assert not bc.check_password("anything", bad)


def test_check_password_accepts_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    exe = need_executable("mosquitto_passwd", hint="install Debian's mosquitto")
    pwfile = tmp_path / "pw"
    subprocess.run([exe, "-b", "-c", str(pwfile), "alice", "s3cret-pass"], check=True, timeout=30)
    user, hashed = pwfile.read_text().strip().split(":", 1)
    assert user == "alice"
    assert hashed.startswith("$7$")
    assert bc.check_password("s3cret-pass", hashed)
    assert not bc.check_password("s3cret-pasS", hashed)


# --------------------------------------------------------------- devices CSV


def test_parse_devices_csv_header_comments_and_generated_passwords() -> None:
    text = "device_id,password\n# a comment\n\nkp-1,\n kp-2 , long-enough-pw \nkp-3\n"
    assert bc.parse_devices_csv(text) == [("kp-1", None), ("kp-2", "long-enough-pw"), ("kp-3", None)]


@pytest.mark.parametrize(
    ("text", "row", "problem"),
    [
        ("kp-1\nKP-2\n", 2, "bad device id 'KP-2'"),
        ("kp-1\n-kp\n", 2, "bad device id '-kp'"),
        ("device_id,password\nkp-1,pw,extra\n", 2, "got 3 fields"),
        ("kp-1,short\n", 1, "password must be"),
        ("kp-1\nkp-2\n\nkp-123456789012345\n", 4, "bad device id"),
        ("kp-1,with\x01control\n", 1, "control character"),
    ],
)
def test_bad_csv_row_names_its_row(text: str, row: int, problem: str) -> None:
    with pytest.raises(bc.DevicesFileError) as info:
        bc.parse_devices_csv(text, source="devices.csv")
    assert info.value.row == row
    assert problem in str(info.value)
    assert f"devices.csv, row {row}" in str(info.value)


def test_duplicate_device_in_csv_names_both_rows() -> None:
    with pytest.raises(bc.DuplicateDeviceError, match=r"row 3: device 'kp-1' already listed in row 1"):
        bc.parse_devices_csv("kp-1\nkp-2\nkp-1\n")


def test_make_accounts_checks_ids_and_duplicates() -> None:
    with pytest.raises(bc.InvalidIdError, match="bad device id 'Kp'"):
        bc.make_accounts(["Kp"])
    with pytest.raises(bc.DuplicateDeviceError, match="'kp-1' listed twice"):
        bc.make_accounts(["kp-1", ("kp-1", "password-1")])
    accounts = bc.make_accounts(["kp-1", ("kp-2", "password-2")], known={"kp-1": "kept-password"})
    assert [(a.username, a.role) for a in accounts] == [
        (bc.GATEWAY_USER, bc.ROLE_GATEWAY),
        (bc.DISPLAY_USER, bc.ROLE_DISPLAY),
        ("kp-1", bc.ROLE_DEVICE),
        ("kp-2", bc.ROLE_DEVICE),
    ]
    assert accounts[2].password == "kept-password"
    assert accounts[3].password == "password-2"
    assert len(accounts[0].password) >= 20
    assert "kept-password" not in repr(accounts[2])


def test_service_accounts_can_never_be_device_ids() -> None:
    for user in (bc.GATEWAY_USER, bc.DISPLAY_USER):
        with pytest.raises(bc.InvalidIdError):
            bc.make_accounts([user])


# --------------------------------------------------------------- ACL


def test_acl_grants_exactly_the_issue_rights() -> None:
    hall = "h1"
    acl = bc.render_acl(hall, bc.make_accounts(["kp-1", "kp-2"]))
    blocks: dict[str, set[tuple[str, str]]] = {}
    current = None
    for line in acl.splitlines():
        if not line or line.startswith("#"):
            continue
        words = line.split()
        assert words[0] in ("user", "topic"), line  # no `pattern` lines: they apply to every user
        if words[0] == "user":
            current = words[1]
            blocks[current] = set()
        else:
            assert current is not None
            blocks[current].add((words[1], words[2]))

    def dev(d: str) -> set[tuple[str, str]]:
        return {
            ("write", topics.device(hall, d, "up")),
            ("write", topics.device(hall, d, "status")),
            ("write", topics.device(hall, d, "presence")),
            ("read", topics.device(hall, d, "down")),
            ("read", topics.broadcast_filter(hall)),
        }

    assert blocks == {
        bc.GATEWAY_USER: {
            ("read", topics.device_filter(hall, "up")),
            ("read", topics.device_filter(hall, "status")),
            ("read", topics.device_filter(hall, "presence")),
            ("write", topics.device_filter(hall, "down")),
            ("write", topics.broadcast_filter(hall)),
        },
        bc.DISPLAY_USER: {("read", topics.broadcast_filter(hall))},
        "kp-1": dev("kp-1"),
        "kp-2": dev("kp-2"),
    }


def test_acl_rejects_bad_hall() -> None:
    with pytest.raises(bc.InvalidIdError, match="bad hall id 'Hall 1'"):
        bc.render_acl("Hall 1", [])


# --------------------------------------------------------------- certificates


def test_ca_and_server_certificate() -> None:
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    ca = bc.make_ca("h1", now=now)
    server = bc.make_server_cert(ca, ["broker.hall", "localhost", "10.0.0.5", "::1"], now=now)
    ca_cert, cert = ca.cert, server.cert
    assert isinstance(ca_cert.public_key(), ec.EllipticCurvePublicKey)
    assert ca_cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    bcons = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bcons.critical and bcons.value.ca and bcons.value.path_length == 0
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca_cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["broker.hall", "localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5", "::1"]
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    assert ca.private_key().curve.name == "secp256r1"


@pytest.mark.parametrize("host", ["bad host", "-x.example", "a..b", "", "ex_ample.com"])
def test_bad_host_name_is_refused(host: str) -> None:
    with pytest.raises(bc.InvalidSettingError, match="bad host name"):
        bc.make_server_cert(bc.make_ca("h1"), [host])


def test_load_ca_checks_hall_and_key() -> None:
    ca = bc.make_ca("h1")
    assert bc.load_ca(ca.cert_pem, ca.key_pem, hall="h1") == ca
    with pytest.raises(bc.InvalidSettingError, match="not the CA of hall 'h2'"):
        bc.load_ca(ca.cert_pem, ca.key_pem, hall="h2")
    with pytest.raises(bc.InvalidSettingError, match="do not match"):
        bc.load_ca(ca.cert_pem, bc.make_ca("h1").key_pem)


# --------------------------------------------------------------- mosquitto.conf


def conf_lines(settings: bc.BrokerSettings, base: str = "/srv/hv") -> list[str]:
    return [ln for ln in bc.render_conf(settings, base).splitlines() if ln and ln[0] != "#"]


def test_conf_defaults_dynamic_security() -> None:
    lines = conf_lines(bc.BrokerSettings("h1"))
    assert any(ln.startswith("plugin /") and ln.endswith("/mosquitto_dynamic_security.so") for ln in lines)
    assert "plugin_opt_config_file /srv/hv/dynsec/dynamic-security.json" in lines
    assert not any(ln.startswith(("password_file", "acl_file")) for ln in lines)


def test_conf_defaults() -> None:
    lines = conf_lines(bc.BrokerSettings("h1", dynsec=False))
    for expected in [
        "per_listener_settings false",
        "allow_anonymous false",
        "password_file /srv/hv/passwd",
        "acl_file /srv/hv/acl",
        "persistence false",
        "log_dest stderr",
        "listener 8883 127.0.0.1",
        "certfile /srv/hv/server.crt",
        "keyfile /srv/hv/server.key",
        "tls_version tlsv1.2",
        "use_username_as_clientid true",
    ]:
        assert expected in lines
    assert sum(ln.startswith("listener ") for ln in lines) == 1
    assert not any(ln.startswith("user ") for ln in lines)


def test_conf_options() -> None:
    s = bc.BrokerSettings(
        "h1",
        port=9883,
        bind="0.0.0.0",
        local_port=1884,
        persistence=True,
        log_dest="file",
        run_as_user="mosquitto",
    )
    lines = conf_lines(s)
    assert "listener 9883 0.0.0.0" in lines
    assert "listener 1884 127.0.0.1" in lines  # plain listener: loopback only
    assert "persistence true" in lines
    assert "persistence_location /srv/hv/data/" in lines
    assert "log_dest file /srv/hv/mosquitto.log" in lines
    assert "user mosquitto" in lines
    # the plain listener does not inherit TLS: it comes after the TLS options
    plain = lines.index("listener 1884 127.0.0.1")
    assert not any(ln.startswith(("certfile", "keyfile")) for ln in lines[plain:])


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (dict(hall="H1"), bc.InvalidIdError, "bad hall id"),
        (dict(hall="h1", port=0), bc.InvalidSettingError, "port must be 1..65535"),
        (dict(hall="h1", local_port=70000), bc.InvalidSettingError, "local port"),
        (dict(hall="h1", port=1884, local_port=1884), bc.InvalidSettingError, "must differ"),
        (dict(hall="h1", bind="0.0.0.0 x"), bc.InvalidSettingError, "bad bind address"),
        (dict(hall="h1", hosts=()), bc.InvalidSettingError, "at least one host"),
        (dict(hall="h1", log_dest="console"), bc.InvalidSettingError, "log destination"),
        (dict(hall="h1", tls_version="tlsv1.1"), bc.InvalidSettingError, "TLS version"),
        (dict(hall="h1", run_as_user="a b"), bc.InvalidSettingError, "bad user name"),
    ],
)
def test_bad_settings_are_named(settings: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        bc.render_conf(bc.BrokerSettings(**settings), "/srv/hv")


def test_conf_needs_absolute_path_without_spaces() -> None:
    with pytest.raises(bc.InvalidSettingError, match="absolute path"):
        bc.render_conf(bc.BrokerSettings("h1"), "relative/dir")
    with pytest.raises(bc.InvalidSettingError, match="absolute path"):
        bc.render_conf(bc.BrokerSettings("h1"), "/srv/hall vote")


# --------------------------------------------------------------- writing the directory


def test_write_modes_and_rerun_keeps_ca_and_passwords(tmp_path: Path) -> None:
    out = tmp_path / "broker"
    settings = bc.BrokerSettings("h1", dynsec=False)
    first, written = bc.write_broker_config(out, settings, ["kp-1", "kp-2"])
    # root hands the broker's files to the user Mosquitto drops to; the folder lets it enter, not list
    user = broker_user(settings.run_as_user)
    assert stat.S_IMODE(out.stat().st_mode) == (0o711 if user else 0o700)
    if user is not None:
        assert (out / bc.SERVER_KEY).stat().st_uid == user.uid
        assert (out / bc.PASSWORD_FILE).stat().st_uid == user.uid
        assert (out / bc.CA_KEY).stat().st_uid == 0
        assert (out / bc.CREDENTIALS).stat().st_uid == 0
    for name, path in written.items():
        want = 0o600 if name in bc.SECRET_FILES else 0o644
        assert stat.S_IMODE(path.stat().st_mode) == want, name
    assert {bc.CA_KEY, bc.SERVER_KEY, bc.PASSWORD_FILE, bc.CREDENTIALS} <= bc.SECRET_FILES
    creds = bc.parse_credentials_csv((out / bc.CREDENTIALS).read_text())
    assert creds == {a.username: a.password for a in first.accounts}
    for line in (out / bc.PASSWORD_FILE).read_text().splitlines():
        user, hashed = line.split(":", 1)
        assert bc.check_password(creds[user], hashed)

    # add a device: the CA and every earlier password stay, so provisioned keypads keep working
    second, _ = bc.write_broker_config(out, settings, ["kp-1", "kp-2", "kp-3"])
    assert second.ca == first.ca
    for a in first.accounts:
        assert second.account(a.username).password == a.password
    assert second.account("kp-3").password not in creds.values()

    third, _ = bc.write_broker_config(out, settings, ["kp-1"], reuse=False)
    assert third.ca != first.ca
    assert third.account("kp-1").password != first.account("kp-1").password
    with pytest.raises(KeyError):
        third.account("kp-2")


def test_rerun_for_another_hall_refuses_the_existing_ca(tmp_path: Path) -> None:
    bc.write_broker_config(tmp_path, bc.BrokerSettings("h1"), [])
    with pytest.raises(bc.InvalidSettingError, match="not the CA of hall 'h2'"):
        bc.write_broker_config(tmp_path, bc.BrokerSettings("h2"), [])


def test_persistence_dir_is_inside_out_dir(tmp_path: Path) -> None:
    _, written = bc.write_broker_config(tmp_path, bc.BrokerSettings("h1", persistence=True), [])
    assert written["data"] == tmp_path / "data" and written["data"].is_dir()
    assert f"persistence_location {tmp_path}/data/" in written[bc.CONF].read_text()


# --------------------------------------------------------------- against the real Mosquitto


@pytest.mark.mosquitto
def test_real_mosquitto_accepts_every_generated_password(tmp_path: Path) -> None:
    devices = [("kp-1", "csv-given-password"), ("kp-2", None)]
    with running_broker(tmp_path, devices=devices, persistence=True) as broker:
        for account in broker.config.accounts:  # over TLS with the hall CA, as keypads connect
            broker.paho(account.username, tls=True).close()
        broker.paho(broker.gateway.username, tls=False).close()  # the plain loopback listener
        for user, pw in [("kp-1", "not-the-password"), ("nobody", "whatever-password")]:
            with pytest.raises(ConnectRefused) as info:
                broker.paho(user, password=pw, tls=True)
            # paho reports MQTT 5 numbering: 134 bad user name or password, 135 not authorized
            assert info.value.code in (134, 135)
        assert "Error" not in broker.log()


def acl_leaks(broker: MosquittoBroker) -> list[str]:
    """Try every forbidden publish, then a permitted one; return the forged ones that arrived.

    Each refusal is checked against a positive control published after it:
    QoS 1 publishes wait for their PUBACK, and Mosquitto routes a message
    before acknowledging it, so had a refused message been delivered it
    would sit in the subscriber's queue before the control.
    """
    hall = broker.hall
    gw = broker.paho(broker.gateway.username)
    for ch in ("up", "status", "presence"):
        assert gw.subscribe(topics.device_filter(hall, ch)) == [1]
    kp1 = broker.paho("kp-1", tls=True)
    kp1.subscribe(topics.device(hall, "kp-1", "down"))
    kp1.subscribe(topics.broadcast_filter(hall))
    kp2 = broker.paho("kp-2", tls=True)
    display = broker.paho(broker.display.username, tls=True)
    display.subscribe(topics.broadcast_filter(hall))

    # kp-2 cannot speak for kp-1, nor publish a downlink or a broadcast
    kp2.publish(topics.device(hall, "kp-1", "up"), b"kp-2 as kp-1 up")
    kp2.publish(topics.device(hall, "kp-1", "status"), b"kp-2 as kp-1 status")
    kp2.publish(topics.device(hall, "kp-1", "down"), b"kp-2 to kp-1 down")
    kp2.publish(topics.broadcast(hall, "motion"), b"kp-2 broadcast")
    # the display reads, never writes
    display.publish(topics.broadcast(hall, "motion"), b"display broadcast")
    # positive controls: these must always arrive
    kp2.publish(topics.device(hall, "kp-2", "up"), b"own")
    gw.publish(topics.device(hall, "kp-1", "down"), b"ack")
    gw.publish(topics.broadcast(hall, "motion"), b"motion")

    leaks: list[str] = []
    msg, before = gw.expect_where(lambda m: m.payload == b"own")
    assert msg.topic == topics.device(hall, "kp-2", "up")
    leaks += [m.payload.decode() for m in before]
    _, before = kp1.expect_where(lambda m: m.payload == b"motion")
    leaks += [m.payload.decode() for m in before if m.payload != b"ack"]
    assert b"ack" in [m.payload for m in before]
    _, before = display.expect_where(lambda m: m.payload == b"motion")
    leaks += [m.payload.decode() for m in before]
    return sorted(set(leaks))


@pytest.mark.mosquitto
def test_real_mosquitto_enforces_the_acl_between_accounts(tmp_path: Path) -> None:
    with running_broker(tmp_path, devices=["kp-1", "kp-2"]) as broker:
        assert acl_leaks(broker) == []


def _loosen(old: str, new: str):  # type: ignore[no-untyped-def]
    def transform(acl: str) -> str:
        assert old in acl
        return acl.replace(old, new)

    return transform


@pytest.mark.mosquitto
@pytest.mark.parametrize(
    ("transform", "leaked"),
    [
        (
            _loosen("topic write hallvote/v2/h1/dev/kp-2/up", "topic write hallvote/v2/h1/dev/+/up"),
            ["kp-2 as kp-1 up"],
        ),
        (
            _loosen("topic write hallvote/v2/h1/dev/kp-2/status", "topic write hallvote/v2/h1/dev/+/+"),
            ["kp-2 as kp-1 status", "kp-2 as kp-1 up", "kp-2 to kp-1 down"],
        ),
        (
            _loosen(
                "user _display\ntopic read hallvote/v2/h1/hall/+",
                "user _display\ntopic readwrite hallvote/v2/h1/hall/+",
            ),
            ["display broadcast"],
        ),
        (
            lambda acl: acl + "\npattern write hallvote/v2/h1/hall/%u\npattern write #\n",
            [
                "display broadcast",
                "kp-2 as kp-1 status",
                "kp-2 as kp-1 up",
                "kp-2 broadcast",
                "kp-2 to kp-1 down",
            ],
        ),
    ],
    ids=["device-writes-any-up", "device-writes-anything", "display-writes", "pattern-write-all"],
)
def test_acl_probe_notices_a_loosened_acl(tmp_path: Path, transform, leaked: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The probe above is not vacuous: loosen the generated ACL and it reports the leak."""
    with running_broker(tmp_path, devices=["kp-1", "kp-2"], acl_transform=transform) as broker:
        assert acl_leaks(broker) == leaked


@pytest.mark.mosquitto
def test_fixture_restarts_on_the_same_ports(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path, devices=["kp-1"])
    with broker:
        port, local = broker.port, broker.local_port
        broker.restart()
        assert (broker.port, broker.local_port) == (port, local)
        broker.paho("kp-1", tls=True).close()
        broker.kill()
        assert not broker.running
        broker.start()
        broker.paho(broker.gateway.username).close()
    assert not broker.running
