"""Conversions between database rows and core values (times, rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.core.state import MotionSpec
from gateway.rules import Base, PassingRule, QuorumRule, Threshold
from protocol import consts

__all__ = ["BASES", "from_ts", "motion_spec", "passing_rule", "quorum_rule", "to_ts"]

BASES = {"all": Base.ALL_MEMBERS, "present": Base.PRESENT, "cast": Base.VOTES_CAST}


def from_ts(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)


def to_ts(value: dt.datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def passing_rule(spec: dict[str, Any] | None) -> PassingRule | None:
    if spec is None:
        return None
    return PassingRule(
        BASES[spec["base"]], Threshold(spec["numerator"], spec["denominator"], strict=spec["strict"])
    )


def quorum_rule(numerator: int, denominator: int, strict: bool) -> QuorumRule:
    return QuorumRule(Threshold(numerator, denominator, strict=strict))


def motion_spec(row: Any) -> MotionSpec:
    items = 1 if row.ballot_kind == consts.YES_NO_ABSTAIN else len(row.items)
    return MotionSpec(
        motion_id=row.id,
        title=row.title,
        ballot_kind=row.ballot_kind,
        item_count=items,
        options=row.options,
        press_policy=row.press_policy,
        secret=row.secret,
        passing_rule=passing_rule(row.passing_rule),
        countdown_s=row.countdown_s,
        select_k=row.select_k,
        item_labels=tuple(str(label) for label in row.items or ()),
    )
