"""The real gateway as a separate process (`hallvote gateway run`), for integration and crash tests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as paho

from protocol import codec, reasons, topics

from .keypads import TestKeypad
from .mosquitto import MosquittoBroker, free_port

WAIT = 30.0
TOKENS = {
    "chair": "chair-token-0001",
    "clerk": "clerk-token-0001",
    "technician": "technician-token-0001",
    "display": "display-token-0001",
}


def write_config(path: Path, *, hall: str, database_url: str, broker: MosquittoBroker, api_port: int) -> Path:
    users = "\n".join(
        f'[[users]]\nname = "{role}"\nrole = "{role}"\ntoken_sha256 = "{hashlib.sha256(tok.encode()).hexdigest()}"\n'
        for role, tok in TOKENS.items()
    )
    assert broker.local_port is not None
    path.write_text(
        f'hall_id = "{hall}"\n'
        f'database_url = "{database_url}"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {broker.local_port}\nusername = "{broker.gateway.username}"\n'
        f'password = "{broker.gateway.password}"\n\n'
        f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n{users}',
        encoding="utf-8",
    )
    return path


class GatewayProcess:
    """Start, SIGKILL and restart `hallvote gateway run --config ...`; its output goes to a log file."""

    def __init__(self, config: Path, api_port: int, log: Path) -> None:
        self.config = config
        self.api_port = api_port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        exe = Path(sys.executable).with_name("hallvote")
        self.cmd = [str(exe) if exe.exists() else "hallvote", "gateway", "run", "--config", str(config)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.proc.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"gateway API did not come up:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self, method: str, path: str, role: str = "chair", **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=WAIT, **kwargs)  # type: ignore[arg-type]


@dataclass
class SimKeypad:
    """A keypad's network side: its own broker account, retransmitting each signed frame until answered.

    ``replies`` keeps the final answer per counter; a ``BUSY`` nack is not
    one (the gateway recorded nothing), so the frame stays ``pending``.
    """

    broker: MosquittoBroker
    keypad: TestKeypad
    replies: dict[int, object] = field(default_factory=dict)
    pending: dict[int, bytes] = field(default_factory=dict)
    broadcasts: list[bytes] = field(default_factory=list)
    history: list[object] = field(default_factory=list)  # every reply in arrival order, BUSY included
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: paho.Client | None = None

    def connect(self) -> None:
        dev = self.keypad.device_id
        c = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=dev, protocol=paho.MQTTv311, clean_session=True
        )
        c.username_pw_set(dev, self.broker.password(dev))
        c.tls_set_context(self.broker.ssl_context())
        connected = threading.Event()
        subscribed = threading.Event()

        def on_connect(client: paho.Client, *_: object) -> None:
            client.subscribe(
                [
                    (topics.device(self.broker.hall, dev, "down"), 1),
                    (topics.broadcast_filter(self.broker.hall), 1),
                ]
            )
            connected.set()

        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            if msg.topic.endswith("/down"):
                reply = codec.decode(msg.payload)
                with self.lock:
                    self.history.append(reply)
                    if getattr(reply, "reason", None) == reasons.BUSY:
                        return  # nothing recorded: the frame stays pending and is sent again (SPEC)
                    self.replies[reply.counter] = reply  # type: ignore[attr-defined]
                    self.pending.pop(reply.counter, None)  # type: ignore[attr-defined]
            else:
                with self.lock:
                    self.broadcasts.append(msg.payload)

        c.on_connect = on_connect
        c.on_subscribe = lambda *a: subscribed.set()
        c.on_message = on_message
        c.connect(self.broker.host, self.broker.port, keepalive=30)
        c.loop_start()
        if not (connected.wait(WAIT) and subscribed.wait(WAIT)):
            raise TimeoutError(f"{dev} could not connect and subscribe")
        self.client = c

    def send(self, frame: bytes, channel: str = "up") -> int:
        counter = codec.decode(frame).counter  # type: ignore[attr-defined]
        with self.lock:
            self.pending[counter] = frame
        assert self.client is not None
        self.client.publish(topics.device(self.broker.hall, self.keypad.device_id, channel), frame, qos=1)
        return counter

    def retransmit(self) -> int:
        with self.lock:
            frames = list(self.pending.values())
        assert self.client is not None
        for frame in frames:
            self.client.publish(topics.device(self.broker.hall, self.keypad.device_id, "up"), frame, qos=1)
        return len(frames)

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


def wait_for(
    pred: object, timeout: float = WAIT, every: float = 0.05, retransmit: Iterable[SimKeypad] = ()
) -> None:
    """Wait until pred() is true; keypads in ``retransmit`` resend their unanswered frames every second."""
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        if time.monotonic() - last > 1.0:
            for kp in retransmit:
                kp.retransmit()
            last = time.monotonic()
        time.sleep(every)


__all__ = ["TOKENS", "GatewayProcess", "SimKeypad", "free_port", "wait_for", "write_config"]
