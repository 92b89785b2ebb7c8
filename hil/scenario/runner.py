"""The scenario runner: drives a SimRig through a planned sitting and checks it against the model.

The chair and the clerk act through the gateway's API; every deputy acts
only through the keys of a keypad running the real firmware.  Faults fire
at their share of a phase's presses.  A deputy whose keypad does not show
"recorded" once the network has settled presses again (as in the hall).
The report (JSON-ready dict) holds, per step, expected vs actual, the
faults injected, the keypad invariants and ``ok``.
"""

from __future__ import annotations

import contextlib
import math
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from firmware.app import states as S
from hil.rig.hall import device_id
from hil.rig.sim import RigError, SimRig
from hil.scenario.model import MotionOutcome, Plan, Press
from hil.scenario.spec import Fault, MotionPlan
from protocol import consts

__all__ = ["Runner"]

KIND_CODES = {"resolution": consts.YES_NO_ABSTAIN, "selection": consts.ITEM_LIST, "rating": consts.RATING}
OUTCOMES = {
    consts.OUTCOME_PASSED: "passed", consts.OUTCOME_FAILED: "failed", consts.OUTCOME_SELECTED: "selected",
    consts.OUTCOME_TIE: "tie", consts.OUTCOME_NONE: "rated",
}  # fmt: skip
MORE_THAN_HALF_OF_ALL = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}
SETTLED = (S.CHECKED_IN, S.MOTION_OPEN, S.RECORDED, S.REFUSED, S.IDLE)
HALL_VERBS = ("kill_gateway", "restart_broker", "db_unreachable", "disk_full")  # not about chosen keypads
QUIET_S = 1.0  # a keypad not done, its phase open, nothing unanswered this long: its deputy presses again


