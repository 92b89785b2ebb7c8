"""Benchmark of keypad broker accounts in Mosquitto's dynamic-security plugin.

    python -m hil.bench.accounts [--population N] [--revokes N] [--sample N] [--json]

Starts a real Mosquitto (generated configuration, dynamic security, a
temporary folder, free ports) and measures:

- **bulk, file**: the plugin's file for ``--population`` keypads written
  while the broker is stopped, then the broker's start;
- **revoke -> disconnect** on that broker: from the control command
  (``disableClient``, as the gateway's AccountKeeper sends it) to the
  keypad seeing its connection closed, for ``--revokes`` keypads connected
  on the TLS listener (median, p95, max);
- **adding accounts at runtime** to that broker: ``--sample`` accounts in
  batched messages, and as many one message per keypad (ms per account).
  The plugin rewrites its whole file after each change, so a runtime add
  costs more the larger the hall: bulk provisioning writes the file.

This is a measuring tool, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import queue
import shutil
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from gateway.broker import config as bc
from gateway.broker.dynsec import DynsecClient, device_commands
from hil.rig.broker import free_port

HOST = "127.0.0.1"


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(500):
        if proc.poll() is not None:
            raise RuntimeError("mosquitto exited")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("mosquitto did not accept")


class Broker:
    def __init__(self, folder: Path, devices: list[str]) -> None:
        self.port, self.local = free_port(), free_port()
        self.settings = settings = bc.BrokerSettings(
            hall="bench",
            port=self.port,
            bind=HOST,
            local_port=self.local,
            run_as_user=pwd.getpwuid(os.geteuid()).pw_name,  # as root: stay root in a temporary folder
            seats=max(200, len(devices)),
        )
        self.folder = folder
        self.config, self.files = bc.write_broker_config(folder, settings, devices)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        t0 = time.perf_counter()
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.files[bc.CONF])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.local, self.proc)
        return time.perf_counter() - t0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def control(self) -> DynsecClient:
        return DynsecClient(
            host=HOST, port=self.local, password=self.config.account(bc.CONTROL_USER).password
        )

    def keypad(self, device_id: str) -> tuple[paho.Client, queue.Queue[str]]:
        events: queue.Queue[str] = queue.Queue()
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=paho.MQTTv311)
        c.username_pw_set(device_id, self.config.account(device_id).password)
        c.tls_set_context(ssl.create_default_context(cafile=str(self.files[bc.CA_CERT])))
        c.on_connect = lambda cl, u, f, rc, p: events.put(f"connack {rc.value}")
        c.on_disconnect = lambda cl, u, f, rc, p: events.put("disconnect")
        c.reconnect_delay_set(30, 60)
        c.connect(HOST, self.port, keepalive=60)
        c.loop_start()
        if events.get(timeout=10) != "connack 0":
            raise RuntimeError(f"{device_id} could not connect")
        return c, events


def _stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        "max_ms": round(ms[-1], 2),
    }


def bench(population: int, revokes: int, sample: int) -> dict[str, Any]:
    """One broker holding ``population`` keypad accounts (written while stopped); measure on it."""
    devices = [f"kp-{i:05d}" for i in range(population)]
    out: dict[str, Any] = {"population": population}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        broker = Broker(Path(tmp) / "broker", devices)
        out["file_write_s"] = round(time.perf_counter() - t0, 3)
        out["broker_start_s"] = round(broker.start(), 3)
        try:
            keypads = [broker.keypad(d) for d in devices[:revokes]]
            samples = []
            with broker.control() as ctl:
                for device_id, (client, events) in zip(devices, keypads, strict=False):
                    t0 = time.perf_counter()
                    ctl.disable([device_id])
                    events.get(timeout=30)
                    samples.append(time.perf_counter() - t0)
                    client.loop_stop()
                out["revoke_to_disconnect"] = _stats(samples)
                batch = [(f"b-{i:05d}", f"password-{i:05d}") for i in range(sample)]
                t0 = time.perf_counter()
                ctl.add_devices("bench", batch)
                out["runtime_batched_ms_per_account"] = round((time.perf_counter() - t0) * 1000 / sample, 2)
                t0 = time.perf_counter()
                for i in range(sample):
                    ctl.run(device_commands("bench", f"o-{i:05d}", f"password-{i:05d}"))
                out["runtime_one_by_one_ms_per_account"] = round(
                    (time.perf_counter() - t0) * 1000 / sample, 2
                )
        finally:
            broker.stop()
    out["runtime_sample"] = sample
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=3000, help="keypad accounts on the broker")
    ap.add_argument("--revokes", type=int, default=50, help="keypads connected and revoked one by one")
    ap.add_argument("--sample", type=int, default=20, help="accounts added at runtime, each way")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    report = bench(args.population, min(args.revokes, args.population), args.sample)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    r = report["revoke_to_disconnect"]
    print(
        f"broker with {report['population']} keypad accounts: file written in {report['file_write_s']} s, "
        f"broker started in {report['broker_start_s']} s"
    )
    print(
        f"revoke -> disconnect ({r['n']} keypads): median {r['median_ms']} ms, p95 {r['p95_ms']} ms, "
        f"max {r['max_ms']} ms"
    )
    print(
        f"adding accounts at runtime ({report['runtime_sample']} each way): batched "
        f"{report['runtime_batched_ms_per_account']} ms/account, one by one "
        f"{report['runtime_one_by_one_ms_per_account']} ms/account"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
