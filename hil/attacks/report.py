"""The attack suite and the fuzz run for ``hallvote evidence``: run them, and render their section of the report.

:func:`attack_evidence` runs the suite on a fresh rig (the scale's keypads,
at least eight, plus a spare; the gateway holds the broker's control
account) and the two fuzz properties of :mod:`hil.fuzz`;
:func:`render_attacks` turns the result into Markdown lines.  Case names
``attacks`` and ``fuzz`` select them like the fault cases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hil.attacks.suite import MIN_KEYPADS, run_suite
from hil.rig.sim import SimRig, default_processes

__all__ = ["CASE_NAMES", "attack_evidence", "render_attacks"]

CASE_NAMES = ("attacks", "fuzz")


def _ballots(rounds: list[dict[str, Any]]) -> list[int]:
    return [n for r in rounds for row in r["counts"] for n in row]


def _lost_double(suite: dict[str, Any]) -> tuple[int, int, int, int]:
    """Ballot counts expected and counted over every round, and how many were lost / double counted."""
    got, want = suite["tallies"], suite["expected_tallies"]
    exp = cnt = lost = double = 0
    for motion, rounds in want.items():
        a, b = _ballots(got.get(motion, [])), _ballots(rounds)
        a += [0] * (len(b) - len(a))
        for x, y in zip(a, b, strict=False):
            exp, cnt = exp + y, cnt + x
            lost, double = lost + max(0, y - x), double + max(0, x - y)
    return exp, cnt, lost, double


# The attacker's sessions and the broker control client are paho clients in the rig's own process, and
# paho waits on its socket with select(), which cannot watch a descriptor numbered 1024 or above.  Each
# in-process keypad holds about four (its connection, the proxy's listener and both proxied ends), so a
# larger hall keeps its keypads in worker processes and the rig process's descriptors stay low.
IN_PROCESS_MAX = 200


def attack_processes(keypads: int) -> int:
    """Keypad processes for the attack suite's rig of ``keypads`` keypads."""
    return 1 if keypads <= IN_PROCESS_MAX else max(2, default_processes(keypads))


def attack_evidence(*, workdir: Path, keypads: int, cases: list[str] | None, fuzz_examples: int,
                    say: Callable[[str], None]) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"ok": True}
    if cases is None or "attacks" in cases:
        size = max(MIN_KEYPADS, keypads)
        say(f"[attacks] the attack suite: {size} keypads and a spare")
        rig = SimRig(workdir / "attacks", size, hall="attack-hall", spares=1, broker_control=True,
                     processes=attack_processes(size))  # fmt: skip
        try:
            rig.start()
            suite = run_suite(rig, say)
        except Exception as e:  # a suite that cannot finish is a failed section, not a lost report
            error = f"{type(e).__name__}: {e}"
            say(f"[attacks] did not finish: {error}")
            out["attacks"] = {"keypads": size, "error": error, "ok": False}
            out["ok"] = False
        else:
            exp, cnt, lost, double = _lost_double(suite)
            suite["ballots"] = {"expected": exp, "counted": cnt, "lost": lost, "double_counted": double}
            out["attacks"] = suite
            out["ok"] = out["ok"] and suite["ok"]
        finally:
            rig.close()
    if cases is None or "fuzz" in cases:
        from hil import fuzz

        say(f"[fuzz] decode and decide properties, {fuzz_examples} examples each")
        out["fuzz"] = fuzz.run(fuzz_examples)
        out["ok"] = out["ok"] and out["fuzz"]["violations"] == 0
    return out


def render_attacks(ev: dict[str, Any] | None) -> list[str]:
    """The report's attack and fuzz sections (nothing when neither ran)."""
    if not ev or ("attacks" not in ev and "fuzz" not in ev):
        return []
    lines: list[str] = []
    if "attacks" in ev and "error" in ev["attacks"]:
        s = ev["attacks"]
        lines += ["", "## Attacks through the broker", "",
                  f"The suite on {s['keypads']} keypads **did not finish**: `{s['error'][:400]}`"]  # fmt: skip
    elif "attacks" in ev:
        s = ev["attacks"]
        b = s["ballots"]
        accepted = sum(r["accepted"] for r in s["rows"])
        lines += [
            "",
            "## Attacks through the broker",
            "",
            f"One rig of {s['keypads']} keypads (real firmware) and a spare, real Mosquitto with the generated",
            "configuration, the real gateway process holding the broker's control account. The attacker holds",
            "one keypad's MQTT password and private key (an insider), another's too (a member who never checks",
            "in, revoked at the end), the spare's, the control password, and frames captured off the wire or",
            "signed and withheld. Two sittings: replays cross rounds, motions and sittings. `accepted` counts",
            "frames that were counted or moved the tally (must be 0); `outcome` is what came back.",
            "",
            f"* rows: {len(s['rows'])}; accepted: **{accepted}**; every row as expected: "
            f"**{'yes' if all(r['held'] for r in s['rows']) else 'NO'}**",
            f"* ballots expected (the deputies' presses) {b['expected']}, counted {b['counted']}: lost "
            f"**{b['lost']}**, double counted **{b['double_counted']}**; 实到 per sitting "
            f"{s['present']} (expected {s['expected_present']})",
            "",
            "| attack | tried | accepted | outcome | expected | as expected |",
            "|---|---|---|---|---|---|",
        ]
        for r in s["rows"]:
            lines.append(
                f"| {r['attack']} | {r['tried']} | {r['accepted']} | {r['outcome']} | {r['expected'] or '-'} "
                f"| {'yes' if r['held'] else 'NO'} |"
            )
    if "fuzz" in ev:
        f = ev["fuzz"]
        lines += [
            "",
            "## Inputs fuzzed (Hypothesis, `python -m hil.fuzz`)",
            "",
            "| property | examples | inputs | refused | votes recorded | violations | seconds |",
            "|---|---|---|---|---|---|---|",
            f"| decode: random and mutated bytes through `decode` and `decode_for_topic` | {f['decode']} "
            f"| {f['decode']} frames | - | - | {f['decode_violations']} | {f['decode_seconds']} |",
            f"| decide/apply: random sittings, signed, replayed and mutated frames | {f['decide']} "
            f"| {f['decide_steps']} steps, {f['frames']} frames | {f['refused']} | {f['votes_recorded']} "
            f"| {f['decide_violations']} | {f['decide_seconds']} |",
        ]
        for name in ("decode", "decide"):
            if f.get(f"{name}_error"):
                lines += ["", f"Violation ({name}): `{f[name + '_error'][:400]}`"]
    return lines
