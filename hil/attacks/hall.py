"""The attack suite's hand on the hall: the chair's API calls, the live tally, and one row per attack frame.

:class:`Bench` wraps a started :class:`~hil.rig.sim.SimRig`: it opens
sessions as any account, reads the tally the gateway shows (present,
voted and every count of the current round) before and after each frame,
and turns the answer into a :class:`~hil.attacks.client.Row`.  A frame is
*accepted* when it earned an ack that records something (``ACCEPTED`` or
``REPLACED``) or when the tally moved; a re-ack (``ALREADY_RECORDED``,
``ALREADY_CHECKED_IN``) records nothing.
"""

from __future__ import annotations

import json
from typing import Any

from firmware.app import states as S
from hil.attacks.client import Attacker, Holder, Row, answer, wait_for
from hil.rig.sim import SimRig
from protocol import reasons
from protocol.frames import Ack

__all__ = ["COUNTED", "Bench"]

COUNTED = (reasons.ACCEPTED, reasons.REPLACED)


class Bench:
    def __init__(self, rig: SimRig) -> None:
        assert rig.gateway is not None and rig.broker is not None and rig.hall is not None
        self.rig = rig
        self.gw = rig.gateway
        self.broker = rig.broker
        self.hall = rig.hall
        self.rows: list[Row] = []
        self.sessions: list[Attacker] = []

    # ------------------------------------------------------------ the hall

    def call(self, method: str, path: str, role: str = "chair", **kw: Any) -> Any:
        return self.gw.call(method, path, role, **kw)

    def tally(self) -> str:
        """What the gateway shows: 实到 and the current (or latest) round's voted and counts."""
        live = self.call("GET", "/live")
        s, r = live.get("sitting") or {}, live.get("round") or {}
        return json.dumps([s.get("id"), s.get("present"), r.get("motion_id"), r.get("round"), r.get("voted"),
                           r.get("totals"), (r.get("result") or {}).get("items")])  # fmt: skip

    def holder(self, device: str, counter: int = 1000) -> Holder:
        return Holder(device, self.hall.secrets[device], counter)

    def session(self, username: str | None, password: str | None = None, **kw: Any) -> Attacker:
        """A session on the broker as ``username`` (its own password unless one is given)."""
        if username is not None and password is None:
            password = self.broker.password(username)
        a = Attacker(self.broker, username, password, **kw)
        self.sessions.append(a)
        return a

    def halt(self, device: str) -> None:
        """The keypad is switched off (its account is the attacker's now: one session per account)."""
        self.rig.keypad_fleet.halt(device)

    def keypads_see(self, pred: Any, what: str, devices: list[str]) -> None:
        self.rig.wait(lambda: all(pred(self.rig.keypads[d]) for d in devices), what, 90)

    def press_all(self, devices: list[str], key: str, state: str, what: str) -> None:
        for d in devices:
            self.rig.press(d, key)
        self.keypads_see(lambda k: k.state == state, what, devices)

    def sitting_state_is(self, sitting: int, state: int) -> Any:
        def pred(k: Any) -> bool:
            return bool(k.sitting_id == sitting and k.sitting_state == state)

        return pred

    def recorded(self, k: Any) -> bool:
        return bool(k.state == S.RECORDED)

    # ------------------------------------------------------------ rows

    def frame(self, who: Attacker, attack: str, payload: bytes, expected: str, *, channel: str = "up",
              counted: tuple[int, ...] = COUNTED) -> Row:  # fmt: skip
        """Send one frame on ``who``'s own topic; the row holds the answer and whether the tally moved."""
        before = self.tally()
        reply = who.ask(payload, channel)
        after = self.tally()
        took = isinstance(reply, Ack) and reply.reason in counted
        row = Row(attack, 1, int(took or before != after), answer(reply), expected,
                  {"tally": "unchanged" if before == after else f"{before} -> {after}"})  # fmt: skip
        self.rows.append(row)
        return row

    def silent(self, attack: str, payload: bytes, send: Any, outcome: str, listeners: list[Attacker],
               wait_s: float = 2.0) -> Row:  # fmt: skip
        """An attack the broker must drop: ``send(payload)`` reaches no listener (neither the bytes themselves
        nor an answer on a downlink), and nothing is counted.  Other traffic (hall broadcasts) is ignored."""
        before = self.tally()
        for li in listeners:
            li.drain()
            while not li.raw.empty():
                li.raw.get_nowait()
        sent = send(payload)
        seen: list[tuple[str, bytes]] = []

        def heard() -> bool:
            for li in listeners:
                while not li.raw.empty():
                    seen.append(li.raw.get_nowait())
            return any(p == payload or t.endswith("/down") for t, p in seen)

        wait_for(heard, wait_s)
        n = sum(1 for t, p in seen if p == payload or t.endswith("/down"))
        after = self.tally()
        got = (
            outcome
            if n == 0 and sent
            else f"{'delivered' if n else 'not sent'}: {n} message(s) reached a listener"
        )
        row = Row(attack, 1, int(before != after or n > 0), got, outcome,
                  {"tally": "unchanged" if before == after else f"{before} -> {after}"})  # fmt: skip
        self.rows.append(row)
        return row

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def close(self) -> None:
        for a in self.sessions:
            a.close()
        self.sessions.clear()
