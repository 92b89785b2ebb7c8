"""Generated Mosquitto configuration for one hall: TLS, accounts and their rights, limits.

Accounts live in Mosquitto's dynamic-security plugin by default
(``dynsec/dynamic-security.json``, managed at runtime by the gateway:
:mod:`gateway.broker.dynsec`); with ``dynsec=False`` (``hallvote broker
config --static-accounts``) in a static ``passwd`` and ``acl`` instead,
which Mosquitto re-reads only on SIGHUP.  Limits (packet size, queues,
inflight window, TCP_NODELAY) come from the hall's size:
:mod:`gateway.broker.limits`.

What it makes (all text, returned by pure-ish functions; :func:`write`
puts them in a directory, secrets with mode 0600; as root, the files the
broker reads are handed to the user it runs as: :mod:`gateway.broker.owner`):

=================  ======  ====================================================
``ca.crt``         0644    the hall CA (EC P-256); provisioned onto every keypad
``ca.key``         0600    its private key; kept to re-issue the server cert
``server.crt``     0644    the broker's certificate for ``hosts`` (DNS and IP SANs)
``server.key``     0600    its private key
``dynsec/dynamic-security.json`` 0600  accounts, hashed passwords, a role per account
``passwd``         0600    (static accounts) password file, ``$7$`` PBKDF2-SHA512 hashes
``acl``            0644    (static accounts) the access control list (below)
``credentials.csv`` 0600   ``username,password,role`` in clear, for provisioning
``mosquitto.conf`` 0644    the broker configuration (absolute paths into the dir)
=================  ======  ====================================================

Accounts and their rights (topic strings always come from
:mod:`protocol.topics`):

* a **device** account per keypad; username = device id.  It may publish only
  on its own ``up``, ``status`` and ``presence`` topics and read only its own
  ``down`` topic and the hall broadcasts ``hall/+``.
* the **gateway** account ``_gateway`` reads every device's ``up``,
  ``status`` and ``presence`` and writes every device's ``down`` and the hall
  broadcasts.
* the read-only **display** account ``_display`` reads the hall broadcasts.
* with dynamic security, the **control** account ``_control`` may only
  send commands to the plugin (``$CONTROL/dynamic-security/v1``) and read
  its answers; the gateway uses it to add, disable and delete keypads.

The service usernames start with ``_``, which no device id can, so a device
can never be named like a service account.  The ACL uses one ``user`` block
per account rather than ``pattern`` lines: Mosquitto applies patterns to
*every* user, so a ``%u`` pattern would also grant the gateway and display
accounts a device-shaped uplink topic of their own that the gateway reads.
Per-user blocks grant exactly what is listed (and cost Mosquitto less per
check, since patterns are expanded on every publish).

Every listener sets ``use_username_as_clientid``, so a device cannot take
over another device's (or, on the loopback listener, the gateway's)
connection by reusing its client id.  The optional
plain listener is bound to 127.0.0.1 only, for the gateway on the same
machine.  Persistence is off by default: with secret ballots nothing on disk
may link a device to a choice, and the broker's store would hold queued
uplinks.  When enabled, it lives in ``data/`` inside the directory.
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import hmac
import io
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protocol import topics
from protocol.errors import EncodeError

from .errors import (
    BrokerConfigError,
    DevicesFileError,
    DuplicateDeviceError,
    InvalidIdError,
    InvalidSettingError,
)
from .errors import check_id as _check_id
from .limits import DEFAULT_SEATS, MAX_SEATS, BrokerLimits, limits_for
from .pki import DEFAULT_HOSTS, KeyPair, load_ca, make_ca, make_server_cert, subject_alt_name

__all__ = [
    "CONTROL_USER",
    "DEFAULT_HOSTS",
    "DEFAULT_ITERATIONS",
    "DEFAULT_SEATS",
    "DISPLAY_USER",
    "DYNSEC_FILE",
    "GATEWAY_USER",
    "MIN_PASSWORD",
    "ROLE_CONTROL",
    "ROLE_DEVICE",
    "ROLE_DISPLAY",
    "ROLE_GATEWAY",
    "Account",
    "BrokerConfigError",
    "BrokerSettings",
    "DevicesFileError",
    "DuplicateDeviceError",
    "GeneratedConfig",
    "InvalidIdError",
    "InvalidSettingError",
    "KeyPair",
    "check_password",
    "generate",
    "generate_password",
    "grants",
    "hash_password",
    "load_ca",
    "make_accounts",
    "make_ca",
    "make_server_cert",
    "parse_credentials_csv",
    "parse_devices_csv",
    "read_existing",
    "render_acl",
    "render_conf",
    "render_credentials",
    "render_password_file",
    "write",
    "write_broker_config",
]

GATEWAY_USER = "_gateway"
DISPLAY_USER = "_display"
ROLE_DEVICE = "device"
ROLE_GATEWAY = "gateway"
ROLE_DISPLAY = "display"
ROLE_CONTROL = "control"
CONTROL_USER = "_control"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
DYNSEC_DIR = "dynsec"
DYNSEC_FILE = "dynsec/dynamic-security.json"
DEFAULT_ITERATIONS = 101  # what mosquitto_passwd 2.x writes
MIN_PASSWORD = 8
MAX_PASSWORD = 200
SALT_BYTES = 12

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
CREDENTIALS = "credentials.csv"
CONF = "mosquitto.conf"
DATA_DIR = "data"
LOG_FILE = "mosquitto.log"
SECRET_FILES = frozenset({CA_KEY, SERVER_KEY, PASSWORD_FILE, CREDENTIALS, DYNSEC_FILE})


# ---------------------------------------------------------------- accounts and passwords


@dataclass(frozen=True)
class Account:
    username: str
    password: str = field(repr=False)
    role: str = ROLE_DEVICE


def generate_password() -> str:
    """A random password for a device or service account (24 URL-safe characters)."""
    return secrets.token_urlsafe(18)


def _check_password(password: str) -> str | None:
    """Return the problem with a password, or None."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"password must be {MIN_PASSWORD}..{MAX_PASSWORD} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        return "password contains a control character"
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS) -> str:
    """Mosquitto 2.x password hash: ``$7$<iterations>$<b64 salt>$<b64 PBKDF2-SHA512>``."""
    if iterations < 1:
        raise InvalidSettingError("password hash iterations must be >= 1")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, hashed: str) -> bool:
    """True if ``password`` matches a ``$7$`` hash (as mosquitto_passwd writes it)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        want = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(want))
    return hmac.compare_digest(got, want)


def parse_devices_csv(text: str, *, source: str = "devices CSV") -> list[tuple[str, str | None]]:
    """Rows ``device_id[,password]``; an empty password means "generate one".

    Blank lines and lines starting with ``#`` are skipped; a first row
    ``device_id,password`` (or ``device_id``) is a header.  Raises
    :class:`DevicesFileError` naming the row, or :class:`DuplicateDeviceError`.
    """
    out: list[tuple[str, str | None]] = []
    first_row: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    header_allowed = True
    for row in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not cells or all(not cell for cell in cells) or cells[0].startswith("#"):
            continue
        if header_allowed and [cell.lower() for cell in cells] in (
            ["device_id", "password"],
            ["device_id"],
        ):
            header_allowed = False
            continue
        header_allowed = False
        if len(cells) > 2:
            raise DevicesFileError(line, f"expected device_id,password, got {len(cells)} fields", source)
        device_id = cells[0]
        try:
            topics.check_id(device_id, "device")
        except EncodeError:
            raise DevicesFileError(
                line,
                f"bad device id {device_id!r}: must be 1..{topics.ID_MAX} of a-z 0-9 - and not start with -",
                source,
            ) from None
        password = cells[1] if len(cells) == 2 and cells[1] else None
        if password is not None and (problem := _check_password(password)):
            raise DevicesFileError(line, f"{problem} (device {device_id})", source)
        if device_id in first_row:
            raise DuplicateDeviceError(
                f"{source}, row {line}: device {device_id!r} already listed in row {first_row[device_id]}"
            )
        first_row[device_id] = line
        out.append((device_id, password))
    return out


def parse_credentials_csv(text: str) -> dict[str, str]:
    """Read a ``credentials.csv`` written by :func:`render_credentials`: username -> password."""
    out: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not row or row[0] == "username" or row[0].startswith("#"):
            continue
        if len(row) != 3:
            raise DevicesFileError(reader.line_num, "expected username,password,role", CREDENTIALS)
        out[row[0]] = row[1]
    return out


def make_accounts(
    devices: Iterable[tuple[str, str | None] | str],
    *,
    gateway_password: str | None = None,
    display_password: str | None = None,
    known: dict[str, str] | None = None,
    new_password: Callable[[], str] = generate_password,
    control: bool = False,
) -> list[Account]:
    """Gateway, display, (with ``control``) the dynamic-security account, and one account per device.

    A missing password is taken from ``known`` (e.g. a previous
    ``credentials.csv``) or generated with ``new_password``.
    """
    known = known or {}

    def pick(username: str, given: str | None) -> str:
        if given is not None:
            if problem := _check_password(given):
                raise InvalidSettingError(f"{problem} (account {username})")
            return given
        return known.get(username) or new_password()

    accounts = [
        Account(GATEWAY_USER, pick(GATEWAY_USER, gateway_password), ROLE_GATEWAY),
        Account(DISPLAY_USER, pick(DISPLAY_USER, display_password), ROLE_DISPLAY),
    ]
    if control:
        accounts.append(Account(CONTROL_USER, pick(CONTROL_USER, None), ROLE_CONTROL))
    seen: set[str] = set()
    for entry in devices:
        device_id, password = (entry, None) if isinstance(entry, str) else entry
        _check_id(device_id, "device")
        if device_id in seen:
            raise DuplicateDeviceError(f"device {device_id!r} listed twice")
        seen.add(device_id)
        accounts.append(Account(device_id, pick(device_id, password), ROLE_DEVICE))
    return accounts


def render_password_file(
    accounts: Sequence[Account],
    *,
    iterations: int = DEFAULT_ITERATIONS,
    salt: Callable[[], bytes] = lambda: os.urandom(SALT_BYTES),
) -> str:
    """Mosquitto's ``password_file``: ``username:$7$...`` per line."""
    return "".join(
        f"{a.username}:{hash_password(a.password, salt=salt(), iterations=iterations)}\n" for a in accounts
    )


