"""`hallvote demo --headless --json` at reduced size: every result equals the model's; no Mosquitto: exit 2, told why."""

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
def test_headless_demo_matches_the_model(tmp_path: Path) -> None:
    need_executable("mosquitto", extra_dirs=("/usr/sbin",), hint="apt-get install mosquitto")
    out = subprocess.run(
        [HALLVOTE, "demo", "--headless", "--json", "--keypads", "8", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["ok"] is True and report["seats"] == 8
    steps = {s["step"]: s for s in report["steps"]}
    assert list(steps) == ["checkin", "resolution", "livelihood", "rating"]
    for step in steps.values():
        assert step["match"] and step["expected"] == {k: step["actual"][k] for k in step["expected"]}
    assert steps["livelihood"]["actual"]["voted"] > 0 and len(steps["livelihood"]["actual"]["counts"]) == 12
    assert "chair" in out.stderr and "/display" in out.stderr  # the sign-in and the big screen's address


def test_demo_without_mosquitto_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "HALLVOTE_MOSQUITTO": str(tmp_path / "no-mosquitto")}
    out = subprocess.run(
        [HALLVOTE, "demo", "--headless"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 2
    assert "Mosquitto" in out.stderr and "apt-get install mosquitto" in out.stderr
