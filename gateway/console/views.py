"""What the console pages show, assembled from the gateway's live state and the store.

Pure of HTTP: functions take the gateway, a database session and the viewer's
role, and return plain dicts for the templates.  The viewer's role is
applied here as in the API (the display sees a result only once announced;
no live choices of a secret round for anyone; an interim setting of
``none`` hides live counts from the console).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from gateway.api.deps import User
from gateway.api.live import view_for
from gateway.api.motions import results as motion_results
from gateway.api.schemas import ResultsOut
from gateway.db.models import Member, Motion, Round, Sitting
from gateway.rules import check_quorum
from gateway.service import Gateway
from protocol import consts

__all__ = ["PRESET_NAMES", "agenda", "kind_label", "live_view", "motion_result", "quorum_text"]

KIND_LABELS = {
    consts.YES_NO_ABSTAIN: ("赞成/反对/弃权", "yes/no/abstain"),
    consts.ITEM_LIST: ("事项列表", "item list"),
    consts.RATING: ("测评", "rating"),
}
SITTING_STATES = {
    "setup": ("筹备", "in preparation"),
    "checkin_open": ("签到中", "check-in open"),
    "in_session": ("会议进行中", "in session"),
    "closed": ("已结束", "closed"),
}
ROUND_STATES = {
    "ready": ("待表决", "ready"),
    "open": ("表决中", "voting"),
    "paused": ("已暂停", "paused"),
    "closed": ("已结束，待宣布", "closed, not announced"),
    "announced": ("已宣布", "announced"),
    "manual": ("人工计票，待确认", "manual count, awaiting confirmation"),
}
PRESET_NAMES: dict[str, tuple[str, str]] = {}


def kind_label(kind: int) -> tuple[str, str]:
    return KIND_LABELS.get(kind, (str(kind), str(kind)))


def quorum_text(gateway: Gateway, lang: str) -> tuple[str, bool] | None:
    """The quorum state in the words of the rule, and whether it is met; None without a sitting."""
    with gateway.locked():  # a consistent read of the live state
        sitting = gateway.sitting
        if sitting is None:
            return None
        status = check_quorum(sitting.expected, sitting.present, sitting.quorum_rule)
    return status.describe("en" if lang == "en" else "zh"), status.met


def _not_pressed(gateway: Gateway, session: Session, key: tuple[int, int]) -> list[str]:
    """Names of members present who have not pressed in the live round ``key`` (named rounds only)."""
    with gateway.locked():
        sitting = gateway.sitting
        if sitting is None or key not in sitting.rounds:
            return []
        run = sitting.rounds[key]
        pressed = {m for m, b in run.ballots.items() if b.pressed}
        waiting = sorted((a.seat, m) for m, a in sitting.attendance.items() if m not in pressed)
    names = {
        m.id: m.name for m in session.exec(select(Member).where(col(Member.id).in_([m for _, m in waiting])))
    }
    return [f"{seat} {names.get(m, m)}" for seat, m in waiting]


def agenda(session: Session, sitting_id: int) -> list[dict[str, Any]]:
    """The sitting's motions in order, each with its rounds and the state of its latest round."""
    out = []
    for motion in session.exec(
        select(Motion).where(Motion.sitting_id == sitting_id).order_by(col(Motion.id))
    ):
        rounds = list(
            session.exec(select(Round).where(Round.motion_id == motion.id).order_by(col(Round.number)))
        )
        latest = rounds[-1] if rounds else None
        out.append(
            {
                "motion": motion,
                "rounds": rounds,
                "latest": latest,
                "state": latest.state if latest is not None else "ready",
                "state_label": ROUND_STATES.get(latest.state if latest else "ready", ("", "")),
                "kind_label": kind_label(motion.ballot_kind),
            }
        )
    return out


def motion_result(session: Session, gateway: Gateway, user: User, motion_id: int) -> ResultsOut:
    """Every round's result of a motion, as the API gives it to ``user``'s role."""
    out: ResultsOut = motion_results(motion_id, session, gateway, user)
    return out


def live_view(gateway: Gateway, session: Session, user: User, lang: str) -> dict[str, Any]:
    """The live picture for a page: sitting, quorum, the current (or latest) round, its result."""
    snap = view_for(gateway.snapshot(), user.role)
    view: dict[str, Any] = {"snap": snap, "sitting": None, "round": None, "quorum": None}
    if snap["sitting"] is None:
        return view
    row = session.get(Sitting, snap["sitting"]["id"])
    view["sitting"] = {
        **snap["sitting"],
        "title": row.title if row is not None else "",
        "state_label": SITTING_STATES.get(snap["sitting"]["state"], ("", "")),
        "late_checkin_allowed": row.late_checkin_allowed if row is not None else True,
    }
    view["quorum"] = quorum_text(gateway, lang)
    current = snap["round"]
    if current is None:
        return view
    motion = session.get(Motion, current["motion_id"])
    if motion is None:
        return view
    key = (current["motion_id"], current["round"])
    live = current["state"] in ("open", "paused")
    show_counts = not (live and (motion.secret or motion.interim == "none" or user.role == "display"))
    titles = [motion.title] if motion.ballot_kind == consts.YES_NO_ABSTAIN else list(motion.items)
    choices = [(c, zh, en) for c, zh, en in consts.CHOICE_LABELS[motion.ballot_kind] if c]
    view["round"] = {
        **current,
        "motion": motion,
        "titles": titles,
        "choices": choices,
        "live": live,
        "show_counts": show_counts and current["totals"] is not None,
        "not_pressed_names": (
            _not_pressed(gateway, session, key)
            if live
            and not motion.secret
            and motion.interim == "totals_not_pressed"
            and user.role != "display"
            else None
        ),
        "state_label": ROUND_STATES.get(current["state"], ("", "")),
        "kind_label": kind_label(motion.ballot_kind),
        "result": None,
    }
    if current["state"] in ("closed", "announced", "manual"):
        results = motion_result(session, gateway, user, motion.id or 0)
        this = next((r for r in results.rounds if r.number == current["round"]), None)
        view["round"]["result"] = this.result if this is not None else None
        view["round"]["pending_manual"] = this.pending_manual if this is not None else None
        # the choices this motion admits (a three-grade rating has no 优秀 column)
        view["round"]["choices_out"] = [c for c in results.choices if motion.options >> c.code & 1]
    return view
