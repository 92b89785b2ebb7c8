"""A real Mosquitto for tests, configured by the project's own generator.

Usage::

    from hvtest.mosquitto import running_broker

    def test_something(tmp_path):
        with running_broker(tmp_path, devices=["kp-1", "kp-2"]) as broker:
            gw = broker.paho(broker.gateway.username)   # on the loopback listener
            gw.subscribe(topics.device_filter(broker.hall, "up"))
            ...

or as a fixture in a test module::

    @pytest.fixture
    def broker(tmp_path):
        with running_broker(tmp_path) as b:
            yield b

The process itself (start with a bounded wait, SIGTERM, SIGKILL, log) is
the rig's :class:`hil.rig.broker.MosquittoProcess`.

The broker gets a TLS listener (the generated hall CA and server
certificate, ``broker.port``) and, unless ``local_listener=False``, the
plain loopback listener for the gateway (``broker.local_port``), both on
free ports of 127.0.0.1.  It can be stopped, killed and started again on
the same ports (``restart()``), with persistence on or off.  A missing
``mosquitto`` skips (or fails under HALLVOTE_REQUIRE_ALL=1) via
:func:`hvtest.tools.missing`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import queue
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from gateway.broker import config as bc
from hil.rig.broker import HOST, SERVER_NAME, BrokerStartError, MosquittoProcess, free_port
from hvtest.tools import need_executable

WAIT = 10.0  # seconds, for every bounded wait on the broker or a paho client


def mosquitto_executable() -> str:
    return need_executable(
        "mosquitto",
        extra_dirs=("/usr/sbin", "/usr/local/sbin"),
        hint="install Debian's mosquitto (apt-get install mosquitto)",
    )


class MosquittoBroker:
    """One Mosquitto process with a generated hall configuration in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        hall: str = "h1",
        devices: Iterable[str | tuple[str, str | None]] = ("kp-1", "kp-2"),
        persistence: bool = False,
        local_listener: bool = True,
        username_as_clientid: bool = True,
        acl_transform: Callable[[str], str] | None = None,
        conf_transform: Callable[[str], str] | None = None,
        seats: int = bc.DEFAULT_SEATS,
        dynsec: bool = False,
    ) -> None:
        self.exe = mosquitto_executable()
        self.workdir = Path(workdir).absolute()
        self.confdir = self.workdir / "broker"
        self.hall = hall
        self.host = HOST
        self.server_hostname = SERVER_NAME
        self.port = free_port()
        self.local_port = free_port() if local_listener else None
        self.settings = bc.BrokerSettings(
            hall=hall,
            port=self.port,
            bind=HOST,
            hosts=bc.DEFAULT_HOSTS,
            local_port=self.local_port,
            persistence=persistence,
            log_dest="stderr",
            run_as_user=getpass.getuser(),  # as root, mosquitto would otherwise drop to `mosquitto`
            username_as_clientid=username_as_clientid,
            seats=seats,
            dynsec=dynsec,
        )
        self.config, self.files = bc.write_broker_config(self.confdir, self.settings, devices)
        if acl_transform is not None:  # e.g. to prove a test notices a loosened ACL
            acl = self.files[bc.ACL_FILE]
            acl.write_text(acl_transform(acl.read_text()))
        self.conf_transform = conf_transform
        self.conf_path = self.files[bc.CONF]
        if conf_transform is not None:  # e.g. Mosquitto's defaults, to prove a limit matters
            self.conf_path.write_text(conf_transform(self.conf_path.read_text()))
        self.ca_path = self.files[bc.CA_CERT]
        self.log_path = self.workdir / "mosquitto.log"
        self.process = MosquittoProcess(self.exe, self.conf_path, self.log_path, self.confdir)
        self._clients: list[PahoClient] = []
        self._started_once = False

    # ------------------------------------------------------------ accounts

    @property
    def gateway(self) -> bc.Account:
        return self.config.account(bc.GATEWAY_USER)

    @property
    def display(self) -> bc.Account:
        return self.config.account(bc.DISPLAY_USER)

    @property
    def devices(self) -> tuple[bc.Account, ...]:
        return self.config.devices

    def password(self, username: str) -> str:
        return self.config.account(username).password

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the hall CA (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    # ------------------------------------------------------------ process

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self.process.proc

    @property
    def running(self) -> bool:
        return self.process.running

    def log(self) -> str:
        return self.process.log()

    def start(self) -> None:
        """Start and wait (bounded) until every listener accepts.

        On the very first start a port taken meanwhile by someone else is
        replaced by another free one (a few times); later starts keep the
        ports, so clients can reconnect after ``restart()``.
        """
        if self.running:
            return
        for attempt in range(3):
            try:
                self._start_once()
                self._started_once = True
                return
            except BrokerStartError as e:
                if self._started_once or attempt == 2 or "in use" not in str(e):
                    raise
                self._new_ports()

    def _new_ports(self) -> None:
        self.port = free_port()
        self.local_port = free_port() if self.local_port else None
        self.settings = dataclasses.replace(self.settings, port=self.port, local_port=self.local_port)
        conf = bc.render_conf(self.settings, self.confdir)
        self.conf_path.write_text(self.conf_transform(conf) if self.conf_transform else conf)

    def _start_once(self) -> None:
        self.process.start([self.port] + ([self.local_port] if self.local_port else []))

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence database), bounded wait, then SIGKILL."""
        self.process.stop()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing saved."""
        self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads the password file and ACL."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def close(self) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()
        self.stop()

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ paho clients

    def paho(
        self,
        username: str,
        *,
        password: str | None = None,
        client_id: str = "",
        clean_session: bool = True,
        tls: bool | None = None,
        connect: bool = True,
    ) -> PahoClient:
        """A paho-mqtt 3.1.1 client for ``username``, closed with the broker.

        ``tls=None`` uses the plain loopback listener when there is one
        (as the gateway on the hall server would) and TLS otherwise.
        """
        if tls is None:
            tls = self.local_port is None
        client = PahoClient(
            self,
            username,
            self.password(username) if password is None else password,
            client_id=client_id,
            clean_session=clean_session,
            tls=tls,
        )
        self._clients.append(client)
        if connect:
            client.connect()
        return client


