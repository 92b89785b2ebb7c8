"""The embedded Python broker (amqtt) for a machine without Mosquitto: the demo and the rig only.

Same certificates, accounts and grants as the generated Mosquitto
configuration (:func:`hil.rig.broker.hall_config`): a TLS listener for the
keypads with the hall's server certificate, a plain listener on loopback for
the gateway, every account's password checked by :class:`HallAuthPlugin`
and every publish, subscribe and delivery checked against
:func:`gateway.broker.config.grants` by :class:`HallTopicPlugin` (a keypad
may publish only on its own ``up``/``status``/``presence`` topics and read
only its own ``down`` topic and the hall broadcasts; a refused publish is
dropped, a refused subscription gets the failure code 0x80).

What does NOT apply here (Mosquitto only): dynamic security (adding and
revoking accounts at run time, disconnecting a revoked keypad), the
connection, message-size and queue limits, persistence and the
``allow_anonymous false`` / per-listener hardening of the generated
``mosquitto.conf``.  :data:`NOT_HARDENED` says so in Chinese and English.

The broker runs on its own asyncio loop on a thread of this process;
:meth:`EmbeddedBroker.stop` and :meth:`EmbeddedBroker.start` restart it on
the same ports (retained messages are lost, as with Mosquitto without
persistence).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.broker import config as bc
from hil.rig.broker import HOST, WAIT, KeypadListener, free_port, hall_config

__all__ = ["NOT_HARDENED", "EmbeddedBroker", "HallAuthPlugin", "HallTopicPlugin", "allowed", "within"]

NOT_HARDENED = (
    "内置 Python 代理（amqtt）：TLS、每台表决器独立账号与主题权限同 Mosquitto；"
    "Mosquitto 专有的加固（动态安全、连接与消息限额、持久化）在此不适用，仅供演示与测试。\n"
    "Embedded Python broker (amqtt): TLS, one account per keypad and the same topic grants as Mosquitto; "
    "the Mosquitto-only hardening (dynamic security, connection and message limits, persistence) "
    "does not apply here: for demos and tests only."
)

# The halls this process serves, by key: plugins get the key in their config (amqtt builds them itself).
_HALLS: dict[str, tuple[str, dict[str, bc.Account]]] = {}


def within(requested: str, allowed_filter: str) -> bool:
    """Whether every topic ``requested`` (a topic or a filter) can match is matched by ``allowed_filter``."""
    req, allow = requested.split("/"), allowed_filter.split("/")
    for i, a in enumerate(allow):
        if a == "#":
            return True
        if i >= len(req):
            return False
        r = req[i]
        if r == "#" or (r == "+" and a != "+"):
            return False
        if a != "+" and a != r:
            return False
    return len(req) == len(allow)


def allowed(hall: str, account: bc.Account, topic: str, action: str) -> bool:
    """``action`` (publish, subscribe, receive) on ``topic`` by ``account``, by the generated grants."""
    need = "write" if action == "publish" else "read"
    return any(access in (need, "readwrite") and within(topic, f) for access, f in bc.grants(hall, account))


def _lookup(key: str, username: str | None) -> tuple[str, bc.Account | None]:
    hall, accounts = _HALLS.get(key, ("", {}))
    return hall, accounts.get(username or "")


def _plugin_base() -> tuple[type, type]:
    from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

    return BaseAuthPlugin, BaseTopicPlugin


_BaseAuth, _BaseTopic = _plugin_base()


class HallAuthPlugin(_BaseAuth):  # type: ignore[misc,valid-type]
    """Admits an account of the hall with its password; refuses everything else (no anonymous)."""

    @dataclass
    class Config:
        hall_key: str = ""

    async def authenticate(self, *, session: Any) -> bool | None:
        _, account = _lookup(self.config.hall_key, session.username)
        given = session.password or ""
        if isinstance(given, bytes):
            given = given.decode("utf-8", "replace")
        return account is not None and hmac.compare_digest(account.password.encode(), given.encode())


class HallTopicPlugin(_BaseTopic):  # type: ignore[misc,valid-type]
    """Publish, subscribe and delivery only as the account's generated grants allow."""

    @dataclass
    class Config:
        hall_key: str = ""

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Any = None
    ) -> bool | None:
        if session is None or topic is None or action is None:
            return False
        hall, account = _lookup(self.config.hall_key, session.username)
        return account is not None and allowed(hall, account, topic, str(action.value))


