"""The audit chain proves the results: every stored result is checked against the chain.

``hallvote audit verify`` runs this after the hash chain itself.  For every
round with a stored result it:

- finds the round's ``result.frozen`` record (RESULT_NOT_IN_CHAIN if none:
  the log was emptied or its tail cut, or the result was added behind the
  gateway's back) and compares the stored result with it, count by count
  (expected, present, voted, not pressed, outcome, each item's counts and
  outcome: RESULT_MISMATCH);
- recomputes the counts behind it: for a named round from the chain's own
  ``vote.recorded_named`` records (each member's last one) and from the
  stored named ballots; for a secret round from the stored secret tally and
  the participation records, in the chain and in the store
  (TALLY_MISMATCH);
- for a manual round (a ``manual.confirmed`` record before the frozen
  result) the frozen totals must be the confirmed manual counts, which
  replace the keypad tally (TALLY_MISMATCH);
- and every closed round must have its ``round.closed`` record (a manual
  round: its ``manual.confirmed`` record).

The problems reuse :class:`gateway.audit.chain.Problem` (with the reasons
of :class:`ResultReason`), naming the chain record where there is one.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from gateway.db import models as m
from protocol import consts

from .chain import Record

__all__ = ["ResultProblem", "ResultReason", "check_results"]

_CHOICES = {consts.YES: "yes", consts.NO: "no", consts.ABSTAIN: "abstain"}
_GRADES = {1: "excellent", 2: "satisfied", 3: "basically_satisfied", 4: "unsatisfied"}


class ResultReason(enum.StrEnum):
    #: A stored result (or closed round) has no record in the chain.
    RESULT_NOT_IN_CHAIN = "RESULT_NOT_IN_CHAIN"
    #: A stored result differs from the result the chain froze.
    RESULT_MISMATCH = "RESULT_MISMATCH"
    #: The counts behind a result (tally, ballots, participation) differ from the chain.
    TALLY_MISMATCH = "TALLY_MISMATCH"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ResultProblem:
    motion: int
    round: int
    reason: ResultReason
    detail: str
    seq: int | None = None

    def __str__(self) -> str:
        where = f" (chain seq {self.seq})" if self.seq is not None else ""
        return f"motion {self.motion} round {self.round}{where}: {self.reason}: {self.detail}"


def _totals(kind: int, counts: Iterable[Iterable[int]], not_pressed: int) -> dict[str, int]:
    names = _GRADES if kind == consts.RATING else _CHOICES
    out = {f"{i + 1}:{names[code]}": n for i, row in enumerate(counts) for code, n in enumerate(row, start=1)}
    out["not_pressed"] = not_pressed
    return out


def _count(kind: int, items: int, ballots: Iterable[Iterable[int]]) -> list[list[int]]:
    width = consts.options_per_item(kind)
    rows = [[0] * width for _ in range(items)]
    for choices in ballots:
        for i, c in enumerate(choices):
            if c:
                rows[i][c - 1] += 1
    return rows


class _Chain:
    """What the chain says about rounds: frozen results, named ballots, participants, closes."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.frozen: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
        self.named: dict[tuple[int, int], dict[Any, list[int]]] = defaultdict(dict)
        self.participants: dict[tuple[int, int], set[Any]] = defaultdict(set)
        self.closed: set[tuple[int, int]] = set()
        # Manual rounds: the confirmed counts (totals) and the seq of the confirmation.
        self.manual: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
        for rec in records:
            if rec.kind not in (
                "result.frozen", "vote.recorded_named", "vote.participation_secret", "round.closed",
                "manual.confirmed",
            ):  # fmt: skip
                continue
            data = json.loads(rec.payload)
            key = (data["motion"], data["round"])
            if rec.kind == "manual.confirmed":
                self.manual[key] = (rec.seq, data.get("totals", {}))
                self.closed.add(key)
            elif rec.kind == "result.frozen":
                self.frozen[key] = (rec.seq, data)
            elif rec.kind == "vote.recorded_named":
                self.named[key][data["member"]] = list(data["choices"])
            elif rec.kind == "vote.participation_secret":
                self.participants[key].add(data["member"])
            else:
                self.closed.add(key)


def check_results(engine: Engine, records: Iterable[Record]) -> tuple[int, list[ResultProblem]]:
    """Check every stored result against the chain ``records``; (results checked, problems)."""
    chain = _Chain(records)
    with engine.connect() as conn:
        return _check(conn, chain)


def _rows(conn: Connection, model: Any, *where: Any) -> list[Any]:
    table = model.__table__
    return list(conn.execute(select(table).where(*where) if where else select(table)))


