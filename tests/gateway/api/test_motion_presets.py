"""Motions as a clerk enters them: named presets, enum names, the 20% margin at entry, editing until the first
round opens, an agenda prepared for a sitting that is not active yet; the OpenAPI describes every field."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import consts

CANDIDATES = [f"候选项目{i}" for i in range(1, 13)]


def _create(api: Any, sitting_id: int, body: dict[str, Any]) -> Any:
    return api.post("clerk", f"/api/v1/sittings/{sitting_id}/motions", json=body)


@pytest.mark.parametrize(
    ("preset", "extra", "kind", "options", "rule"),
    [
        (
            "congress_resolution",
            {},
            consts.YES_NO_ABSTAIN,
            0b1110,
            {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
        ),
        (
            "standing_committee_resolution",
            {},
            consts.YES_NO_ABSTAIN,
            0b1110,
            {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
        ),
        (
            "livelihood_selection",
            {"items": CANDIDATES, "select_k": 10},
            consts.ITEM_LIST,
            0b1110,
            {"base": "present", "numerator": 1, "denominator": 2, "strict": False},
        ),
        ("satisfaction_rating", {"items": ["供水"]}, consts.RATING, 0b11100, None),
        ("performance_rating", {"items": ["代表甲"]}, consts.RATING, 0b11110, None),
    ],
)
def test_presets_fill_kind_rule_policy_and_options(api, preset, extra, kind, options, rule) -> None:
    r = _create(api, api.hall.sitting_id, {"title": "议题", "preset": preset, **extra})
    assert r.status_code == 201, r.text
    m = r.json()
    assert (m["ballot_kind"], m["options"], m["passing_rule"], m["secret"], m["press_policy"]) == (
        kind,
        options,
        rule,
        True,
        consts.FIRST_PRESS,
    )


def test_fields_given_win_over_the_preset_and_enum_names_are_taken(api) -> None:
    r = _create(
        api,
        api.hall.sitting_id,
        {
            "title": "记名表决",
            "preset": "congress_resolution",
            "secret": False,
            "press_policy": "last_press",
            "interim": "none",
        },
    )
    m = r.json()
    assert (m["secret"], m["press_policy"], m["interim"]) == (False, consts.LAST_PRESS, "none")
    r = _create(
        api,
        api.hall.sitting_id,
        {
            "title": "无预设",
            "ballot_kind": "yes_no_abstain",
            "passing_rule": {"base": "present", "numerator": 2, "denominator": 3, "strict": False},
        },
    )
    assert r.status_code == 201 and r.json()["ballot_kind"] == consts.YES_NO_ABSTAIN


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"preset": "livelihood_selection", "items": CANDIDATES[:11], "select_k": 10}, "差额比例不低于20%"),
        ({"preset": "livelihood_selection", "items": CANDIDATES}, "select_k"),
        ({"preset": "no_such_preset"}, "preset"),
        ({"ballot_kind": "secret_rating", "passing_rule": None}, "ballot_kind"),
        ({"preset": "congress_resolution", "options": 0b100000}, "options"),
    ],
)
def test_refusals_at_entry_are_422_and_add_nothing(api, body, needle) -> None:
    r = _create(api, api.hall.sitting_id, {"title": "议题", **body})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION" and needle in r.text
    assert api.get("clerk", f"/api/v1/sittings/{api.hall.sitting_id}/motions").json() == []


def test_a_motion_is_edited_until_its_first_round_opens(api) -> None:
    sid = api.hall.sitting_id
    m = _create(api, sid, {"title": "草案", "preset": "congress_resolution"}).json()
    r = api.client.put(
        f"/api/v1/motions/{m['id']}",
        headers=api.auth("clerk"),
        json={"title": "关于某事的决定", "preset": "standing_committee_resolution", "secret": False},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["secret"]) == ("关于某事的决定", False)
    # the running gateway uses the edited motion
    assert api.gateway.sitting.motions[m["id"]].secret is False
    assert api.gateway.sitting.motions[m["id"]].title == "关于某事的决定"
    r = api.client.put(
        f"/api/v1/motions/{m['id']}",
        headers=api.auth("chair"),
        json={"title": "x", "preset": "congress_resolution"},
    )
    assert r.status_code == 403  # the clerk prepares motions
    api.post("chair", f"/api/v1/sittings/{sid}/checkin/open")
    api.check_in(1, 2, 3, 4, 5)
    api.post("chair", f"/api/v1/sittings/{sid}/start")
    assert api.post("chair", f"/api/v1/motions/{m['id']}/rounds/1/open").status_code == 200
    r = api.client.put(
        f"/api/v1/motions/{m['id']}",
        headers=api.auth("clerk"),
        json={"title": "改", "preset": "congress_resolution"},
    )
    assert r.status_code == 409 and r.json()["code"] == "MOTION_OPENED"
    assert api.get("clerk", f"/api/v1/motions/{m['id']}").json()["title"] == "关于某事的决定"


def test_an_agenda_is_prepared_before_its_sitting_is_active(api) -> None:
    body = {
        "body_id": api.hall.body_id,
        "hall_id": api.hall.hall_id,
        "kind": "plenary",
        "title": "第二次全体会议",
    }
    later = api.post("clerk", "/api/v1/sittings", json=body).json()
    m = _create(api, later["id"], {"title": "关于下一次会议的决议", "preset": "congress_resolution"})
    assert m.status_code == 201, m.text
    assert [(x["number"], x["state"]) for x in m.json()["rounds"]] == [(1, "ready")]
    assert m.json()["id"] not in api.gateway.sitting.motions  # the active sitting is untouched
    # activated later, the sitting comes with its agenda, ready to open
    api.post("chair", f"/api/v1/sittings/{api.hall.sitting_id}/close")
    r = api.post("chair", f"/api/v1/sittings/{later['id']}/activate")
    assert r.status_code == 200, r.text
    assert (m.json()["id"], 1) in api.gateway.sitting.rounds


def test_openapi_describes_every_field_of_a_motion(api) -> None:
    spec = api.get("clerk", "/openapi.json").json()  # the documentation is for signed-in users by default
    motion_in = spec["components"]["schemas"]["MotionIn"]
    assert set(motion_in["properties"]) >= {
        "title",
        "preset",
        "ballot_kind",
        "items",
        "press_policy",
        "secret",
        "passing_rule",
        "select_k",
        "interim",
        "countdown_s",
        "options",
    }
    for name, prop in motion_in["properties"].items():
        assert prop.get("description"), name
    assert "congress_resolution" in str(motion_in["properties"]["preset"])
