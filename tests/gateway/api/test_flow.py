"""A sitting run over HTTP, as the chair's console and the clerk would, with keypads pressing meanwhile.

Keypad frames go to ``Gateway.handle_batch`` exactly as the broker bridge
hands them over; everything else is HTTP.  On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from protocol import consts, frames

Api = Any  # tests/gateway/api/conftest.py's Api (a conftest cannot be imported under importlib mode)

Y, N_ = consts.YES, consts.NO
MORE_THAN_HALF_OF_ALL = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}


def _vote(api: Api, i: int, motion_id: int, number: int, choice: int) -> None:
    run = api.gateway.sitting.rounds[(motion_id, number)]
    (reply,) = api.send((f"kp-{i}", api.hall.kp(i).vote(motion_id, number, run.nonce, (choice,))))
    assert isinstance(reply, frames.Ack), reply


def test_a_vote_from_check_in_to_published_result(api: Api) -> None:
    sid = api.hall.sitting_id
    base = f"/api/v1/sittings/{sid}"

    r = api.post("chair", f"{base}/checkin/open")
    assert r.status_code == 200 and r.json()["sitting"]["state"] == "checkin_open"
    api.check_in(1, 2, 3)  # 3 of 5: not more than 2/3
    r = api.post("chair", f"{base}/start")
    assert r.json()["sitting"] == {"id": sid, "state": "in_session", "expected": 5, "present": 3}

    r = api.post(
        "clerk",
        f"{base}/motions",
        json={
            "title": "关于县政府工作报告的决议",
            "ballot_kind": consts.YES_NO_ABSTAIN,
            "secret": False,
            "passing_rule": MORE_THAN_HALF_OF_ALL,
        },
    )
    assert r.status_code == 201, r.text
    motion = r.json()
    mid = motion["id"]
    assert [(x["number"], x["state"]) for x in motion["rounds"]] == [(1, "ready")]
    round_url = f"/api/v1/motions/{mid}/rounds/1"

    r = api.post("chair", f"{round_url}/open")
    assert r.status_code == 409
    assert r.json()["code"] == "QUORUM_NOT_MET"
    assert r.json()["message"].startswith("未达到法定人数，不能开始表决 / ")  # Chinese first, then English

    api.check_in(4)  # late check-in (补签): 4 of 5 is more than 2/3
    r = api.post("chair", f"{round_url}/open")
    assert r.status_code == 200, r.text
    live = r.json()["round"]
    assert (live["motion_id"], live["round"], live["state"]) == (mid, 1, "open")

    _vote(api, 1, mid, 1, Y)
    _vote(api, 2, mid, 1, Y)
    _vote(api, 3, mid, 1, Y)  # kp-4 is present and does not press: 未按 1
    live = api.get("display", "/api/v1/live").json()["round"]
    assert live["totals"] == [[3, 0, 0]] and live["voted"] == 3 and live["not_pressed"] == 1  # named: live

    assert api.post("chair", f"{round_url}/pause").json()["round"]["state"] == "paused"
    assert api.post("clerk", f"{round_url}/resume").json()["round"]["state"] == "open"
    assert api.post("chair", f"{round_url}/close").json()["round"]["state"] == "closed"

    # Closed, not yet announced: the chair sees the result, the big screen does not yet.
    chair_view = api.get("chair", f"/api/v1/motions/{mid}/results").json()
    assert chair_view["rounds"][0]["result"] is not None
    screen_view = api.get("display", f"/api/v1/motions/{mid}/results").json()
    assert screen_view["rounds"][0]["result"] is None
    assert api.get("display", "/api/v1/live").json()["round"]["result"] is None

    r = api.post("chair", f"{round_url}/announce")
    assert r.json()["round"]["state"] == "announced"

    results = api.get("display", f"/api/v1/motions/{mid}/results").json()
    assert results["title"] == "关于县政府工作报告的决议" and results["secret"] is False
    assert [c["zh"] for c in results["choices"]] == ["赞成", "反对", "弃权"]
    (first,) = results["rounds"]
    assert first["state"] == "announced" and first["announced_at"] is not None
    res = first["result"]
    assert (res["expected"], res["present"], res["voted"], res["not_pressed"]) == (
        5,
        4,
        3,
        1,
    )  # 应到 实到 已按 未按
    assert res["outcome"] == consts.OUTCOME_PASSED and res["outcome_zh"] == "通过"
    assert res["rule_zh"] and res["rule_en"]  # the rule applied, in both languages
    assert "过半数" in res["rule_zh"] or "半数" in res["rule_zh"]
    assert res["items"] == [
        {
            "index": 0,
            "title": "关于县政府工作报告的决议",
            "counts": [3, 0, 0],
            "outcome": consts.OUTCOME_PASSED,
            "label_zh": res["items"][0]["label_zh"],
            "label_en": res["items"][0]["label_en"],
        }
    ]

    # A re-run is a new round; the first is kept.
    r = api.post("chair", f"/api/v1/motions/{mid}/rerun")
    assert r.status_code == 200
    detail = api.get("clerk", f"/api/v1/motions/{mid}").json()
    assert [(x["number"], x["state"]) for x in detail["rounds"]] == [(1, "announced"), (2, "ready")]

    attendance = api.get("clerk", f"{base}/attendance").json()
    assert sorted(a["member_id"] for a in attendance) == api.hall.members[:4]
    assert [a["late"] for a in attendance].count(True) == 1

    # The audit trail has each call with its route template, and the gateway's own events; the chain holds.
    calls = [
        (r.actor, json.loads(r.payload)["path"], json.loads(r.payload)["status"])
        for r in api.audit.records()
        if r.kind == "api.call"
    ]
    assert ("主任", "/api/v1/motions/{motion_id}/rounds/{number}/open", 409) in calls
    assert ("主任", "/api/v1/motions/{motion_id}/rounds/{number}/open", 200) in calls
    assert ("秘书长", "/api/v1/sittings/{sitting_id}/motions", 201) in calls
    kinds = [r.kind for r in api.audit.records()]
    assert {"round.opened", "round.closed", "result.frozen", "round.announced"} <= set(kinds)
    assert api.audit.verify().ok


def test_secret_round_shows_no_counts_until_closed(api: Api) -> None:
    sid = api.hall.sitting_id
    api.post("chair", f"/api/v1/sittings/{sid}/checkin/open")
    api.check_in(1, 2, 3, 4, 5)
    api.post("chair", f"/api/v1/sittings/{sid}/start")
    r = api.post(
        "clerk",
        f"/api/v1/sittings/{sid}/motions",
        json={"title": "关于任命的决定", "ballot_kind": 1, "passing_rule": MORE_THAN_HALF_OF_ALL},
    )
    mid = r.json()["id"]
    assert r.json()["secret"] is True  # 无记名 is the default
    api.post("chair", f"/api/v1/motions/{mid}/rounds/1/open")
    _vote(api, 1, mid, 1, Y)
    _vote(api, 2, mid, 1, N_)
    for role in ("chair", "display"):
        live = api.get(role, "/api/v1/live").json()["round"]
        assert live["secret"] is True and live["totals"] is None and live["voted"] == 2
    assert api.get("chair", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["result"] is None
    api.post("chair", f"/api/v1/motions/{mid}/rounds/1/close")
    res = api.get("chair", f"/api/v1/motions/{mid}/results").json()["rounds"][0]["result"]
    assert res["items"][0]["counts"] == [1, 1, 0] and res["not_pressed"] == 3
    assert res["outcome"] == consts.OUTCOME_FAILED


def test_refusals_are_409_or_422_with_code_and_message(api: Api) -> None:
    sid = api.hall.sitting_id
    # Commands need the active sitting.
    r = api.post("chair", "/api/v1/sittings/999/checkin/open")
    assert r.status_code == 409 and r.json()["code"] == "SITTING_NOT_ACTIVE"
    # The state machine refuses starting before check-in.
    r = api.post("chair", f"/api/v1/sittings/{sid}/start")
    assert r.status_code == 409 and set(r.json()) == {"code", "message"}
    # A livelihood list without the 20% margin is invalid (422), and nothing is stored.
    r = api.post(
        "clerk",
        f"/api/v1/sittings/{sid}/motions",
        json={
            "title": "民生实事项目",
            "ballot_kind": consts.ITEM_LIST,
            "items": ["项目一", "项目二", "项目三"],
            "select_k": 3,
            "passing_rule": {"base": "present", "numerator": 1, "denominator": 2, "strict": True},
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION"
    assert api.get("clerk", f"/api/v1/sittings/{sid}/motions").json() == []
    # Unknown rows are 404.
    assert api.get("clerk", "/api/v1/motions/4242").status_code == 404
    assert api.post("technician", "/api/v1/devices/kp-77/revoke").json()["code"] == "NOT_FOUND"
    # Duplicates are 409 CONFLICT.
    r = api.post("technician", "/api/v1/halls", json={"id": api.hall.hall_id, "name": "again"})
    assert r.status_code == 409 and r.json()["code"] == "CONFLICT"
    # A CSV with a bad row is refused whole, row and column named.
    r = api.client.post(
        f"/api/v1/halls/{api.hall.hall_id}/seats/import",
        content=b"label,row,col\nD-1,5,1\nD-2,x,2\n",
        headers={**api.auth("technician"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and r.json()["code"] == "CSV_INVALID"
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, "row")]
    seats = api.get("technician", f"/api/v1/halls/{api.hall.hall_id}/seats").json()
    assert "D-1" not in {s["label"] for s in seats}


def test_setup_changes_reach_the_running_hall(api: Api) -> None:
    """A member added to the roster counts in 应到 at once; a revoked keypad can no longer check in."""
    sid = api.hall.sitting_id
    r = api.post("clerk", f"/api/v1/bodies/{api.hall.body_id}/members", json={"name": "新任代表"})
    assert r.status_code == 201
    assert api.get("display", "/api/v1/live").json()["sitting"]["expected"] == 6
    assert api.post("technician", "/api/v1/devices/kp-5/revoke").json()["revoked"] is True
    api.post("chair", f"/api/v1/sittings/{sid}/checkin/open")
    (reply,) = api.send(("kp-5", api.hall.kp(5).check_in(sid, api.gateway.sitting.nonce)))
    assert isinstance(reply, frames.Nack)
