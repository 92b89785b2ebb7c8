"""Motions (the clerk), their rounds (the chair, or the clerk beside them), and results (everyone).

A round is named by its motion and number: ``/motions/{motion_id}/rounds/{number}/...``.
Commands go to the gateway, which refuses what the rules forbid with
409 ``{code, message}`` (``QUORUM_NOT_MET``, ``ROUND_LIVE``, ``NOT_IN_SESSION``, ...).

Opening without quorum takes the chair's ``override_reason`` and works only
where the body allows overrides; the gateway records it in the audit log
(``override.quorum``, with who and why, in the same transaction) besides
the ``api.call``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select

from gateway.core.errors import CommandError
from gateway.core.results import MANUAL_METHODS, OUTCOME_LABELS
from gateway.core.state import ManualEntry
from gateway.db import crud
from gateway.db.engine import reader
from gateway.db.models import Motion, Round, Sitting
from gateway.rules import ChairOverride
from gateway.store import load_sitting
from protocol import consts

from .deps import API_PREFIX, Clerk, CurrentUser, GatewayDep, Operator, SessionDep, reload_hall
from .errors import ERROR_RESPONSES, ApiError, ErrorOut
from .live import snapshot_for
from .schemas import (
    ChoiceLabel,
    FocusIn,
    ItemResultOut,
    LiveSnapshot,
    ManualIn,
    ManualOut,
    ManualRejectIn,
    MotionDetail,
    MotionIn,
    OpenRoundIn,
    ResultOut,
    ResultsOut,
    RoundResultOut,
)

__all__ = ["router"]

log = logging.getLogger("hallvote.api")

router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)

_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "不存在 / not found"},
    409: {
        "model": ErrorOut,
        "description": "当前状态不允许 / refused in the current state ({code, message})",
    },
}


def _detail(session: Session, motion: Motion) -> MotionDetail:
    rounds = session.exec(select(Round).where(Round.motion_id == motion.id).order_by(col(Round.number)))
    return MotionDetail.model_validate({**motion.model_dump(), "rounds": [r.model_dump() for r in rounds]})


# --------------------------------------------------------------------------- motions


@router.get(
    "/sittings/{sitting_id}/motions",
    tags=["motions"],
    summary="议题列表 / List a sitting's motions",
    response_model=list[MotionDetail],
    responses=_REFUSED,
)
def list_motions(sitting_id: int, session: SessionDep, _user: CurrentUser) -> list[MotionDetail]:
    """按创建顺序，含各轮次 / in the order created, with their rounds."""
    crud.get(Sitting, sitting_id, session=session)
    motions = session.exec(select(Motion).where(Motion.sitting_id == sitting_id).order_by(col(Motion.id)))
    return [_detail(session, m) for m in motions]


@router.post(
    "/sittings/{sitting_id}/motions",
    tags=["motions"],
    status_code=201,
    summary="新建议题 / Create a motion",
    response_model=MotionDetail,
    responses=_REFUSED,
)
def create_motion(
    sitting_id: int, motion_in: MotionIn, session: SessionDep, gateway: GatewayDep, user: Clerk
) -> MotionDetail:
    """议题加入会议议程，第 1 轮待开启；会议可以尚未设为当前会议（提前准备议程），但不能已结束。
    用预设（preset）填写票式、通过规则和按键规则 / added to the sitting's agenda with its round 1, ready to
    open; the sitting may be one not yet active (an agenda prepared ahead), not a closed one.  A preset
    fills the ballot kind, passing rule and press policy; 差额比例不低于 20% is checked at entry."""
    create = motion_in.to_create()
    current = gateway.sitting
    if current is None or current.sitting_id != sitting_id:
        # Prepared ahead: the motion and its round 1 are rows; the gateway loads them on activation.
        with gateway.locked():
            current = gateway.sitting
            if current is None or current.sitting_id != sitting_id:
                motion = crud.create_motion(session=session, sitting_id=sitting_id, motion_in=create)
                session.add(Round(motion_id=motion.id or 0, number=1))
                session.commit()
                return _detail(session, motion)
    motion = crud.create_motion(session=session, sitting_id=sitting_id, motion_in=create)
    motion_id = motion.id
    assert motion_id is not None
    # End the session's read transaction (and read nothing more before the gateway has committed):
    # on SQLite its snapshot would not show the round the gateway adds.
    session.commit()
    try:
        gateway.add_motion(motion_id, user.name)
    except Exception as exc:
        # The core refused it (or the store failed): the row must not stay behind without its round.
        try:
            session.delete(motion)
            session.commit()
            if not isinstance(exc, CommandError):
                reload_hall(gateway)
        except Exception:
            log.exception("could not remove motion %s after the gateway refused it", motion_id)
        raise
    return _detail(session, motion)


@router.put(
    "/motions/{motion_id}",
    tags=["motions"],
    summary="修改议题 / Edit a motion",
    response_model=MotionDetail,
    responses=_REFUSED,
)
def edit_motion(
    motion_id: int, motion_in: MotionIn, session: SessionDep, gateway: GatewayDep, _user: Clerk
) -> MotionDetail:
    """第一轮开启之前可以修改（整体替换）；之后 409 MOTION_OPENED / may be edited (replaced as a whole)
    until its first round opens; afterwards 409 MOTION_OPENED."""
    create = motion_in.to_create()
    with gateway.locked():  # no round of it may open between the check and the change
        motion = crud.get(Motion, motion_id, session=session)
        rounds = list(session.exec(select(Round).where(Round.motion_id == motion_id)))
        if any(r.opened_at is not None or r.state != "ready" or r.number != 1 for r in rounds):
            raise ApiError(
                409,
                "MOTION_OPENED",
                "议题已开始表决，不能修改；如需更正请重新表决 / the motion has been put to a vote and cannot be "
                "edited; re-run it instead",
            )
        sitting = crud.get(Sitting, motion.sitting_id, session=session)
        if sitting.state == consts.SITTING_CLOSED:
            raise ApiError(409, "SITTING_CLOSED", "会议已结束 / the sitting is closed")
        for key, value in create.model_dump().items():
            setattr(motion, key, value)
        session.add(motion)
        session.commit()
        current = gateway.sitting
        if current is not None and current.sitting_id == motion.sitting_id:
            reload_hall(gateway)
    return _detail(session, motion)


@router.get(
    "/motions/{motion_id}",
    tags=["motions"],
    summary="议题详情 / Get a motion",
    response_model=MotionDetail,
    responses=_REFUSED,
)
def get_motion(motion_id: int, session: SessionDep, _user: CurrentUser) -> MotionDetail:
    """含各轮次状态 / with the state of every round."""
    return _detail(session, crud.get(Motion, motion_id, session=session))


# --------------------------------------------------------------------------- rounds


@router.post(
    "/motions/{motion_id}/rounds/{number}/open",
    tags=["rounds"],
    summary="开始表决 / Open a round",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def open_round(
    motion_id: int,
    number: int,
    gateway: GatewayDep,
    user: Operator,
    body: OpenRoundIn | None = None,
) -> dict[str, Any]:
    """须已开会、无其他表决进行、达到法定人数（否则 409 QUORUM_NOT_MET）/ the sitting must be in session,
    no other round live, and quorum present (else 409 QUORUM_NOT_MET)."""
    override = None
    if body is not None and body.override_reason is not None:
        if user.role != "chair":
            raise ApiError(
                403, "FORBIDDEN", "仅主持人可在不足法定人数时开启表决 / only the chair may override quorum"
            )
        override = ChairOverride(by=user.name, reason=body.override_reason)
    gateway.open_round((motion_id, number), user.name, override)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/pause",
    tags=["rounds"],
    summary="暂停表决 / Pause a round",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def pause_round(motion_id: int, number: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """故障或异议时；已按键的保留 / on a fault or dispute; presses so far are kept."""
    gateway.pause_round((motion_id, number), user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/resume",
    tags=["rounds"],
    summary="继续表决 / Resume a round",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def resume_round(motion_id: int, number: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """暂停后继续 / after a pause."""
    gateway.resume_round((motion_id, number), user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/close",
    tags=["rounds"],
    summary="结束表决 / Close a round",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def close_round(motion_id: int, number: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """计票结果按议题的通过规则冻结；无记名表决的座位与选择的关联随即删除 / the result is frozen by the
    motion's rule; for a secret ballot every seat-choice link is erased."""
    gateway.close_round((motion_id, number), user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/announce",
    tags=["rounds"],
    summary="宣布结果 / Announce the result",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def announce_round(motion_id: int, number: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """当场公布：大屏与表决器显示结果 / announced on the spot: the big screen and keypads show it."""
    gateway.announce_round((motion_id, number), user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/focus",
    tags=["rounds"],
    summary="指定事项 / Put one item",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def focus_item(
    motion_id: int, number: int, focus: FocusIn, gateway: GatewayDep, user: Operator
) -> dict[str, Any]:
    """三键表决器逐项表决；255 为全部事项 / item by item on three-key keypads; 255 puts every item."""
    gateway.focus_item((motion_id, number), focus.item, user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rerun",
    tags=["rounds"],
    summary="重新表决 / Re-run a motion",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def rerun(motion_id: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """新建下一轮（上一轮须已结束），每一轮都保留 / a new round after the latest one closed; every round is kept."""
    gateway.rerun(motion_id, user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/manual",
    tags=["rounds"],
    summary="人工计票录入 / Enter manual counts",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def enter_manual(
    motion_id: int, number: int, body: ManualIn, gateway: GatewayDep, user: Operator
) -> dict[str, Any]:
    """表决器故障时改为举手或纸质票：书记员（或主持人）录入计数和原因，本轮状态变为 manual，等待另一人确认。
    可录入的轮次：待开始（ready）或已结束未宣布（closed，其表决器计票将被取代）；再次录入取代待确认的录入。
    计数不得为负、每项合计不得超过实到（409 MANUAL_BAD_COUNTS / MANUAL_OVER_PRESENT）/ when keypads fail
    the round is counted by show of hands or paper: the clerk (or the chair) enters the counts with a reason,
    the round goes to state manual and awaits the other person's confirmation.  A ready round or a closed,
    unannounced one (its keypad tally will be replaced) may be entered; a new entry replaces a pending one.
    Counts are non-negative and no item's total exceeds 实到 (409 MANUAL_BAD_COUNTS / MANUAL_OVER_PRESENT)."""
    gateway.enter_manual((motion_id, number), body.counts, body.method, body.reason, user.name, user.role)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/manual/confirm",
    tags=["rounds"],
    summary="确认人工计票 / Confirm manual counts",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def confirm_manual(motion_id: int, number: int, gateway: GatewayDep, user: Operator) -> dict[str, Any]:
    """须由另一人、另一角色确认：书记员录入由主持人确认，主持人录入由书记员确认；本人确认 409
    MANUAL_SAME_PERSON，同一角色 409 MANUAL_CONFIRMER。确认后本轮结束，按议题的通过规则计算结果，取代表决器计票
    / confirmed by another person in the other role: the clerk's entry by the chair, the chair's own entry by
    the clerk (409 MANUAL_SAME_PERSON, 409 MANUAL_CONFIRMER).  The round then closes with the result computed
    by the motion's rule, replacing the keypad tally."""
    gateway.confirm_manual((motion_id, number), user.name, user.role)
    return snapshot_for(gateway, user.role)


@router.post(
    "/motions/{motion_id}/rounds/{number}/manual/reject",
    tags=["rounds"],
    summary="退回人工计票 / Reject manual counts",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def reject_manual(
    motion_id: int, number: int, body: ManualRejectIn, gateway: GatewayDep, user: Operator
) -> dict[str, Any]:
    """确认人退回录入（须写原因，规则同确认）；本轮仍为 manual，可重新录入 / the would-be confirmer refuses the
    entry with a reason (same rule as confirming); the round stays manual and may be entered again."""
    gateway.reject_manual((motion_id, number), body.reason, user.name, user.role)
    return snapshot_for(gateway, user.role)


# --------------------------------------------------------------------------- results


def manual_out(entry: ManualEntry, confirmed_by: str | None) -> ManualOut:
    zh, en = MANUAL_METHODS[entry.method]
    return ManualOut(
        method=entry.method,
        method_zh=zh,
        method_en=en,
        reason=entry.reason,
        counts=[list(row) for row in entry.counts],
        expected=entry.expected,
        present=entry.present,
        entered_by=entry.entered_by,
        entered_role=entry.entered_role,
        entered_at=dt.datetime.fromtimestamp(entry.at, dt.UTC),
        confirmed_by=confirmed_by,
    )


def _labels(outcome: int) -> tuple[str, str]:
    return OUTCOME_LABELS.get(outcome, (str(outcome), str(outcome)))


@router.get(
    "/motions/{motion_id}/results",
    tags=["results"],
    summary="表决结果 / Results of a motion",
    response_model=ResultsOut,
    responses=_REFUSED,
)
def results(motion_id: int, session: SessionDep, gateway: GatewayDep, user: CurrentUser) -> ResultsOut:
    """每一轮：应到、实到、已按、未按，各事项计数，适用的规则和结论 / every round: expected (应到),
    present (实到), voted, not pressed (未按), counts per item, the rule applied and the outcome.
    无记名表决只有总数 / secret ballots have totals only."""
    motion = crud.get(Motion, motion_id, session=session)
    rows = list(session.exec(select(Round).where(Round.motion_id == motion_id).order_by(col(Round.number))))
    sitting = gateway.sitting_run(motion.sitting_id)  # the current sitting: from memory (committed truth)
    if sitting is None:
        with reader(gateway.engine).connect() as conn:  # reads only: never waits for a write lock
            sitting = load_sitting(conn, motion.sitting_id, gateway.round_keys)
    kind = motion.ballot_kind
    titles = [motion.title] if kind == consts.YES_NO_ABSTAIN else list(motion.items)
    out: list[RoundResultOut] = []
    for row in rows:
        run = sitting.rounds.get((motion_id, row.number))
        result = run.result if run is not None else None
        if user.role == "display" and row.state != "announced":
            result = None
        out.append(
            RoundResultOut(
                number=row.number,
                state=row.state,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                announced_at=row.announced_at,
                quorum_override=row.quorum_override,
                pending_manual=None
                if run is None or run.manual is None or user.role == "display"
                else manual_out(run.manual, None),
                result=None
                if result is None
                else ResultOut(
                    outcome=result.outcome,
                    outcome_zh=_labels(result.outcome)[0],
                    outcome_en=_labels(result.outcome)[1],
                    expected=result.expected,
                    present=result.present,
                    voted=result.voted,
                    not_pressed=result.not_pressed,
                    rule_zh=result.rule_zh,
                    rule_en=result.rule_en,
                    note_zh=result.note_zh,
                    note_en=result.note_en,
                    audit_head=f"{result.audit_seq}:{result.audit_head}" if result.audit_head else None,
                    manual=result.manual is not None,
                    manual_entry=None
                    if result.manual is None
                    else manual_out(result.manual, result.confirmed_by),
                    items=[
                        ItemResultOut(
                            index=item.index,
                            title=titles[item.index] if item.index < len(titles) else "",
                            counts=list(item.counts),
                            outcome=item.outcome,
                            label_zh=item.label_zh,
                            label_en=item.label_en,
                        )
                        for item in result.items
                    ],
                ),
            )
        )
    choices = [ChoiceLabel(code=c, zh=zh, en=en) for c, zh, en in consts.CHOICE_LABELS[kind] if c]
    return ResultsOut(
        motion_id=motion_id,
        sitting_id=motion.sitting_id,
        title=motion.title,
        ballot_kind=kind,
        secret=motion.secret,
        choices=choices,
        rounds=out,
    )