class ConnectRefused(Exception):
    """paho's CONNACK refusal; ``code`` in paho's MQTT 5 numbering (134 bad credentials,
    135 not authorized) even on MQTT 3.1.1."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CONNACK refused with code {code}")
        self.code = code


class PahoClient:
    """paho-mqtt on its own thread; every callback only enqueues; every wait is bounded."""

    def __init__(
        self,
        broker: MosquittoBroker,
        username: str,
        password: str,
        *,
        client_id: str,
        clean_session: bool,
        tls: bool,
    ) -> None:
        self.broker = broker
        self.tls = tls
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._subs: list[tuple[str, int]] = []
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,
            clean_session=clean_session,
        )
        self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set_context(broker.ssl_context())
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._events.put(
            ("suback", (mid, [rc.value for rc in rcs]))
        )
        self.client.on_publish = lambda c, u, mid, rc, p: self._events.put(("puback", mid))
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        self._started = False

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self._events.put(("connack", rc.value))
        if rc.value == 0 and self._subs and not flags.session_present:
            client.subscribe(self._subs)

    def _wait(self, kind: str, match: Callable[[Any], bool] = lambda v: True) -> Any:
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} within {WAIT} s")
            try:
                ev_kind, value = self._events.get(timeout=left)
            except queue.Empty:
                continue
            if ev_kind == kind and match(value):
                return value

    def connect(self) -> None:
        port = self.broker.port if self.tls else self.broker.local_port
        assert port is not None
        self.client.connect(self.broker.host, port, keepalive=30)
        self.client.loop_start()
        self._started = True
        code = self._wait("connack")
        if code != 0:
            self.close()
            raise ConnectRefused(code)

    def wait_reconnected(self) -> None:
        """After a broker restart: wait for paho's own reconnect to be accepted."""
        self._wait("connack", lambda code: code == 0)

    def subscribe(self, topic_filter: str, qos: int = 1) -> list[int]:
        self._subs.append((topic_filter, qos))
        rc, mid = self.client.subscribe(topic_filter, qos)
        assert rc == paho.MQTT_ERR_SUCCESS, rc
        return list(self._wait("suback", lambda v: v[0] == mid)[1])

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            self._wait("puback", lambda mid: mid == info.mid)

    def expect(self, timeout: float = WAIT) -> paho.MQTTMessage:
        """The next message, or TimeoutError."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no message within {timeout} s") from None

    def expect_where(
        self, pred: Callable[[paho.MQTTMessage], bool], timeout: float = WAIT
    ) -> tuple[paho.MQTTMessage, list[paho.MQTTMessage]]:
        """Wait for a message matching ``pred``; also return the ones that came before it."""
        deadline = time.monotonic() + timeout
        before: list[paho.MQTTMessage] = []
        while True:
            msg = self.expect(max(0.0, deadline - time.monotonic()))
            if pred(msg):
                return msg, before
            before.append(msg)

    def close(self) -> None:
        if self._started:
            with contextlib.suppress(Exception):
                self.client.disconnect()
            self.client.loop_stop()
            self._started = False


@contextlib.contextmanager
def running_broker(workdir: Path | str | os.PathLike[str], **options: Any) -> Iterator[MosquittoBroker]:
    """Generate a configuration in ``workdir``, start Mosquitto, yield it, stop it."""
    with MosquittoBroker(Path(workdir), **options) as broker:
        yield broker
