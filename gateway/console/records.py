"""The record of a sitting: minutes (printable A4 page, JSON, CSV) and the public results page.

The minutes list every motion, every round (times in the hall's time zone),
its result with the rule applied, quorum overrides and re-runs with the
reasons the chair gave (from the audit log), named rounds' final choice of
each member, and the audit chain head at the time of printing.  A secret
round has totals only: nothing in the record links a member or seat to a
choice.  The public page (``/results/{sitting}``, no sign-in) shows only
announced rounds, and no per-seat data of secret rounds.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from gateway.api.deps import User
from gateway.api.motions import results as motion_results
from gateway.audit import AuditLog
from gateway.db import crud
from gateway.db.engine import reader
from gateway.db.models import Body, Member, Motion, NamedBallot, Round, Sitting
from gateway.service import Gateway

from .auth import ConsoleUser, PageUser
from .views import ROUND_STATES, kind_label
from .web import render, to_hall_time

__all__ = ["minutes", "router"]

router = APIRouter(include_in_schema=False)

_READER = User("records", "chair")  # every result, as the chair sees it (then filtered for the public)


def _audit_notes(audit: AuditLog | None, motion_ids: set[int]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Quorum overrides and re-runs of these motions, by (motion, round), from the audit log."""
    notes: dict[tuple[int, int], list[dict[str, Any]]] = {}
    if audit is None or not motion_ids:
        return notes
    t = audit.table
    query = sa_select(t.c.kind, t.c.actor, t.c.payload, t.c.at).where(
        t.c.kind.in_(("override.quorum", "round.rerun"))
    )
    with audit.engine.connect() as conn:
        for row in conn.execute(query.order_by(t.c.seq)):
            payload = json.loads(row.payload)
            if payload.get("motion") not in motion_ids:
                continue
            notes.setdefault((payload["motion"], payload["round"]), []).append(
                {"kind": row.kind, "by": row.actor, "reason": payload.get("reason", ""), "at": row.at}
            )
    return notes


def minutes(
    gateway: Gateway, session: Session, sitting_id: int, *, public: bool, zone: str
) -> dict[str, Any]:
    """The record of one sitting as plain data (the JSON form of the minutes)."""
    sitting = crud.get(Sitting, sitting_id, session=session)
    body = session.get(Body, sitting.body_id)
    motions = list(
        session.exec(select(Motion).where(Motion.sitting_id == sitting_id).order_by(col(Motion.id)))
    )
    audit: AuditLog | None = getattr(gateway, "audit_log", None)
    notes = _audit_notes(audit, {m.id for m in motions if m.id is not None})
    members = {m.id: m.name for m in session.exec(select(Member).where(Member.body_id == sitting.body_id))}
    out_motions = []
    for motion in motions:
        assert motion.id is not None
        res = motion_results(motion.id, session, gateway, _READER)
        choice_names = {c.code: c.zh for c in res.choices}
        rounds = []
        for rnd in res.rounds:
            if public and rnd.state != "announced":
                continue
            entry: dict[str, Any] = {
                "number": rnd.number,
                "state": rnd.state,
                "state_zh": ROUND_STATES.get(rnd.state, ("", ""))[0],
                "opened_at": to_hall_time(rnd.opened_at, zone),
                "closed_at": to_hall_time(rnd.closed_at, zone),
                "announced_at": to_hall_time(rnd.announced_at, zone),
                "quorum_override": rnd.quorum_override,
                "notes": [
                    {**n, "at": to_hall_time(n["at"], zone)} for n in notes.get((motion.id, rnd.number), [])
                ],
                "result": rnd.result.model_dump() if rnd.result is not None else None,
                "named_choices": None,
            }
            manual = rnd.result is not None and rnd.result.manual
            if not motion.secret and rnd.state in ("closed", "announced") and not manual:
                ballots = _named(session, motion.id, rnd.number)
                entry["named_choices"] = [
                    {
                        "member": members.get(b.member_id, str(b.member_id)),
                        "choices": [choice_names.get(c, "未按") for c in b.choices],
                    }
                    for b in ballots
                ]
            rounds.append(entry)
        out_motions.append(
            {
                "id": motion.id,
                "title": motion.title,
                "kind_zh": kind_label(motion.ballot_kind)[0],
                "ballot_kind": motion.ballot_kind,
                "secret": motion.secret,
                "items": list(motion.items),
                "select_k": motion.select_k,
                "choices": [c.model_dump() for c in res.choices if motion.options >> c.code & 1],
                "rounds": rounds,
            }
        )
    head = audit.head() if audit is not None else None
    return {
        "sitting": {
            "id": sitting.id,
            "title": sitting.title,
            "body": body.name if body is not None else "",
            "hall": sitting.hall_id,
            "state": sitting.state,
            "opened_at": to_hall_time(sitting.opened_at, zone),
            "closed_at": to_hall_time(sitting.closed_at, zone),
        },
        "time_zone": zone,
        "motions": out_motions,
        "audit_head": None if head is None else {"seq": head.seq, "hash": head.hash},
    }


