"""Keypad accounts in Mosquitto's dynamic-security plugin: its JSON file, and commands at runtime.

Two ways to change the accounts, one for each state of the broker:

* **broker stopped**: :func:`render_json` writes the plugin's whole file
  (``dynamic-security.json``, beside ``mosquitto.conf``) and
  :class:`DynsecFile` edits it (bulk provisioning of thousands of keypads
  costs one file write);
* **broker running**: the plugin owns the file (it rewrites it after
  every change), so :class:`DynsecClient` sends commands over MQTT to
  ``$CONTROL/dynamic-security/v1`` as the ``_control`` account, many
  commands per message (at most :data:`gateway.broker.limits.CONTROL_MAX`
  bytes of JSON), and waits for the plugin's answers.

Each keypad is a client (username = device id) with a role of its own
(``device-<id>``) that grants exactly what the static ACL would (its own
``up``, ``status``, ``presence``, ``down`` and the hall broadcasts):
Mosquitto 2.0's plugin does not expand ``%u`` in subscription ACLs, so a
shared role cannot say "its own".  The default access is deny for
publishing, receiving and subscribing.

Disabling or deleting a client makes the broker disconnect it at once
and refuse its next login; that is what a revoked or swapped-out keypad
gets.  Errors are :class:`DynsecError` with a reason code.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import json
import os
import queue
import secrets
import ssl
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import (
    CONTROL_TOPIC,
    DEFAULT_ITERATIONS,
    DYNSEC_FILE,
    ROLE_DEVICE,
    SALT_BYTES,
    Account,
    grants,
)
from .errors import BrokerConfigError, InvalidSettingError
from .limits import CONTROL_MAX

__all__ = [
    "PLUGIN_NAME",
    "RESPONSE_TOPIC",
    "DynsecClient",
    "DynsecError",
    "DynsecFile",
    "device_commands",
    "find_plugin",
    "keep_disabled",
    "render_json",
    "role_name",
]

PLUGIN_NAME = "mosquitto_dynamic_security.so"
PLUGIN_GLOBS = (
    "/usr/lib/*/" + PLUGIN_NAME,  # Debian, Ubuntu (multiarch)
    "/usr/lib/" + PLUGIN_NAME,
    "/usr/lib64/" + PLUGIN_NAME,
    "/usr/local/lib/" + PLUGIN_NAME,
    "/usr/local/lib/*/" + PLUGIN_NAME,
)
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
WAIT_S = 10.0


class DynsecError(BrokerConfigError):
    """A dynamic-security operation that failed; ``code`` says why (stable, for logs and tests)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


def find_plugin() -> str:
    """The path of the plugin, or InvalidSettingError saying what to do."""
    for pattern in PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise InvalidSettingError(
        f"找不到 Mosquitto 动态安全插件 {PLUGIN_NAME} / the dynamic-security plugin {PLUGIN_NAME} was not "
        "found (Debian: apt-get install mosquitto; or give its path, or use static accounts)"
    )


def role_name(account: Account) -> str:
    return f"device-{account.username}" if account.role == ROLE_DEVICE else f"hallvote-{account.role}"


def _acls(hall: str, account: Account) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for access, topic in grants(hall, account):
        kinds = ("publishClientSend",) if access == "write" else ("subscribePattern", "publishClientReceive")
        out.extend({"acltype": kind, "topic": topic, "priority": 0, "allow": True} for kind in kinds)
    return out


def _hash(password: str, iterations: int) -> dict[str, Any]:
    salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return {
        "password": base64.b64encode(digest).decode("ascii"),
        "salt": base64.b64encode(salt).decode("ascii"),
        "iterations": iterations,
    }


def _client(account: Account, iterations: int) -> dict[str, Any]:
    return {
        "username": account.username,
        "textname": account.role,
        "roles": [{"rolename": role_name(account)}],
        **_hash(account.password, iterations),
    }


def _role(hall: str, account: Account) -> dict[str, Any]:
    return {"rolename": role_name(account), "acls": _acls(hall, account)}


