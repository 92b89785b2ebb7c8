"""docs/quickstart.md, run: its ``sh`` blocks in order, as written, against the real parts.

The blocks marked ``<!-- quickstart-test: skip ... -->`` (installing
packages, cloning) are left out.  The hall folder ``/srv/hallvote`` and
the ports 8883, 1884 and 8080 are swapped for a temporary folder and free
ports; nothing else is changed.  The commands run in one bash (``set -e``)
in the repository folder, with the project's virtualenv first on PATH, as
a reader who activated it would; whatever they left running (broker,
gateway, simulated keypad) is stopped afterwards by process group.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hvtest.micropython import need_micropython, need_mpy_cross
from hvtest.mosquitto import mosquitto_executable
from hvtest.tools import REPO, need_executable

DOC = REPO / "docs" / "quickstart.md"
BLOCK = re.compile(r"(<!-- quickstart-test: skip[^>]*-->\s*)?```sh\n(.*?)```", re.S)

pytestmark = pytest.mark.mosquitto


def blocks(text: str) -> list[tuple[bool, str]]:
    """(run?, body) of every ``sh`` block, in order."""
    return [(not m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def _cmdline(pid: int) -> list[str]:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def test_the_blocks_are_found() -> None:
    found = blocks(DOC.read_text(encoding="utf-8"))
    assert [run for run, _ in found][:1] == [False]  # the install block is skipped
    script = "".join(body for run, body in found if run)
    for needed in ("hallvote init", "mosquitto -c", "hallvote gateway run", "hallvote provision", "/open"):
        assert needed in script


def test_quickstart_runs_as_written() -> None:
    mosquitto = mosquitto_executable()
    need_executable("curl", hint="apt-get install curl")
    need_micropython()
    need_mpy_cross()
    ports = {"8883": _free_port(), "1884": _free_port(), "8080": _free_port()}
    root = Path(tempfile.mkdtemp(prefix="hv-quickstart-"))
    root.chmod(0o755)  # Mosquitto, dropped to its own user, must enter the hall folder
    hall = root / "hallvote"
    script = "".join(body for run, body in blocks(DOC.read_text(encoding="utf-8")) if run)
    script = script.replace("/srv/hallvote", str(hall))
    for default, port in ports.items():
        script = re.sub(rf"\b{default}\b", str(port), script)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{Path(mosquitto).parent}:{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
    }
    env.pop("HALLVOTE_TOKEN", None)
    proc = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=600)
        text = output.decode(errors="replace")
        logs = "".join(
            f"\n--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in hall.glob("*.log")
        )
        assert proc.returncode == 0, text[-6000:] + logs

        # the round is open: the last answer of step 5 is the live picture
        live = [json.loads(line) for line in text.splitlines() if line.startswith('{"hall"')]
        assert live and live[-1]["round"]["state"] == "open", text[-3000:]
        # the gateway registered the hall from hall.toml at start; the audit chain verifies
        assert "OK audit log intact" in text and "hall.registered" in text
        assert "override.quorum" in text and "device.registered" in text

        # the broker, started as root, dropped to its own user; everything left runs in our group
        running = {pid: _cmdline(pid) for pid in _group(proc.pid)}
        brokers = [pid for pid, cmd in running.items() if cmd and Path(cmd[0]).name == "mosquitto"]
        assert len(brokers) == 1, running
        if os.geteuid() == 0:
            uid = int(next(ln for ln in (Path("/proc") / str(brokers[0]) / "status").read_text().splitlines()
                           if ln.startswith("Uid:")).split()[1])
            assert uid == pwd.getpwnam("mosquitto").pw_uid

        # what init wrote: secrets 0600, tokens nowhere on disk
        for name in ("hall.toml", "gateway-broker.pass", "broker-control.pass"):
            assert stat.S_IMODE((hall / name).stat().st_mode) == 0o600, name
        assert "token_sha256" in (hall / "hall.toml").read_text()
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 10
            while _group(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["rm", "-rf", str(root)], check=False)