def _round_id(session: Session, motion_id: int, number: int) -> int | None:
    row = session.exec(select(Round).where(Round.motion_id == motion_id, Round.number == number)).first()
    return row.id if row is not None else None


def _named(session: Session, motion_id: int, number: int) -> list[NamedBallot]:
    round_id = _round_id(session, motion_id, number)
    if round_id is None:
        return []
    return list(
        session.exec(
            select(NamedBallot).where(NamedBallot.round_id == round_id).order_by(col(NamedBallot.member_id))
        )
    )


def _csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "议题 motion",
            "轮次 round",
            "状态 state",
            "事项 item",
            "赞成/满意等 counts",
            "结果 outcome",
            "应到",
            "实到",
            "未按",
            "规则 rule",
        ]
    )
    for m in data["motions"]:
        for r in m["rounds"]:
            res = r["result"]
            if res is None:
                w.writerow([m["title"], r["number"], r["state_zh"], "", "", "", "", "", "", ""])
                continue
            for item in res["items"]:
                w.writerow(
                    [
                        m["title"],
                        r["number"],
                        r["state_zh"] + (" · 人工计票 manual" if res.get("manual") else ""),
                        item["title"],
                        " ".join(f"{c['zh']}{item['counts'][c['code'] - 1]}" for c in m["choices"]),
                        item["label_zh"],
                        res["expected"],
                        res["present"],
                        res["not_pressed"],
                        res["rule_zh"],
                    ]
                )
    head = data["audit_head"]
    if head is not None:
        w.writerow(["审计链头 audit head", head["seq"], head["hash"]])
    return buf.getvalue()


def _load(request: Request, sitting_id: int, public: bool) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    zone = request.app.state.settings.time_zone
    with Session(reader(gateway.engine)) as session:
        return minutes(gateway, session, sitting_id, public=public, zone=zone)


@router.get("/console/records")
async def records_index(request: Request, user: PageUser) -> Response:
    gateway: Gateway = request.app.state.gateway

    def load() -> list[Sitting]:
        with Session(reader(gateway.engine)) as session:
            return list(session.exec(select(Sitting).order_by(col(Sitting.id).desc())))

    return render(request, "records.html", {"sittings": await run_in_threadpool(load)}, user=user)


@router.get("/console/records/{sitting_id}")
async def minutes_page(request: Request, sitting_id: int, user: PageUser) -> Response:
    data = await run_in_threadpool(_load, request, sitting_id, False)
    return render(request, "minutes.html", {"m": data, "public": False}, user=user)


@router.get("/console/records/{sitting_id}/minutes.json")
async def minutes_json(request: Request, sitting_id: int, user: PageUser) -> Response:
    data = await run_in_threadpool(_load, request, sitting_id, False)
    return JSONResponse(
        data, headers={"Content-Disposition": f'attachment; filename="minutes-{sitting_id}.json"'}
    )


@router.get("/console/records/{sitting_id}/minutes.csv")
async def minutes_csv(request: Request, sitting_id: int, user: PageUser) -> Response:
    data = await run_in_threadpool(_load, request, sitting_id, False)
    return Response(
        "\ufeff" + _csv(data),  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="minutes-{sitting_id}.csv"'},
    )


@router.get("/results/{sitting_id}")
async def public_results(request: Request, sitting_id: int) -> Response:
    """No sign-in: announced rounds only; secret rounds as totals."""
    data = await run_in_threadpool(_load, request, sitting_id, True)
    user: ConsoleUser | None = None
    return render(request, "minutes.html", {"m": data, "public": True}, user=user)