class _Snapshot(dict):  # type: ignore[type-arg]
    """amqtt 0.11.3 iterates its subscriptions with ``.items()`` across awaits (the ACL check), so a
    subscription made meanwhile ended that broadcast with "dictionary changed size during iteration"
    and the message reached no one; iterating a snapshot delivers it to those subscribed when it came."""

    def items(self) -> Any:
        return list(super().items())


@dataclass
class _Running:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    broker: Any = None
    handlers: list[logging.Handler] = field(default_factory=list)


def _accepts(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """amqtt for ``hall`` with an account per device id; the same interface as HallBroker."""

    kind = "embedded"

    def __init__(
        self, workdir: Path, hall: str, devices: Iterable[str], listener: KeypadListener | None = None
    ) -> None:
        ids = list(devices)
        self.workdir = workdir
        self.hall = hall
        self.listener = listener or KeypadListener()
        self.host = self.listener.host
        self.server_hostname = self.listener.server_hostname
        self.port = free_port(self.listener.bind)
        self.local_port = free_port()
        self.config, files = hall_config(workdir, hall, ids, self.port, self.local_port, self.listener)
        self.ca_path = files[bc.CA_CERT]
        self.cert_path = files[bc.SERVER_CERT]
        self.key_path = files[bc.SERVER_KEY]
        self.log_path = workdir / "broker.log"
        self.key = f"{hall}@{id(self)}"
        _HALLS[self.key] = (hall, {a.username: a for a in self.config.accounts})
        self.restarts = 0
        self._run: _Running | None = None

    @property
    def gateway_account(self) -> bc.Account:
        return self.config.account(bc.GATEWAY_USER)

    def password(self, username: str) -> str:
        return self.config.account(username).password

    @property
    def running(self) -> bool:
        return self._run is not None

    def broker_config(self) -> dict[str, Any]:
        plugin = {"hall_key": self.key}
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{HOST}:{self.local_port}"},
                "keypads": {
                    "type": "tcp",
                    "bind": f"{self.listener.bind}:{self.port}",
                    "ssl": True,
                    "certfile": str(self.cert_path),
                    "keyfile": str(self.key_path),
                },
            },
            "plugins": {
                "hil.rig.embedded.HallAuthPlugin": plugin,
                "hil.rig.embedded.HallTopicPlugin": plugin,
            },
        }

    def start(self) -> None:
        if self._run is not None:
            return
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="hil-embedded-broker", daemon=True)
        thread.start()
        run = _Running(loop, thread)
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        amqtt_log = logging.getLogger("amqtt")
        amqtt_log.addHandler(handler)
        if amqtt_log.level == logging.NOTSET or amqtt_log.level > logging.INFO:
            amqtt_log.setLevel(logging.INFO)
        amqtt_log.propagate = False  # the demo's console shows its own lines only; the log file has these
        run.handlers.append(handler)

        async def up() -> Any:
            broker = Broker(self.broker_config())
            broker._subscriptions = _Snapshot()
            await broker.start()
            return broker

        self._run = run
        try:
            run.broker = self._call(up())
            deadline = time.monotonic() + WAIT
            while not (_accepts(self.port, self.listener.probe_host) and _accepts(self.local_port)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the embedded broker did not accept in {WAIT} s: {self.log()[-2000:]}")
                time.sleep(0.02)
        except BaseException:
            self.kill()
            raise

    def _call(self, coro: Any, timeout: float = WAIT) -> Any:
        assert self._run is not None
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._run.loop)
        return fut.result(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        run = self._run
        if run is None:
            return
        try:
            if run.broker is not None:
                self._call(run.broker.shutdown())
        except Exception:  # a broker that will not shut down cleanly is stopped with its loop
            logging.getLogger("amqtt").exception("embedded broker shutdown")
        finally:
            self._end(run)

    def _end(self, run: _Running) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_rest(), run.loop).result(WAIT)
        run.loop.call_soon_threadsafe(run.loop.stop)
        run.thread.join(WAIT)
        if not run.loop.is_running():
            run.loop.close()
        amqtt_log = logging.getLogger("amqtt")
        for h in run.handlers:
            amqtt_log.removeHandler(h)
            h.close()
        self._run = None

    def kill(self) -> None:
        """As stop: there is no process to kill; the loop and its connections end."""
        if self._run is not None:
            self._end(self._run)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1