def _check(conn: Connection, chain: _Chain) -> tuple[int, list[ResultProblem]]:
    rounds = {r.id: r for r in _rows(conn, m.Round)}
    motions = {mo.id: mo for mo in _rows(conn, m.Motion)}
    tallies: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for row in _rows(conn, m.SecretTally):
        tallies[row.round_id][(row.item, row.choice)] = row._mapping["count"]
    participation: dict[int, int] = defaultdict(int)
    for row in _rows(conn, m.SecretParticipation):
        participation[row.round_id] += 1
    named: dict[int, list[list[int]]] = defaultdict(list)
    for row in _rows(conn, m.NamedBallot):
        named[row.round_id].append(list(bytes(row.choices)))
    problems: list[ResultProblem] = []
    results = _rows(conn, m.Result)
    with_result = {r.round_id for r in results}
    for rnd in rounds.values():
        if rnd.state in ("closed", "announced") and (rnd.motion_id, rnd.number) not in chain.closed:
            problems.append(
                ResultProblem(
                    rnd.motion_id, rnd.number, ResultReason.RESULT_NOT_IN_CHAIN, "no round.closed record"
                )
            )
        elif rnd.state in ("closed", "announced") and rnd.id not in with_result:
            problems.append(
                ResultProblem(
                    rnd.motion_id,
                    rnd.number,
                    ResultReason.RESULT_MISMATCH,
                    "closed round without a stored result",
                )
            )
    for res in results:
        rnd = rounds[res.round_id]
        motion = motions[rnd.motion_id]
        problems.extend(_check_one(chain, rnd, motion, res, tallies, participation, named))
    return len(results), problems


def _check_one(
    chain: _Chain,
    rnd: Any,
    motion: Any,
    res: Any,
    tallies: Mapping[int, Mapping[tuple[int, int], int]],
    participation: Mapping[int, int],
    named: Mapping[int, list[list[int]]],
) -> list[ResultProblem]:
    key = (rnd.motion_id, rnd.number)
    out: list[ResultProblem] = []

    def problem(reason: ResultReason, detail: str, seq: int | None = None) -> None:
        out.append(ResultProblem(key[0], key[1], reason, detail, seq))

    frozen = chain.frozen.get(key)
    if frozen is None:
        problem(ResultReason.RESULT_NOT_IN_CHAIN, "no result.frozen record for a stored result")
        return out
    seq, data = frozen
    kind = motion.ballot_kind
    counts = [list(row) for row in res.counts]
    voted = res.present - res.not_pressed
    stored = {
        "totals": _totals(kind, counts, res.not_pressed),
        "outcome": str(res.outcome),
        "expected": res.expected,
        "present": res.present,
        "voted": voted,
        "item_outcomes": {str(i + 1): o for i, o in enumerate(res.item_outcomes)},
    }
    for field, value in stored.items():
        if data.get(field) != value:
            problem(
                ResultReason.RESULT_MISMATCH, f"{field}: stored {value!r}, chain {data.get(field)!r}", seq
            )
    items = len(counts)
    manual = chain.manual.get(key)
    if manual is not None and manual[0] < seq:
        # A manual round: the frozen result must be the confirmed counts, not a keypad tally.
        if manual[1] != data.get("totals"):
            problem(
                ResultReason.TALLY_MISMATCH, "the confirmed manual counts differ from the frozen result", seq
            )
        return out
    if motion.secret:
        width = consts.options_per_item(kind)
        tally = [[tallies.get(rnd.id, {}).get((i, c), 0) for c in range(1, width + 1)] for i in range(items)]
        if _totals(kind, tally, res.not_pressed) != data.get("totals"):
            problem(
                ResultReason.TALLY_MISMATCH,
                f"stored secret tally {tally} differs from the frozen result",
                seq,
            )
        in_chain = len(chain.participants.get(key, ()))
        if not participation.get(rnd.id, 0) == in_chain == data.get("voted"):
            problem(
                ResultReason.TALLY_MISMATCH,
                f"participants: stored {participation.get(rnd.id, 0)}, chain records {in_chain}, "
                f"frozen voted {data.get('voted')}",
                seq,
            )
    else:
        from_chain = _count(kind, items, chain.named.get(key, {}).values())
        from_store = _count(kind, items, named.get(rnd.id, []))
        frozen_totals = data.get("totals")
        for label, rows in (
            ("the chain's named votes", from_chain),
            ("the stored named ballots", from_store),
        ):
            if _totals(kind, rows, res.not_pressed) != frozen_totals:
                problem(
                    ResultReason.TALLY_MISMATCH,
                    f"{label} count {rows}, the frozen result says otherwise",
                    seq,
                )
    return out