class Runner:
    """``run()`` -> report.  ``speed`` scales the scenario's times (1 = as written, 0 = at once)."""

    def __init__(
        self,
        rig: SimRig,
        plan: Plan,
        *,
        speed: float = 1.0,
        show_progress: bool = True,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.rig = rig
        self.plan = plan
        self.s = plan.scenario
        self.speed = speed
        self.show_progress = show_progress
        self.say = say or (lambda _m: None)
        self.rng = random.Random(self.s.seed + 1)
        self.report: dict[str, Any] = {
            "scenario": self.s.name,
            "title": self.s.title,
            "seats": self.s.seats,
            "seed": self.s.seed,
            "machine": f"{platform.node()} {platform.machine()} {platform.python_implementation()} {platform.python_version()}",
            "steps": [],
            "faults": [],
            "invariants": [],
        }
        self.repressed = 0
        self.motion_ids: list[int] = []
        self.devices: dict[int, str] = {}  # member -> keypad now at their seat, after a swap
        self.progress: Progress | None = None

    # ------------------------------------------------------------ helpers

    def dev(self, member: int) -> str:
        return self.devices.get(member) or device_id(member)

    def pause(self) -> None:
        if self.speed:
            time.sleep(self.s.pause_s * self.speed)

    @contextlib.contextmanager
    def _bar(self) -> Iterator[None]:
        if not self.show_progress:
            yield
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as progress:
            self.progress = progress
            yield
            self.progress = None

    def _presses(self, phase: str, presses: list[tuple[int, float, tuple[str, ...]]]) -> None:
        """Presses (member, time, keys) at their times (scaled), each on the keypad at the member's seat
        when it is made; the phase's faults fire at their share of presses."""
        faults = sorted((f for f in self.s.faults if f.phase == phase), key=lambda f: f.after)
        task = self.progress.add_task(phase, total=len(presses)) if self.progress else None
        start = time.monotonic()
        for n, (member, at, keys) in enumerate(presses):
            while faults and n >= math.ceil(faults[0].after * len(presses)):
                self._fault(faults.pop(0), phase)
            wait = start + at * self.speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.rig.press(self.dev(member), *keys)
            if task is not None and self.progress is not None:
                self.progress.advance(task)
        for fault in faults:
            self._fault(fault, phase)

    def _fault(self, f: Fault, phase: str) -> None:
        members = self.rng.sample(sorted(self.plan.checkins), min(f.keypads, len(self.plan.checkins)))
        devs = [self.dev(m) for m in members]
        rig = self.rig
        self.say(f"故障 / fault: {f.verb} ({phase})")
        if f.verb == "kill_gateway":
            rig.kill_gateway(f.seconds)
        elif f.verb == "restart_broker":
            rig.restart_broker(f.seconds)
        elif f.verb == "power_cycle":
            rig.power_cycle(devs, f.seconds or 0.5)
        elif f.verb == "cut_wifi":
            rig.cut_wifi(devs, f.seconds)
        elif f.verb == "partition":
            rig.partition(devs, f.seconds)
        elif f.verb == "stall":
            rig.stall(devs, f.seconds)
        elif f.verb == "swap":  # the member's keypad fails; the technician swaps in a spare
            for m in members:
                self.devices[m] = rig.swap(self.dev(m))
        elif f.verb == "db_unreachable":
            rig.db_unreachable(f.seconds)
        elif f.verb == "disk_full":
            rig.disk_full(f.seconds)
        self.report["faults"].append(
            {
                "verb": f.verb,
                "during": phase,
                "after": f.after,
                "keypads": len(devs) if f.verb not in HALL_VERBS else 0,
                "seconds": f.seconds,
            }
        )

    def _longest_fault(self) -> float:
        return max((f.seconds for f in self.s.faults), default=0.0)

    def _settle(
        self, devs: list[str], what: str, done: Callable[[Any], bool], still_open: Callable[[Any], bool]
    ) -> None:
        """Wait until every keypad shows ``done``, or some do and the others have been quiet for QUIET_S:
        the phase still open on them (``still_open``), no frame awaiting an answer, no press unread.  A
        quiet keypad that is not done will not become done by itself (its press was lost with its RAM, or
        made on a keypad since swapped): its deputy presses again at once rather than after the timeout."""
        kps = [self.rig.keypads[d] for d in devs]
        quiet_since: list[float] = []

        def settled() -> bool:
            waiting = False
            for kp in kps:
                if kp.state not in SETTLED or kp.outbox_size or kp.keys_pending():
                    quiet_since.clear()
                    return False
                if not done(kp):
                    if kp.state not in (S.MOTION_OPEN, S.IDLE, S.REFUSED) or not still_open(kp):
                        quiet_since.clear()
                        return False
                    waiting = True
            if not waiting:
                return True
            if not quiet_since:
                quiet_since.append(time.monotonic())
            return time.monotonic() - quiet_since[0] >= QUIET_S

        self.rig.wait(settled, what, 30 + 2 * self._longest_fault() + self.s.seats / 100)

    def _open_s(self) -> float:
        """How long a broadcast may take to show on every keypad (longer for a large hall)."""
        return max(60.0, self.s.seats / 25)

    def _check(self, name: str, ok: bool, detail: Any = None) -> None:
        self.report["invariants"].append({"check": name, "ok": bool(ok), "detail": detail})

    # ------------------------------------------------------------ the sitting

    def run(self) -> dict[str, Any]:
        t0 = time.monotonic()
        with self._bar():
            self._checkin()
            for m in self.s.motions:
                self._motion(m)
        gw = self.rig.gateway
        assert gw is not None
        gw.call("POST", f"/sittings/{self.rig.sitting_id}/close")
        self._after_sitting()
        self.report["faults_injected"] = len(self.report["faults"])
        self.report["repressed"] = self.repressed
        self.report["motion_ids"] = list(self.motion_ids)
        self.report["seconds"] = round(time.monotonic() - t0, 1)
        self.report["ok"] = all(st["match"] for st in self.report["steps"]) and all(
            c["ok"] for c in self.report["invariants"]
        )
        return self.report

    def _checkin(self) -> None:
        rig, gw = self.rig, self.rig.gateway
        assert gw is not None
        sid = rig.sitting_id
        self.say("开始签到 / check-in open")
        gw.call("POST", f"/sittings/{sid}/checkin/open")
        roster = [self.dev(m) for m in range(1, self.s.seats + 1)]
        rig.wait(lambda: all(rig.keypads[d].sitting_state == consts.SITTING_CHECKIN_OPEN for d in roster),
                 "check-in open on every keypad", self._open_s())  # fmt: skip
        order = sorted(self.plan.checkins.items(), key=lambda kv: kv[1])
        self._presses("checkin", [(m, at, ("checkin",)) for m, at in order])
        present = [self.dev(m) for m, _ in order]
        for _ in range(3):
            with contextlib.suppress(RigError):
                self._settle(present, "check-in settled", lambda kp: kp.state == S.CHECKED_IN,
                             lambda kp: kp.sitting_id == sid
                             and kp.sitting_state == consts.SITTING_CHECKIN_OPEN)  # fmt: skip
            missing = [d for d in present if rig.keypads[d].state != S.CHECKED_IN]
            if not missing:
                break
            for d in missing:  # the deputy sees no 已签到 and presses again
                self.repressed += 1
                rig.press(d, "checkin")
        attendance = gw.call("GET", f"/sittings/{sid}/attendance")
        actual = len({row["member_id"] for row in attendance})
        shown = sum(rig.keypads[d].state == S.CHECKED_IN for d in roster)
        self.report["steps"].append(
            {"step": "checkin", "expected": {"present": len(present)}, "actual": {"present": actual, "keypads_shown": shown},
             "match": actual == len(present) and shown == len(present)}
        )  # fmt: skip
        self.pause()
        gw.call("POST", f"/sittings/{sid}/start")
        self.pause()

    def _motion(self, m: MotionPlan) -> None:
        rig, gw = self.rig, self.rig.gateway
        assert gw is not None
        items = self.plan.items[m.key]
        body: dict[str, Any] = {
            "title": m.title,
            "ballot_kind": KIND_CODES[m.kind],
            "items": list(items),
            "secret": m.secret,
            "press_policy": consts.LAST_PRESS if m.last_press else consts.FIRST_PRESS,
            "passing_rule": None if m.kind == "rating" else MORE_THAN_HALF_OF_ALL,
            "select_k": m.select,
        }
        motion = gw.call("POST", f"/sittings/{rig.sitting_id}/motions", role="clerk", json=body)
        mid = motion["id"]
        self.motion_ids.append(mid)
        self.say(f"表决 / vote: {m.title}")
        gw.call("POST", f"/motions/{mid}/rounds/1/open")
        present = [self.dev(x) for x in sorted(self.plan.checkins)]

        rig.wait(lambda: all(rig.keypads[d].motion_id == mid for d in present),
                 f"motion {mid} open on every keypad present", self._open_s())  # fmt: skip
        presses: list[Press] = self.plan.presses[m.key]
        self._presses(m.key, [(p.member, p.at, p.keys) for p in presses])
        final = {
            self.dev(p.member): p for p in presses
        }  # the last press of each deputy counts (or the only one)
        voters = sorted(final)
        for _ in range(3):
            with contextlib.suppress(RigError):
                self._settle(voters, f"presses of {m.key} settled", lambda kp: kp.state == S.RECORDED,
                             lambda kp: kp.motion_id == mid)  # fmt: skip
            missing = [d for d in voters if rig.keypads[d].state != S.RECORDED]
            if not missing:
                break
            for d in missing:  # no 已记录 on the keypad: the deputy presses again
                self.repressed += 1
                rig.press(d, *final[d].keys)
        present = [self.dev(x) for x in sorted(self.plan.checkins)]  # after any swap
        shown = [d for d in present if rig.keypads[d].state == S.RECORDED]
        self._check(f"{m.key}: no keypad shows recorded without a counted press", set(shown) <= set(voters),
                    sorted(set(shown) - set(voters)))  # fmt: skip
        self.pause()
        gw.call("POST", f"/motions/{mid}/rounds/1/close")
        res = gw.call("GET", f"/motions/{mid}/results")["rounds"][0]["result"]
        gw.call("POST", f"/motions/{mid}/rounds/1/announce")
        actual = self._actual(res)
        want: MotionOutcome = self.plan.results[m.key]
        exp = want.as_dict()
        self.report["steps"].append(
            {"step": m.key, "title": m.title, "kind": m.kind, "expected": exp, "actual": actual,
             "match": actual == exp, "shown_recorded": len(shown)}
        )  # fmt: skip
        self._check(f"{m.key}: every acked press counted once", actual["voted"] == len(voters) >= len(shown),
                    {"voted": actual["voted"], "voters": len(voters), "shown": len(shown)})  # fmt: skip
        self.pause()

    def _after_sitting(self) -> None:
        """The gateway's memory equals its store (results before and after a restart), the audit chain holds."""
        rig, gw = self.rig, self.rig.gateway
        assert gw is not None
        before = {mid: gw.call("GET", f"/motions/{mid}/results") for mid in self.motion_ids}
        gw.stop()
        gw.start()
        after = {mid: gw.call("GET", f"/motions/{mid}/results") for mid in self.motion_ids}
        self._check("memory equals store: results unchanged by a restart", before == after,
                    [m for m in before if before[m] != after[m]])  # fmt: skip
        verify = subprocess.run(
            [str(Path(sys.executable).with_name("hallvote")), "audit", "verify", "--db", rig.database_url],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        self._check("audit chain intact (hallvote audit verify)", verify.returncode == 0,
                    (verify.stdout + verify.stderr).strip()[-300:])  # fmt: skip

    @staticmethod
    def _actual(res: dict[str, Any]) -> dict[str, Any]:
        return {
            "counts": [it["counts"] for it in res["items"]],
            "voted": res["voted"],
            "present": res["present"],
            "expected": res["expected"],
            "outcome": OUTCOMES.get(res["outcome"], str(res["outcome"])),
            "selected": sorted(it["index"] for it in res["items"] if it["outcome"] == consts.OUTCOME_SELECTED)
            if res["outcome"] in (consts.OUTCOME_SELECTED, consts.OUTCOME_TIE, consts.OUTCOME_FAILED)
            and len(res["items"]) > 1
            else [],
        }