def render_json(hall: str, accounts: Sequence[Account], *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """The plugin's whole file for these accounts (hashed passwords, one role per account)."""
    doc = {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [_client(a, iterations) for a in accounts],
        "groups": [],
        "roles": [_role(hall, a) for a in accounts],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def device_commands(hall: str, device_id: str, password: str) -> list[dict[str, Any]]:
    """The commands that add one keypad at runtime: its role, then its client."""
    account = Account(device_id, password, ROLE_DEVICE)
    return [
        {"command": "createRole", "rolename": role_name(account), "acls": _acls(hall, account)},
        {
            "command": "createClient",
            "username": device_id,
            "password": password,
            "textname": ROLE_DEVICE,
            "roles": [{"rolename": role_name(account)}],
        },
    ]


# ---------------------------------------------------------------- the file, broker stopped


def keep_disabled(old_path: Path, new: bytes) -> bytes:
    """``new`` (a rendered file) with the clients disabled in the file at ``old_path`` still disabled."""
    try:
        old = json.loads(old_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DynsecError("BAD_FILE", f"cannot read {old_path}: {exc}") from None
    disabled = {c["username"] for c in old.get("clients", []) if c.get("disabled")}
    doc = json.loads(new)
    for c in doc["clients"]:
        if c["username"] in disabled:
            c["disabled"] = True
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


class DynsecFile:
    """Edit ``dynamic-security.json`` while the broker is stopped (it rewrites the file when running)."""

    def __init__(self, path: str | os.PathLike[str], hall: str) -> None:
        self.path = Path(path)
        self.hall = hall
        try:
            self.doc: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DynsecError("NO_FILE", f"no {DYNSEC_FILE} at {self.path}") from None
        except (OSError, ValueError) as exc:
            raise DynsecError("BAD_FILE", f"cannot read {self.path}: {exc}") from None

    def usernames(self) -> set[str]:
        return {c["username"] for c in self.doc.get("clients", [])}

    def add_devices(
        self, devices: Iterable[tuple[str, str]], *, iterations: int = DEFAULT_ITERATIONS
    ) -> None:
        have = self.usernames()
        for device_id, password in devices:
            if device_id in have:
                raise DynsecError("EXISTS", f"account exists: {device_id}")
            account = Account(device_id, password, ROLE_DEVICE)
            self.doc.setdefault("roles", []).append(_role(self.hall, account))
            self.doc.setdefault("clients", []).append(_client(account, iterations))
            have.add(device_id)

    def set_disabled(self, device_id: str, disabled: bool = True) -> None:
        for c in self.doc.get("clients", []):
            if c["username"] == device_id:
                c["disabled"] = disabled
                return
        raise DynsecError("NOT_FOUND", f"no account {device_id}")

    def save(self) -> None:
        """Write atomically, keeping the file's owner and mode (Mosquitto's user must read it)."""
        data = (json.dumps(self.doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        st = self.path.stat()
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, st.st_mode & 0o777)
            if os.geteuid() == 0:
                os.fchown(fd, st.st_uid, st.st_gid)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- commands, broker running


class DynsecClient:
    """Commands to a running broker's plugin over MQTT, as the ``_control`` account; thread-safe.

    ``connect()`` raises DynsecError("UNREACHABLE") when the broker does
    not answer or refuses the account ("REFUSED").
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        password: str,
        username: str = "_control",
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._events: queue.Queue[tuple[str, int]] = queue.Queue()
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{username}-{secrets.token_hex(4)}",
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        client.username_pw_set(username, password)
        if tls is not None:
            client.tls_set_context(tls)
            if server_hostname is not None:
                client.tls_insecure_set(False)
        client.on_connect = lambda c, u, f, rc, p: self._events.put(("connack", rc.value))
        client.on_subscribe = lambda c, u, mid, rcs, p: self._events.put(
            ("suback", max(r.value for r in rcs))
        )
        client.on_message = self._on_message
        self._client = client
        self._connected = False

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with contextlib.suppress(ValueError):
            self._answers.put(json.loads(msg.payload))

    def _event(self, kind: str) -> int:
        try:
            got, value = self._events.get(timeout=WAIT_S)
        except queue.Empty:
            raise DynsecError(
                "UNREACHABLE", f"no {kind} from the broker at {self.host}:{self.port}"
            ) from None
        return value if got == kind else -1

    def connect(self) -> DynsecClient:
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise DynsecError("TLS", f"broker {self.host}:{self.port}: {exc}") from None
        except OSError as exc:
            raise DynsecError("UNREACHABLE", f"broker {self.host}:{self.port}: {exc}") from None
        self._client.loop_start()
        self._connected = True
        if (code := self._event("connack")) != 0:
            self.close()
            raise DynsecError("REFUSED", f"the broker refused the control account (CONNACK {code})")
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        if self._event("suback") >= 0x80:
            self.close()
            raise DynsecError("REFUSED", "the broker refused the control account's subscription (ACL?)")
        return self

    def close(self) -> None:
        if self._connected:
            self._client.disconnect()
            self._client.loop_stop()
            self._connected = False

    def __enter__(self) -> DynsecClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self, commands: Sequence[dict[str, Any]], *, tolerate: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Send ``commands`` in as few messages as fit CONTROL_MAX; the plugin's answers, in order.

        Raises DynsecError("COMMAND") naming the first command the plugin refused
        (unless its error is one of ``tolerate``).
        """
        answers: list[dict[str, Any]] = []
        for chunk in _chunks(commands):
            answers.extend(self._send(chunk))
        for command, answer in zip(commands, answers, strict=True):
            if answer.get("error") and answer["error"] not in tolerate:
                name = command.get("username") or command.get("rolename") or ""
                raise DynsecError("COMMAND", f"{command['command']} {name}: {answer['error']}")
        return answers

    def _send(self, chunk: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            while not self._answers.empty():
                self._answers.get_nowait()
            payload = json.dumps({"commands": list(chunk)}, ensure_ascii=False).encode("utf-8")
            self._client.publish(CONTROL_TOPIC, payload, qos=1)
            try:
                answer = self._answers.get(timeout=WAIT_S)
            except queue.Empty:
                raise DynsecError("NO_ANSWER", "the dynamic-security plugin did not answer") from None
        responses = answer.get("responses", [])
        if len(responses) != len(chunk):
            raise DynsecError("NO_ANSWER", f"{len(chunk)} commands sent, {len(responses)} answered")
        return list(responses)

    # ---- what the gateway and provisioning use

    def add_devices(self, hall: str, devices: Iterable[tuple[str, str]]) -> None:
        self.run(
            [cmd for device_id, password in devices for cmd in device_commands(hall, device_id, password)]
        )

    def disable(self, device_ids: Iterable[str]) -> None:
        """Disconnect these keypads now and refuse their logins until enabled."""
        self.run(
            [{"command": "disableClient", "username": d} for d in device_ids], tolerate=("Client not found",)
        )

    def enable(self, device_ids: Iterable[str]) -> None:
        self.run([{"command": "enableClient", "username": d} for d in device_ids])

    def delete(self, device_ids: Iterable[str]) -> None:
        commands: list[dict[str, Any]] = []
        for d in device_ids:
            commands.append({"command": "deleteClient", "username": d})
            commands.append({"command": "deleteRole", "rolename": f"device-{d}"})
        self.run(commands)

    def client(self, username: str) -> dict[str, Any]:
        """The plugin's record of one client (``disabled``, ``roles``); DynsecError if unknown."""
        answer = self.run([{"command": "getClient", "username": username}])[0]
        record: dict[str, Any] = answer.get("data", {}).get("client", {})
        return record


def _chunks(commands: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 20
    for command in commands:
        n = len(json.dumps(command, ensure_ascii=False).encode("utf-8")) + 2
        if chunk and size + n > CONTROL_MAX:
            yield chunk
            chunk, size = [], 20
        chunk.append(command)
        size += n
    if chunk:
        yield chunk
