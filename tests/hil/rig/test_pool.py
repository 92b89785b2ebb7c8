"""SimRig with its keypads in worker processes (``processes=2``): real Mosquitto, the gateway process, SQLite.

A town sitting driven by the scenario runner through keypad mirrors gives
the model's results with a partition and a Wi-Fi cut fired mid-round in
both workers and a keypad swapped for a spare; a power cycle across processes keeps NVS; a worker that dies
is a RigError naming it, raised by the next wait or verb, never a hang; so is a press its worker refused.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from firmware.app import config
from firmware.app import states as S
from hil.rig import RigError, SimRig
from hil.rig.mirror import KeypadMirror
from hil.scenario import load, plan
from hil.scenario.runner import Runner
from hil.scenario.spec import Fault, resized

pytestmark = pytest.mark.mosquitto


def _nvs(r: SimRig, dev: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((r.workdir / "nvs" / f"{dev}.json").read_text())
    return data


def test_sitting_across_two_processes_matches_the_model(rig: Callable[..., SimRig]) -> None:
    s = resized(load("town"), 6)
    s = replace(
        s,
        motions=s.motions[:2],
        faults=(
            Fault("partition", "budget", 0.3, keypads=3, seconds=2),
            Fault("cut_wifi", "projects", 0.5, keypads=2, seconds=2),
            Fault("swap", "projects", 0.6, keypads=1),
        ),
    )
    r = rig(s.seats, seed_value=s.seed, processes=2, spares=1)
    assert r.pool is not None and len(set(r.pool.pids())) == 2 and os.getpid() not in r.pool.pids()
    workers = {r.pool.keypads[d].worker for d in r.ids()}
    assert workers == {0, 1}  # dealt over both workers
    assert all(isinstance(kp, KeypadMirror) and kp.state in S.ONLINE for kp in r.keypads.values())

    # A power cycle across processes: RAM lost (a new boot), NVS kept (key, boot count).
    dev = r.ids()[1]
    before = _nvs(r, dev)
    r.power_cycle([dev], 0.2)
    r.wait(lambda: r.keypads[dev].boots == 2 and r.keypads[dev].state in S.ONLINE, "power-cycled keypad back", 60)
    after = _nvs(r, dev)
    assert after[config.NVS_SECRET] == before[config.NVS_SECRET]
    assert int(after[config.NVS_BOOTS], 16) == int(before[config.NVS_BOOTS], 16) + 1

    report = Runner(r, plan(s), speed=0.0, show_progress=False).run()
    assert [f["verb"] for f in report["faults"]] == ["partition", "cut_wifi", "swap"]
    assert report["ok"], report
    assert [st["step"] for st in report["steps"]] == ["checkin", "budget", "projects"]
    assert all(st["match"] for st in report["steps"])
    # The faults reached the keypads' own links in the workers: connections reset or refused there.
    links = [r.link(d) for d in r.ids()]
    assert sum(ln["resets"] + ln["refused"] for ln in links) >= 3
    assert all(ln["bytes_up"] > 0 and ln["bytes_down"] > 0 for ln in links)
    # The swap: the failed keypad is off for good, the spare (checked in by the swap) runs on the same worker.
    [swap] = [f for f in r.faults if f["fault"] == "swap"]
    old_kp, new_kp = r.keypads[swap["old"]], r.keypads[swap["new"]]
    assert old_kp.state == "off" and new_kp.state in S.ONLINE and r.seats[swap["new"]] == swap["seat"]
    assert r.pool.keypads[swap["new"]].worker == r.pool.keypads[swap["old"]].worker
    # Every frame a keypad sent is in its mirror (what the secret-ballot scan reads).
    r.sync()
    assert all(r.keypads[d].sent for d in r.ids())


def test_a_dead_worker_is_a_rig_error_naming_it(rig: Callable[..., SimRig]) -> None:
    r = rig(3, processes=2)
    assert r.pool is not None
    victim = r.pool.workers[1]
    dev = victim.devices[0]
    os.kill(int(victim.proc.pid or 0), signal.SIGKILL)
    with pytest.raises(RigError, match=rf"keypad worker 1 \(pid {victim.proc.pid}.*exit code -9"):
        r.wait(lambda: False, "something that never comes", 60)  # reported at once, not timed out
    with pytest.raises(RigError, match="keypad worker 1"):
        r.press(dev, "checkin")
    with pytest.raises(RigError, match="keypad worker 1"):
        r.power_cycle([dev], 0.1)
    survivor = r.pool.workers[0].devices[0]
    assert r.keypads[survivor].state in S.ONLINE  # the other worker's keypads are untouched


def test_processes_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RigError, match="processes: at least 1"):
        SimRig(tmp_path, 3, processes=0)


def test_a_press_that_fails_in_its_worker_is_reported_by_the_next_wait(rig: Callable[..., SimRig]) -> None:
    r = rig(3, processes=2)
    dev = r.ids()[0]
    r.press(dev, "no-such-key")  # sent without waiting; the worker refuses it
    with pytest.raises(RigError, match=r"keypad worker 0 .*press failed: ValueError: kp-0001 has no key 'no-such-key'"):
        r.wait(lambda: False, "something that never comes", 60)
    with pytest.raises(RigError, match="press failed"):
        r.press(dev, "checkin")  # the rig no longer vouches for its keypads
