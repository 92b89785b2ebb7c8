"""Who may call what: every mutating route x every role (allowed or 403; no token 401), each call audited.

The table below is the specification; the test also checks it lists every
mutating route the app has, and that the OpenAPI document states the same
roles (``x-roles``), so a new route cannot slip in unguarded.
"""

from __future__ import annotations

import json
from typing import Any

from hvtest.databases import new_public_key

from gateway.api.audit_calls import MUTATING
from gateway.config.settings import ROLES

Api = Any  # tests/gateway/api/conftest.py's Api (a conftest cannot be imported under importlib mode)
CLERK, TECH, RUN = ("clerk",), ("technician",), ("chair", "clerk")

CSV = {"headers": {"Content-Type": "text/csv"}}


def _table(api: Api) -> list[tuple[str, str, tuple[str, ...], dict[str, Any]]]:
    """(method, route template, roles allowed, request keywords) for every mutating route."""
    hall = api.hall
    motion = {
        "title": "关于预算调整的决议",
        "ballot_kind": 1,
        "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
    }
    sitting = {"body_id": hall.body_id, "hall_id": hall.hall_id, "kind": "plenary", "title": "第二次全体会议"}
    return [
        ("POST", "/api/v1/bodies", CLERK, {"json": {"name": "某县人大常委会", "kind": "standing_committee"}}),
        ("POST", "/api/v1/bodies/{body_id}/members", CLERK, {"json": {"name": "新代表"}}),
        (
            "POST",
            "/api/v1/bodies/{body_id}/members/import",
            CLERK,
            {"content": "姓名\n补选代表\n".encode(), **CSV},
        ),
        ("POST", "/api/v1/halls", TECH, {"json": {"id": "hall-2", "name": "二号会议室"}}),
        ("POST", "/api/v1/halls/{hall_id}/seats", TECH, {"json": {"label": "B-1", "row": 2, "col": 1}}),
        (
            "POST",
            "/api/v1/halls/{hall_id}/seats/import",
            TECH,
            {"content": b"label,row,col\nC-1,3,1\n", **CSV},
        ),
        (
            "POST",
            "/api/v1/halls/{hall_id}/devices",
            TECH,
            {"json": {"device_id": "kp-99", "public_key": new_public_key().hex()}},
        ),
        ("PUT", "/api/v1/devices/{device_id}/seat", TECH, {"json": {"seat_id": None}}),
        ("POST", "/api/v1/devices/{device_id}/revoke", TECH, {}),
        ("POST", "/api/v1/halls/{hall_id}/seats/{label}/swap", TECH, {"json": {"to": "kp-404"}}),
        ("POST", "/api/v1/sittings", CLERK, {"json": sitting}),
        ("POST", "/api/v1/sittings/{sitting_id}/seats", CLERK, {"json": []}),
        ("POST", "/api/v1/sittings/{sitting_id}/seats/import", CLERK, {"content": b"seat,member\n", **CSV}),
        ("POST", "/api/v1/sittings/{sitting_id}/activate", RUN, {}),
        ("POST", "/api/v1/sittings/{sitting_id}/checkin/open", RUN, {}),
        ("POST", "/api/v1/sittings/{sitting_id}/start", RUN, {}),
        ("POST", "/api/v1/sittings/{sitting_id}/motions", CLERK, {"json": motion}),
        ("PUT", "/api/v1/motions/{motion_id}", CLERK, {"json": motion}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/open", RUN, {}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/pause", RUN, {}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/resume", RUN, {}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/focus", RUN, {"json": {"item": 255}}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/close", RUN, {}),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/announce", RUN, {}),
        ("POST", "/api/v1/motions/{motion_id}/rerun", RUN, {}),
        (
            "POST",
            "/api/v1/motions/{motion_id}/rounds/{number}/manual",
            RUN,
            {"json": {"method": "paper", "reason": "表决器故障", "counts": [[1, 0, 0]]}},
        ),
        ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/manual/confirm", RUN, {}),
        (
            "POST",
            "/api/v1/motions/{motion_id}/rounds/{number}/manual/reject",
            RUN,
            {"json": {"reason": "数错"}},
        ),
        ("POST", "/api/v1/sittings/{sitting_id}/close", RUN, {}),
    ]


def _url(api: Api, template: str) -> str:
    return template.format(
        body_id=api.hall.body_id,
        hall_id=api.hall.hall_id,
        device_id="kp-5",
        sitting_id=api.hall.sitting_id,
        motion_id=1,
        number=1,
        label="A-1",
    )


