"""Manual fallback over HTTP, on SQLite and PostgreSQL: the clerk enters, the chair confirms.

Keypads press through ``Gateway.handle_batch``; the manual result replaces
their tally, survives a gateway restart (also between entry and
confirmation), is in the audit log, and ``hallvote audit verify``'s result
check passes.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from typer.testing import CliRunner

from gateway.audit.results import check_results
from gateway.cli import app
from gateway.service import Gateway
from protocol import consts, frames

Api = Any  # tests/gateway/api/conftest.py's Api

MORE_THAN_HALF_OF_ALL = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}
HANDS = {"method": "show_of_hands", "reason": "表决器故障，改为举手表决", "counts": [[4, 1, 0]]}


def _in_session(api: Api, *present: int) -> None:
    sid = api.hall.sitting_id
    assert api.post("chair", f"/api/v1/sittings/{sid}/checkin/open").status_code == 200
    api.check_in(*present)
    assert api.post("chair", f"/api/v1/sittings/{sid}/start").status_code == 200


def _motion(api: Api, **extra: Any) -> int:
    body = {
        "title": "关于财政预算的决议",
        "ballot_kind": consts.YES_NO_ABSTAIN,
        "passing_rule": MORE_THAN_HALF_OF_ALL,
    }
    r = api.post("clerk", f"/api/v1/sittings/{api.hall.sitting_id}/motions", json={**body, **extra})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _restart(api: Api) -> Gateway:
    """A new gateway on the same database (as after a crash): state comes from the store."""
    fresh = Gateway(api.engine, api.hall.hall_id, audit_log=api.audit)
    fresh.activate_sitting(api.hall.sitting_id)
    return fresh


def test_keypads_fail_clerk_enters_chair_confirms(api: Api) -> None:
    _in_session(api, 1, 2, 3, 4, 5)
    mid = _motion(api)
    url = f"/api/v1/motions/{mid}/rounds/1"
    assert api.post("chair", f"{url}/open").status_code == 200
    run = api.gateway.sitting.rounds[(mid, 1)]
    (reply,) = api.send(("kp-1", api.hall.kp(1).vote(mid, 1, run.nonce, (consts.NO,))))
    assert isinstance(reply, frames.Ack)
    assert api.post("chair", f"{url}/close").status_code == 200
    keypad = api.get("chair", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["result"]
    assert keypad["manual"] is False and keypad["outcome"] == consts.OUTCOME_FAILED  # 0 yes

    # Who may not enter: technician and display (403); wrong counts (409 with the reason).
    for role in ("technician", "display"):
        r = api.post(role, f"{url}/manual", json=HANDS)
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    for counts, code in [
        ([[3, 2, 1]], "MANUAL_OVER_PRESENT"),
        ([[-1, 0, 0]], "MANUAL_BAD_COUNTS"),
        ([[1, 0]], "MANUAL_BAD_COUNTS"),
    ]:
        r = api.post("clerk", f"{url}/manual", json={**HANDS, "counts": counts})
        assert r.status_code == 409 and r.json()["code"] == code, r.text
        assert r.json()["message"][0] >= "\u4e00"  # Chinese first
    r = api.post("clerk", f"{url}/manual", json={**HANDS, "reason": " "})
    assert r.status_code == 409 and r.json()["code"] == "MANUAL_NO_REASON"
    assert api.get("clerk", f"/api/v1/motions/{mid}").json()["rounds"][0]["state"] == "closed"

    r = api.post("clerk", f"{url}/manual", json=HANDS)
    assert r.status_code == 200, r.text
    view = api.get("chair", f"/api/v1/motions/{mid}/results").json()["rounds"][0]
    assert view["state"] == "manual" and view["result"] is None
    pending = view["pending_manual"]
    assert pending["counts"] == [[4, 1, 0]] and pending["entered_by"] == api.names["clerk"]
    assert pending["confirmed_by"] is None and pending["present"] == 5
    assert api.get("display", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["pending_manual"] is None
    screen = api.get("display", "/api/v1/live").json()["round"]
    assert screen["state"] == "manual" and screen["totals"] is None and screen["result"] is None
    run = api.gateway.sitting.rounds[(mid, 1)]
    (late,) = api.send(("kp-2", api.hall.kp(2).vote(mid, 1, run.nonce, (consts.YES,))))
    assert isinstance(late, frames.Nack) and late.reason == 0x36  # ROUND_CLOSED: counted by hand now

    # The same person cannot confirm; technician / display cannot; the clerk role cannot confirm its own kind.
    for role in ("technician", "display"):
        assert api.post(role, f"{url}/manual/confirm").status_code == 403
    r = api.post("clerk", f"{url}/manual/confirm")
    assert r.status_code == 409 and r.json()["code"] == "MANUAL_SAME_PERSON"

    # A gateway restart between entry and confirmation keeps the pending entry.
    restarted = _restart(api)
    kept = restarted.sitting.rounds[(mid, 1)]
    assert (
        kept.manual is not None
        and kept.manual.counts == ((4, 1, 0),)
        and kept.manual.entered_by == api.names["clerk"]
    )
    restarted.close()

    r = api.post("chair", f"{url}/manual/confirm")
    assert r.status_code == 200, r.text
    rnd = api.get("display", f"/api/v1/motions/{mid}/results").json()["rounds"][0]
    assert rnd["state"] == "closed" and rnd["result"] is None  # the screen waits for the announcement
    assert api.post("chair", f"{url}/announce").status_code == 200
    res = api.get("display", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["result"]
    assert res["manual"] is True and res["outcome"] == consts.OUTCOME_PASSED  # 4 of 5: more than half
    assert res["items"][0]["counts"] == [4, 1, 0]  # the keypad tally [0, 1, 0] is replaced
    assert (res["expected"], res["present"], res["voted"], res["not_pressed"]) == (5, 5, 5, 0)
    entry = res["manual_entry"]
    assert entry["method"] == "show_of_hands" and entry["method_zh"] == "举手表决"
    assert entry["reason"] == HANDS["reason"]
    assert (entry["entered_by"], entry["confirmed_by"]) == (api.names["clerk"], api.names["chair"])

    # Audited: entered, confirmed, the manual result frozen; the chain and the results check hold.
    kinds = [r.kind for r in api.audit.records()]
    assert kinds.index("manual.entered") < kinds.index("manual.confirmed")
    frozen = [json.loads(r.payload) for r in api.audit.records() if r.kind == "result.frozen"]
    assert frozen[-1]["totals"]["1:yes"] == 4 and frozen[-1]["outcome"] == str(consts.OUTCOME_PASSED)
    assert api.audit.verify().ok
    checked, problems = check_results(api.engine, api.audit.records())
    assert checked == 1 and problems == []
    db = api.engine.url.render_as_string(hide_password=False)
    verified = CliRunner().invoke(app, ["audit", "verify", "--db", db, "--head", res["audit_head"]])
    assert verified.exit_code == 0, verified.output
    assert "1 stored result(s) agree with the chain" in verified.output

    # Tampering with the manual result is caught: the stored counts no longer match the chain.
    with api.engine.begin() as conn:
        conn.execute(text("UPDATE result SET counts = :c"), {"c": json.dumps([[1, 4, 0]])})
    checked, problems = check_results(api.engine, api.audit.records())
    assert [p.reason for p in problems] == ["RESULT_MISMATCH"]
    with api.engine.begin() as conn:
        conn.execute(text("UPDATE result SET counts = :c"), {"c": json.dumps([[4, 1, 0]])})

    # After a restart the result is still the manual one, with who entered and confirmed.
    again = _restart(api)
    result = again.sitting.rounds[(mid, 1)].result
    assert result is not None and result.manual is not None and result.confirmed_by == api.names["chair"]
    assert result.items[0].counts == (4, 1, 0) and result.audit_head
    again.close()


def test_reject_then_chairs_own_entry_needs_the_clerk(api: Api) -> None:
    _in_session(api, 1, 2, 3, 4)
    mid = _motion(api, secret=True)
    url = f"/api/v1/motions/{mid}/rounds/1"  # never opened: keypads failed before the vote
    assert api.post("clerk", f"{url}/manual", json={**HANDS, "counts": [[1, 1, 1]]}).status_code == 200
    r = api.post("chair", f"{url}/manual/reject", json={"reason": "与现场举手数不符"})
    assert r.status_code == 200, r.text
    r = api.post("chair", f"{url}/manual/confirm")
    assert r.status_code == 409 and r.json()["code"] == "NO_MANUAL_ENTRY"

    paper = {"method": "paper", "reason": "纸质票", "counts": [[3, 1, 0]]}
    assert api.post("chair", f"{url}/manual", json=paper).status_code == 200
    r = api.post("chair", f"{url}/manual/confirm")
    assert r.status_code == 409 and r.json()["code"] == "MANUAL_SAME_PERSON"
    assert api.post("clerk", f"{url}/manual/confirm").status_code == 200
    res = api.get("chair", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["result"]
    assert res["manual"] is True and res["outcome"] == consts.OUTCOME_PASSED  # 3 of 5 members: more than half
    assert (res["present"], res["voted"], res["not_pressed"]) == (4, 4, 0)
    kinds = [r.kind for r in api.audit.records()]
    assert "manual.rejected" in kinds
    rejected = next(json.loads(r.payload) for r in api.audit.records() if r.kind == "manual.rejected")
    assert rejected["reason"] == "与现场举手数不符" and rejected["entered_by"] == api.names["clerk"]
    checked, problems = check_results(api.engine, api.audit.records())
    assert checked == 1 and problems == []
