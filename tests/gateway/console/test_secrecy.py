"""While a secret round is open nothing on the console shows choices or who has pressed (whatever the interim
setting), the seat map marks presses of named rounds only, and the big screen shows no live counts at all."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update
from sqlmodel import Session

from gateway.core.decide import Inbound
from gateway.db.crud import create_motion
from gateway.db.models import Device, MotionCreate
from protocol import consts


def _open(console, secret: bool, interim: str) -> int:
    gw = console.gateway
    gw.open_checkin("setup")
    console.check_in(1, 2, 3, 4, 5)
    gw.start_session("setup")
    body = {
        "title": "关于某事的决议",
        "preset": "congress_resolution",
        "secret": secret,
        "interim": interim,
    }
    with Session(console.engine) as s:
        motion_id = create_motion(
            session=s, sitting_id=console.hall.sitting_id, motion_in=MotionCreate.model_validate(body)
        ).id
    gw.add_motion(motion_id, "setup")
    with console.engine.begin() as conn:  # the keypads are online (as their presence would say)
        conn.execute(update(Device).values(online=True))
    gw.open_round((motion_id, 1), "setup")
    nonce = gw.sitting.rounds[(motion_id, 1)].nonce
    frame = console.hall.kp(1).vote(motion_id, 1, nonce, (consts.YES,))
    gw.handle_batch([Inbound("kp-1", "up", frame, time.time())])
    return motion_id


@pytest.mark.parametrize("interim", ["totals", "totals_not_pressed", "none"])
def test_a_secret_round_shows_no_choices_nor_who_pressed(console, interim: str) -> None:
    _open(console, secret=True, interim=interim)
    chair = console.browser("chair").get("/console/chair").text
    assert 'id="voted">1<' in chair  # how many: yes
    assert 'id="live-counts"' not in chair and 'id="not-pressed-names"' not in chair
    assert 'id="secret-note"' in chair
    tech = console.browser("technician").get("/console/tech").text
    assert 'data-state="pressed"' not in tech and tech.count('data-state="checked_in"') == 5


def test_a_named_round_shows_what_its_interim_setting_allows(console) -> None:
    _open(console, secret=False, interim="totals_not_pressed")
    chair = console.browser("chair").get("/console/chair").text
    assert 'id="live-counts"' in chair
    assert 'id="not-pressed-names"' in chair and "A-2 代表002" in chair and "A-1 代表001" not in chair
    tech = console.browser("technician").get("/console/tech").text
    assert tech.count('data-state="pressed"') == 1 and tech.count('data-state="checked_in"') == 4
    screen = console.browser("display").get("/display").text
    assert 'id="voted">1<' in screen and 'id="yes"' not in screen and 'id="live-counts"' not in screen


def test_interim_none_hides_counts_of_a_named_round(console) -> None:
    _open(console, secret=False, interim="none")
    chair = console.browser("chair").get("/console/chair").text
    assert 'id="live-counts"' not in chair and 'id="interim-none"' in chair
