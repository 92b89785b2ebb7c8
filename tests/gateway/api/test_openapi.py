"""The OpenAPI document lists every route, each with a summary, a description, a tag and its security."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

Api = Any  # tests/gateway/api/conftest.py's Api (a conftest cannot be imported under importlib mode)

EXPECTED = {
    ("GET", "/api/v1/bodies"),
    ("POST", "/api/v1/bodies"),
    ("GET", "/api/v1/bodies/{body_id}/members"),
    ("POST", "/api/v1/bodies/{body_id}/members"),
    ("POST", "/api/v1/bodies/{body_id}/members/import"),
    ("GET", "/api/v1/halls"),
    ("POST", "/api/v1/halls"),
    ("GET", "/api/v1/halls/{hall_id}/seats"),
    ("POST", "/api/v1/halls/{hall_id}/seats"),
    ("POST", "/api/v1/halls/{hall_id}/seats/import"),
    ("GET", "/api/v1/devices"),
    ("POST", "/api/v1/halls/{hall_id}/devices"),
    ("PUT", "/api/v1/devices/{device_id}/seat"),
    ("POST", "/api/v1/devices/{device_id}/revoke"),
    ("POST", "/api/v1/halls/{hall_id}/seats/{label}/swap"),
    ("GET", "/api/v1/sittings"),
    ("POST", "/api/v1/sittings"),
    ("GET", "/api/v1/sittings/{sitting_id}"),
    ("GET", "/api/v1/sittings/{sitting_id}/seats"),
    ("POST", "/api/v1/sittings/{sitting_id}/seats"),
    ("POST", "/api/v1/sittings/{sitting_id}/seats/import"),
    ("GET", "/api/v1/sittings/{sitting_id}/attendance"),
    ("POST", "/api/v1/sittings/{sitting_id}/activate"),
    ("POST", "/api/v1/sittings/{sitting_id}/checkin/open"),
    ("POST", "/api/v1/sittings/{sitting_id}/start"),
    ("POST", "/api/v1/sittings/{sitting_id}/close"),
    ("GET", "/api/v1/sittings/{sitting_id}/motions"),
    ("POST", "/api/v1/sittings/{sitting_id}/motions"),
    ("GET", "/api/v1/motions/{motion_id}"),
    ("PUT", "/api/v1/motions/{motion_id}"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/open"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/pause"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/resume"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/close"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/announce"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/focus"),
    ("POST", "/api/v1/motions/{motion_id}/rerun"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/manual"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/manual/confirm"),
    ("POST", "/api/v1/motions/{motion_id}/rounds/{number}/manual/reject"),
    ("GET", "/api/v1/motions/{motion_id}/results"),
    ("GET", "/api/v1/live"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/health"),
}
PUBLIC = {("GET", "/api/v1/health")}


def _app_routes(api: Api) -> set[tuple[str, str]]:
    from gateway.api import health, live, motions, setup, sittings

    out = set()
    for module in (setup, sittings, motions, live, health):
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                out |= {(m, route.path) for m in route.methods}
    return out


def test_openapi_lists_every_route_with_summary_description_and_tag(api: Api) -> None:
    spec = api.get("technician", "/openapi.json").json()
    assert spec["info"]["title"] == "hallvote gateway" and spec["info"]["description"]
    tags = {t["name"] for t in spec["tags"]}
    assert all(t.get("description") for t in spec["tags"])
    listed = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == EXPECTED == _app_routes(api)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and " / " in op["summary"], where  # Chinese / English
            assert op.get("description"), where
            assert op.get("tags") and set(op["tags"]) <= tags, where
            if (method.upper(), path) in PUBLIC:
                assert "security" not in op, where
            else:
                assert op["security"] == [{"HTTPBearer": []}], where
                assert {"401", "403"} <= set(op["responses"]), where
                assert op["description"].rstrip().splitlines()[-1].startswith("角色 / roles: "), where


def test_docs_page_is_served(api: Api) -> None:
    r = api.get("display", "/docs")
    assert r.status_code == 200 and "/openapi.json" in r.text