def _last_call(api: Api) -> tuple[str, dict[str, Any]]:
    (record,) = api.audit.tail(1)
    assert record.kind == "api.call"
    return record.actor, json.loads(record.payload)


def test_every_mutating_route_by_every_role(api: Api) -> None:
    table = _table(api)
    for method, template, allowed, kw in table:
        url = _url(api, template)
        for token in (None, "not-a-known-token-at-all"):
            headers = {**kw.get("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
            before = api.audit.count()
            r = api.client.request(method, url, **{**kw, "headers": headers})
            assert r.status_code == 401, (method, template, token, r.text)
            assert r.json()["code"] == "UNAUTHENTICATED" and r.headers["www-authenticate"] == "Bearer"
            # refused at the edge: nothing read, nothing written to the audit log
            assert api.audit.count() == before, (method, template)
        for role in ROLES:
            headers = {**kw.get("headers", {}), **api.auth(role)}
            r = api.client.request(method, url, **{**kw, "headers": headers})
            if role in allowed:
                assert r.status_code not in (401, 403) and r.status_code < 500, (
                    method,
                    template,
                    role,
                    r.text,
                )
            else:
                assert r.status_code == 403, (method, template, role, r.text)
                assert r.json()["code"] == "FORBIDDEN"
            # Every call, allowed or refused, is in the audit log with its route template and outcome.
            assert _last_call(api) == (
                api.names[role],
                {"method": method, "path": template, "role": role, "status": r.status_code},
            )
    assert api.audit.verify().ok


def test_the_table_covers_every_mutating_route_and_matches_openapi(api: Api) -> None:
    table = {(m, t): set(roles) for m, t, roles, _kw in _table(api)}
    spec = api.get("technician", "/openapi.json").json()
    found = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method.upper() in MUTATING:
                found[(method.upper(), path)] = set(op["x-roles"])
    assert found == table


def test_reads_need_a_token_and_are_not_audited(api: Api) -> None:
    before = api.audit.count()
    assert api.get(None, "/api/v1/live").status_code == 401
    assert api.get(None, "/api/v1/health").status_code == 200  # the only open route
    for role in ROLES:
        assert api.get(role, "/api/v1/live").status_code == 200
        assert api.get(role, "/api/v1/me").json() == {"name": api.names[role], "role": role}
        assert api.get(role, f"/api/v1/sittings/{api.hall.sitting_id}/motions").status_code == 200
    assert api.audit.count() == before


def test_only_the_chair_overrides_quorum(api: Api) -> None:
    from hvtest.seed import add_motion

    sid = api.hall.sitting_id
    api.post("chair", f"/api/v1/sittings/{sid}/checkin/open")
    api.check_in(1, 2)
    api.post("chair", f"/api/v1/sittings/{sid}/start")
    motion_id, number = api.gateway.add_motion(add_motion(api.engine, sid), "秘书长")
    url = f"/api/v1/motions/{motion_id}/rounds/{number}/open"
    body = {
        "override_reason": "部分代表因公缺席，经主席团决定 / members absent on duty, by presidium decision"
    }
    r = api.post("clerk", url, json=body)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    # The chair may ask, but this body does not allow overrides (seed_hall default): the rules refuse.
    r = api.post("chair", url, json=body)
    assert r.status_code == 409, r.text
    assert r.json()["code"] != "FORBIDDEN"
    assert api.post("chair", url, json={"override_reason": "   "}).status_code == 422


def test_calls_to_no_route_are_audited_too(api: Api) -> None:
    r = api.post("chair", "/api/v1/nowhere/42")
    assert r.status_code == 404
    # No route ran, but the token is known: the caller is named; the URL itself is not recorded.
    assert _last_call(api) == (
        api.names["chair"],
        {"method": "POST", "path": "/{unmatched}", "role": "chair", "status": 404},
    )
    before = api.audit.count()
    assert api.client.post("/api/v1/nowhere").status_code == 401  # no token: refused before routing
    assert api.audit.count() == before  # and not recorded
    r = api.client.delete("/api/v1/live", headers=api.auth("display"))
    assert r.status_code == 405
    assert _last_call(api) == (
        api.names["display"],
        {"method": "DELETE", "path": "/api/v1/live", "role": "display", "status": 405},
    )