def render_credentials(accounts: Sequence[Account]) -> str:
    """``username,password,role`` in clear, for provisioning keypads and the gateway."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["username", "password", "role"])
    for a in accounts:
        w.writerow([a.username, a.password, a.role])
    return buf.getvalue()


def grants(hall: str, account: Account) -> list[tuple[str, str]]:
    """What ``account`` may do, as ``(read|write, topic filter)`` pairs (ACL file and dynamic security)."""
    hall = _check_id(hall, "hall")
    if account.role == ROLE_GATEWAY:
        out = [("read", topics.device_filter(hall, ch)) for ch in ("up", "status", "presence")]
        out.append(("write", topics.device_filter(hall, "down")))
        out.append(("write", topics.broadcast_filter(hall)))
    elif account.role == ROLE_DISPLAY:
        out = [("read", topics.broadcast_filter(hall))]
    elif account.role == ROLE_DEVICE:
        dev = _check_id(account.username, "device")
        out = [("write", topics.device(hall, dev, ch)) for ch in ("up", "status", "presence")]
        out.append(("read", topics.device(hall, dev, "down")))
        out.append(("read", topics.broadcast_filter(hall)))
    elif account.role == ROLE_CONTROL:
        out = [("write", CONTROL_TOPIC), ("read", CONTROL_TOPIC + "/response")]
    else:
        raise InvalidSettingError(f"unknown role {account.role!r} for account {account.username}")
    return out


def render_acl(hall: str, accounts: Sequence[Account]) -> str:
    """The ACL: one ``user`` block per account, topics from :mod:`protocol.topics`."""
    hall = _check_id(hall, "hall")
    lines = [
        f"# hallvote ACL for hall {hall}. Generated by `hallvote broker config`; do not edit.",
        "# Anything not granted here is denied.",
    ]
    for a in accounts:
        lines.append("")
        lines.append(f"user {a.username}")
        lines.extend(f"topic {access} {topic}" for access, topic in grants(hall, a))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- mosquitto.conf


@dataclass(frozen=True)
class BrokerSettings:
    """Everything about the broker that is not an account."""

    hall: str
    port: int = 8883
    bind: str = "127.0.0.1"
    hosts: tuple[str, ...] = DEFAULT_HOSTS
    local_port: int | None = None  # plain MQTT on 127.0.0.1 for the gateway; None = off
    persistence: bool = False
    log_dest: str = "stderr"  # "stderr", "file" (mosquitto.log in the dir) or "syslog"
    run_as_user: str | None = None  # mosquitto's `user` option; None leaves the default
    username_as_clientid: bool = True
    tls_version: str = "tlsv1.2"  # the minimum TLS version
    iterations: int = DEFAULT_ITERATIONS
    seats: int = DEFAULT_SEATS  # the hall's size: queue and inflight limits (gateway.broker.limits)
    dynsec: bool = True  # accounts in the dynamic-security plugin; False: static passwd and acl files
    dynsec_plugin: str | None = None  # the plugin's path; None: found where Debian and others put it

    @property
    def limits(self) -> BrokerLimits:
        return limits_for(self.seats)

    def validate(self) -> None:
        _check_id(self.hall, "hall")
        if (
            isinstance(self.seats, bool)
            or not isinstance(self.seats, int)
            or not 1 <= self.seats <= MAX_SEATS
        ):
            raise InvalidSettingError(f"seats must be 1..{MAX_SEATS}, not {self.seats!r}")
        for what, port in (("port", self.port), ("local port", self.local_port)):
            if port is not None and (isinstance(port, bool) or not 1 <= port <= 65535):
                raise InvalidSettingError(f"{what} must be 1..65535, not {port!r}")
        if (
            self.local_port is not None
            and self.local_port == self.port
            and self.bind
            in (
                "127.0.0.1",
                "0.0.0.0",
                "localhost",
            )
        ):
            raise InvalidSettingError("the TLS port and the local plain port must differ")
        if not self.bind or not all(ch.isalnum() or ch in ".-:" for ch in self.bind):
            raise InvalidSettingError(f"bad bind address {self.bind!r}")
        for host in self.hosts:
            subject_alt_name(host)
        if not self.hosts:
            raise InvalidSettingError("at least one host name or IP address is needed")
        if self.log_dest not in ("stderr", "file", "syslog"):
            raise InvalidSettingError(
                f"log destination must be stderr, file or syslog, not {self.log_dest!r}"
            )
        if self.run_as_user is not None and (
            not self.run_as_user or any(ch.isspace() for ch in self.run_as_user)
        ):
            raise InvalidSettingError(f"bad user name {self.run_as_user!r}")
        if self.tls_version not in ("tlsv1.2", "tlsv1.3"):
            raise InvalidSettingError(f"TLS version must be tlsv1.2 or tlsv1.3, not {self.tls_version!r}")
        if self.iterations < 1:
            raise InvalidSettingError("password hash iterations must be >= 1")


def render_conf(settings: BrokerSettings, base_dir: str | os.PathLike[str]) -> str:
    """``mosquitto.conf`` referring to the generated files inside ``base_dir`` (absolute)."""
    settings.validate()
    base = str(base_dir)
    if not os.path.isabs(base) or any(ch.isspace() for ch in base):
        raise InvalidSettingError(
            f"configuration directory must be an absolute path without spaces: {base!r}"
        )
    base = base.rstrip("/") or "/"

    def p(name: str) -> str:
        return os.path.join(base, name)

    s = settings
    lines = [
        f"# hallvote Mosquitto configuration for hall {s.hall}.",
        "# Generated by `hallvote broker config`; regenerate rather than edit.",
        "",
        "per_listener_settings false",
        "allow_anonymous false",
    ]
    if s.dynsec:
        from .dynsec import find_plugin

        lines += [
            "# Accounts and rights: the dynamic-security plugin; the gateway manages keypads at runtime.",
            f"plugin {s.dynsec_plugin or find_plugin()}",
            f"plugin_opt_config_file {p(DYNSEC_FILE)}",
            "",
        ]
    else:
        lines += [f"password_file {p(PASSWORD_FILE)}", f"acl_file {p(ACL_FILE)}", ""]
    if s.persistence:
        lines += [
            "persistence true",
            f"persistence_location {p(DATA_DIR)}/",
        ]
    else:
        lines += [
            "# Off: with secret ballots nothing on disk may link a device to a choice.",
            "persistence false",
        ]
    if s.log_dest == "file":
        lines.append(f"log_dest file {p(LOG_FILE)}")
    else:
        lines.append(f"log_dest {s.log_dest}")
    lines.append("connection_messages true")
    lines += ["", *s.limits.conf_lines()]
    if s.run_as_user is not None:
        lines.append(f"user {s.run_as_user}")
    lines += [
        "",
        "# Keypads and remote clients: TLS with the hall CA only.",
        f"listener {s.port} {s.bind}",
        "protocol mqtt",
        f"certfile {p(SERVER_CERT)}",
        f"keyfile {p(SERVER_KEY)}",
        f"tls_version {s.tls_version}",
        f"use_username_as_clientid {'true' if s.username_as_clientid else 'false'}",
    ]
    if s.local_port is not None:
        lines += [
            "",
            "# The gateway on this machine: plain MQTT, loopback only.",
            f"listener {s.local_port} 127.0.0.1",
            "protocol mqtt",
            # On every listener: a device account here must not take the gateway's client id.
            f"use_username_as_clientid {'true' if s.username_as_clientid else 'false'}",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the whole directory


@dataclass(frozen=True)
class GeneratedConfig:
    """The files of one broker configuration, by name, and what went into them."""

    settings: BrokerSettings
    accounts: tuple[Account, ...]
    ca: KeyPair
    server: KeyPair
    files: dict[str, bytes]

    def account(self, username: str) -> Account:
        for a in self.accounts:
            if a.username == username:
                return a
        raise KeyError(username)

    @property
    def devices(self) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts if a.role == ROLE_DEVICE)


def generate(
    settings: BrokerSettings,
    devices: Iterable[tuple[str, str | None] | str],
    base_dir: str | os.PathLike[str],
    *,
    ca: KeyPair | None = None,
    known_passwords: dict[str, str] | None = None,
    gateway_password: str | None = None,
    display_password: str | None = None,
    now: datetime.datetime | None = None,
) -> GeneratedConfig:
    """Every file's contents, for a configuration that will live in ``base_dir``."""
    settings.validate()
    accounts = make_accounts(
        devices,
        gateway_password=gateway_password,
        display_password=display_password,
        known=known_passwords,
        control=settings.dynsec,
    )
    ca = ca if ca is not None else make_ca(settings.hall, now=now)
    server = make_server_cert(ca, settings.hosts, now=now)
    files = {
        CA_CERT: ca.cert_pem,
        CA_KEY: ca.key_pem,
        SERVER_CERT: server.cert_pem,
        SERVER_KEY: server.key_pem,
    }
    if settings.dynsec:
        from .dynsec import render_json

        files[DYNSEC_FILE] = render_json(settings.hall, accounts, iterations=settings.iterations).encode()
    else:
        files[PASSWORD_FILE] = render_password_file(accounts, iterations=settings.iterations).encode()
        files[ACL_FILE] = render_acl(settings.hall, accounts).encode()
    files[CREDENTIALS] = render_credentials(accounts).encode()
    files[CONF] = render_conf(settings, base_dir).encode()
    return GeneratedConfig(settings, tuple(accounts), ca, server, files)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask or an older file said
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
            f.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write(config: GeneratedConfig, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every file into ``out_dir`` (created 0700 if missing); secrets get mode 0600."""
    from .owner import broker_user, hand_over

    out = Path(out_dir)
    user = broker_user(config.settings.run_as_user)  # before writing: a missing user changes nothing
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    dirs: list[Path] = []
    if config.settings.dynsec:
        (out / DYNSEC_DIR).mkdir(mode=0o700, exist_ok=True)
        dirs.append(out / DYNSEC_DIR)
    for name, data in config.files.items():
        path = out / name
        _write_file(path, data, 0o600 if name in SECRET_FILES else 0o644)
        written[name] = path
    if config.settings.persistence:
        data_dir = out / DATA_DIR
        data_dir.mkdir(mode=0o700, exist_ok=True)
        written[DATA_DIR] = data_dir
        dirs.append(data_dir)
    if user is not None:
        reads = [SERVER_CERT, SERVER_KEY, CA_CERT, PASSWORD_FILE, ACL_FILE, DYNSEC_FILE]
        hand_over(out, [out / n for n in reads], dirs, user)
    return written


def read_existing(out_dir: str | os.PathLike[str], hall: str) -> tuple[KeyPair | None, dict[str, str]]:
    """The CA and passwords of an earlier run in ``out_dir``, so a re-run keeps them.

    Keypads trust the CA and hold their passwords, so regenerating either
    would lock every provisioned keypad out.
    """
    out = Path(out_dir)
    ca = None
    if (out / CA_CERT).exists() or (out / CA_KEY).exists():
        try:
            ca = load_ca((out / CA_CERT).read_bytes(), (out / CA_KEY).read_bytes(), hall=hall)
        except FileNotFoundError as e:
            raise InvalidSettingError(f"{out} has only one of {CA_CERT} and {CA_KEY}") from e
    known: dict[str, str] = {}
    if (out / CREDENTIALS).exists():
        known = parse_credentials_csv((out / CREDENTIALS).read_text(encoding="utf-8"))
    return ca, known


def write_broker_config(
    out_dir: str | os.PathLike[str],
    settings: BrokerSettings,
    devices: Iterable[tuple[str, str | None] | str] = (),
    *,
    reuse: bool = True,
    gateway_password: str | None = None,
    display_password: str | None = None,
) -> tuple[GeneratedConfig, dict[str, Path]]:
    """Generate and write a configuration into ``out_dir``.

    With ``reuse`` (the default) an existing hall CA and the passwords of
    accounts that are still listed are kept from an earlier run in the same
    directory.
    """
    out = Path(out_dir).absolute()
    settings.validate()
    ca, known = read_existing(out, settings.hall) if reuse else (None, {})
    config = generate(
        settings,
        devices,
        out,
        ca=ca,
        known_passwords=known,
        gateway_password=gateway_password,
        display_password=display_password,
    )
    if reuse and settings.dynsec and (out / DYNSEC_FILE).exists():
        from .dynsec import keep_disabled

        # A keypad the gateway disabled (revoked, swapped out) stays disabled.
        config.files[DYNSEC_FILE] = keep_disabled(out / DYNSEC_FILE, config.files[DYNSEC_FILE])
    return config, write(config, out)
