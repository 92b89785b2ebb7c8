"""Who may do what on the console, and forged or missing CSRF tokens: a refusal changes nothing."""

from __future__ import annotations

import pytest

from gateway.console.auth import COOKIE
from protocol import consts

MOTION = {
    "title": "关于设立专门委员会的决定",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def _ready(console) -> int:
    """The sitting in session with quorum and one motion ready; returns the motion id."""
    gw = console.gateway
    gw.open_checkin("setup")
    console.check_in(1, 2, 3, 4, 5)
    gw.start_session("setup")
    from sqlmodel import Session

    from gateway.db.crud import create_motion
    from gateway.db.models import MotionCreate

    with Session(console.engine) as s:
        motion = create_motion(
            session=s, sitting_id=console.hall.sitting_id, motion_in=MotionCreate.model_validate(MOTION)
        )
        motion_id = motion.id
    gw.add_motion(motion_id, "setup")
    return motion_id


def _state(console, motion_id: int) -> str:
    return console.gateway.sitting.rounds[(motion_id, 1)].state.value


def test_the_chair_opens_a_vote(console) -> None:
    motion_id = _ready(console)
    chair = console.browser("chair")
    r = chair.post(
        "/console/chair/do",
        data={"csrf": console.csrf(chair), "action": "open", "motion": motion_id, "number": 1},
    )
    assert r.status_code == 200 and r.url.path == "/console/chair"
    assert _state(console, motion_id) == "open"
    # the gateway's record names the person
    opened = [rec for rec in console.audit.records() if rec.kind == "round.opened"]
    assert opened[-1].actor == "王主任"


@pytest.mark.parametrize("role", ["display", "technician"])
def test_display_and_technician_cannot_open_a_vote(console, role: str) -> None:
    motion_id = _ready(console)
    client = console.browser(role)
    r = client.post(
        "/console/chair/do",
        data={"csrf": console.csrf(client), "action": "open", "motion": motion_id, "number": 1},
    )
    assert r.status_code == 403 and "FORBIDDEN" in r.text
    assert _state(console, motion_id) == "ready"
    assert client.get("/console/chair").status_code == 403


def test_the_display_changes_nothing(console) -> None:
    motion_id = _ready(console)
    screen = console.browser("display")
    csrf = console.csrf(screen, "/console/records")
    version = console.gateway.version
    for action in ("checkin_open", "start", "close_sitting", "open", "close", "announce", "rerun"):
        r = screen.post(
            "/console/chair/do",
            data={
                "csrf": csrf,
                "action": action,
                "sitting": console.hall.sitting_id,
                "motion": motion_id,
                "number": 1,
                "reason": "x",
            },
        )
        assert r.status_code == 403, action
    r = screen.post("/console/tech/swap", data={"csrf": csrf, "seat": "A-1", "to": "kp-2"})
    assert r.status_code == 403
    # nor through the JSON API with its session cookie (the API takes bearer tokens only)
    r = screen.post(f"/api/v1/motions/{motion_id}/rounds/1/open")
    assert r.status_code == 401
    assert console.gateway.version == version and _state(console, motion_id) == "ready"


def test_the_clerk_cannot_swap_a_keypad(console) -> None:
    clerk = console.browser("clerk")
    r = clerk.post(
        "/console/tech/swap", data={"csrf": console.csrf(clerk), "seat": "A-1", "to": "kp-2", "reason": "x"}
    )
    assert r.status_code == 403
    swapped = [rec for rec in console.audit.records() if rec.kind == "device.swapped"]
    assert swapped == []


@pytest.mark.parametrize("csrf", [None, "", "forged-token-0000", "SAME-LENGTH"])
def test_a_missing_or_forged_csrf_token_is_refused(console, csrf: str | None) -> None:
    motion_id = _ready(console)
    chair = console.browser("chair")
    real = console.csrf(chair)
    data = {"action": "open", "motion": motion_id, "number": 1}
    if csrf is not None:
        data["csrf"] = real.upper() if csrf == "SAME-LENGTH" and real.upper() != real else csrf
    r = chair.post("/console/chair/do", data=data)
    assert r.status_code == 403 and "CSRF_INVALID" in r.text
    assert _state(console, motion_id) == "ready"
    r = chair.post("/console/logout", data={k: v for k, v in data.items() if k == "csrf"})
    assert r.status_code == 403 and chair.cookies.get(COOKIE) is not None


def test_another_sessions_csrf_token_is_refused(console) -> None:
    motion_id = _ready(console)
    chair = console.browser("chair")
    clerk = console.browser("clerk")
    r = chair.post(
        "/console/chair/do",
        data={"csrf": console.csrf(clerk), "action": "open", "motion": motion_id, "number": 1},
    )
    assert r.status_code == 403
    assert _state(console, motion_id) == "ready"


def test_opening_without_quorum_is_refused_with_the_reason_and_the_numbers(console) -> None:
    gw = console.gateway
    gw.open_checkin("setup")
    console.check_in(1, 2)
    gw.start_session("setup")
    from sqlmodel import Session

    from gateway.db.crud import create_motion
    from gateway.db.models import MotionCreate

    with Session(console.engine) as s:
        motion_id = create_motion(
            session=s, sitting_id=console.hall.sitting_id, motion_in=MotionCreate.model_validate(MOTION)
        ).id
    gw.add_motion(motion_id, "setup")
    chair = console.browser("chair")
    r = chair.post(
        "/console/chair/do",
        data={"csrf": console.csrf(chair), "action": "open", "motion": motion_id, "number": 1},
    )
    assert r.status_code == 409
    assert "QUORUM_NOT_MET" in r.text
    assert "应到 5 人, 实到 2 人" in r.text and "尚缺 2 人" in r.text
    assert _state(console, motion_id) == "ready"


def test_closing_asks_first_and_a_rerun_needs_a_reason(console) -> None:
    motion_id = _ready(console)
    chair = console.browser("chair")
    csrf = console.csrf(chair)
    chair.post("/console/chair/do", data={"csrf": csrf, "action": "open", "motion": motion_id, "number": 1})
    r = chair.post(
        "/console/chair/do", data={"csrf": csrf, "action": "close", "motion": motion_id, "number": 1}
    )
    assert "确认结束本轮表决" in r.text and _state(console, motion_id) == "open"
    r = chair.post(
        "/console/chair/do",
        data={"csrf": csrf, "action": "close", "motion": motion_id, "number": 1, "confirmed": "yes"},
    )
    assert _state(console, motion_id) == "closed"
    r = chair.post(
        "/console/chair/do", data={"csrf": csrf, "action": "rerun", "motion": motion_id, "reason": " "}
    )
    assert r.status_code == 422 and "REASON_REQUIRED" in r.text
    assert (motion_id, 2) not in console.gateway.sitting.rounds
    r = chair.post(
        "/console/chair/do",
        data={"csrf": csrf, "action": "rerun", "motion": motion_id, "reason": "表决器故障"},
    )
    assert (motion_id, 2) in console.gateway.sitting.rounds
    reruns = [rec for rec in console.audit.records() if rec.kind == "round.rerun"]
    assert len(reruns) == 1 and reruns[0].actor == "王主任" and "表决器故障" in reruns[0].payload
    # the minutes carry the reason
    page = chair.get(f"/console/records/{console.hall.sitting_id}")
    assert "表决器故障" in page.text
