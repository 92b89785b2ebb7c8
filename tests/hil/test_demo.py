"""`hallvote demo --headless --json` at reduced size with each broker: every result equals the model's.

With Mosquitto (``--broker mosquitto``), and without it (``HALLVOTE_MOSQUITTO`` names a missing file):
``--broker auto`` then runs the embedded Python broker and says what hardening it lacks;
``--broker mosquitto`` without Mosquitto exits 2, told why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hvtest.tools import need_executable

HALLVOTE = str(Path(sys.executable).with_name("hallvote"))


@pytest.mark.mosquitto
@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_headless_demo_matches_the_model(tmp_path: Path, broker: str) -> None:
    env = dict(os.environ)
    if broker == "mosquitto":
        need_executable("mosquitto", extra_dirs=("/usr/sbin",), hint="apt-get install mosquitto")
        args = ["--broker", "mosquitto", "--processes", "2"]  # the keypads in two worker processes
    else:  # a machine without Mosquitto: auto picks the embedded broker
        env["HALLVOTE_MOSQUITTO"] = str(tmp_path / "no-mosquitto")
        args = []
    out = subprocess.run(
        [HALLVOTE, "demo", "--headless", "--json", "--keypads", "8", "--data", str(tmp_path), *args],
        capture_output=True, text=True, timeout=400, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["ok"] is True and report["seats"] == 8 and report["broker"] == broker
    assert report["processes"] == (2 if broker == "mosquitto" else 1) and report["online_seconds"] > 0
    data = Path(report["data_folder"])
    if broker == "embedded":
        assert "Mosquitto-only hardening" in out.stderr and "不适用" in out.stderr
        assert (data / "broker.log").is_file() and not (data / "mosquitto.log").exists()
    else:
        assert "Mosquitto-only hardening" not in out.stderr and (data / "mosquitto.log").is_file()
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["checkin", "resolution", "livelihood", "rating"]
    for step in steps.values():
        assert step["match"] and step["expected"] == {k: step["actual"][k] for k in step["expected"]}
    assert steps["livelihood"]["actual"]["voted"] > 0 and len(steps["livelihood"]["actual"]["counts"]) == 12
    assert "chair" in out.stderr and "/display" in out.stderr  # the sign-in and the big screen's address


def test_demo_asked_for_mosquitto_without_it_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "HALLVOTE_MOSQUITTO": str(tmp_path / "no-mosquitto")}
    out = subprocess.run(
        [HALLVOTE, "demo", "--headless", "--broker", "mosquitto"], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "Mosquitto" in out.stderr and "apt-get install mosquitto" in out.stderr
    assert "--broker embedded" in out.stderr
    bad = subprocess.run([HALLVOTE, "demo", "--headless", "--broker", "rabbit"], capture_output=True, text=True,
                         env=env, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "auto" in bad.stderr
    none = subprocess.run([HALLVOTE, "demo", "--headless", "--processes", "0"], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert none.returncode == 2 and "--processes" in none.stderr
