"""A whole sitting through the console in Chromium, against a real gateway process, Mosquitto and keypads.

The chair signs in, activates the sitting and opens check-in; ten of twelve
keypads check in and the page follows over the WebSocket; a named resolution,
a livelihood vote of 12 candidates for 10 places with a tie at the 10th, and a
secret satisfaction rating are opened, voted on by keypads, closed through
the confirmation step (keyboard shortcut included), and announced; the big
screen shows each announced result; the technician's seat map shows who is
checked in; the minutes list every round. Screenshots go to the test's
output folder (``<tmp_path>/screenshots``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hvtest.console import N_, A, Y, chromium, hall_with_console, sign_in
from hvtest.databases import BACKENDS

from protocol import consts

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

RESOLUTION = {
    "title": "关于批准2027年县级预算的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
    "interim": "totals_not_pressed",
}
CANDIDATES = [f"民生项目{i:02d}" for i in range(1, 13)]
LIVELIHOOD = {
    "title": "2027年民生实事项目票决",
    "ballot_kind": consts.ITEM_LIST,
    "items": CANDIDATES,
    "select_k": 10,
    "secret": True,
    "passing_rule": {"base": "present", "numerator": 1, "denominator": 2, "strict": False},
}
RATING = {
    "title": "2026年民生实事项目满意度测评",
    "ballot_kind": consts.RATING,
    "items": ["城区供水改造", "乡村道路硬化"],
    "options": 0b0001_1100,  # 满意 / 基本满意 / 不满意
    "secret": True,
}


def _cells(page, table: str) -> list[list[str]]:
    return page.locator(f"{table} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )


def _click_and_confirm(page, selector: str) -> None:
    page.click(selector)
    page.wait_for_selector("#confirm-yes")
    page.click("#confirm-yes")
    page.wait_for_url("**/console/chair**")


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_sitting(tmp_path: Path, backend: str) -> None:
    latencies: list[float] = []
    with hall_with_console(tmp_path, backend) as hall, chromium() as browser:
        chair = sign_in(browser, hall.base, "chair")
        assert chair.url.endswith("/console/chair")
        assert chair.inner_text("#whoami").startswith("王主任")
        screen = sign_in(browser, hall.base, "display", "/display")
        assert screen.url.endswith("/display")

        # activate the sitting, open check-in: the screen's idle view shows the title and 实到
        if chair.locator(
            f"#activate-{hall.hall.sitting_id}"
        ).count():  # the gateway may have loaded it at start
            chair.click(f"#activate-{hall.hall.sitting_id}")
        chair.click("#checkin-open")
        assert "签到中" in chair.inner_text("#sitting-state")
        assert "未达法定人数" in chair.inner_text("#quorum")
        screen.wait_for_selector("#idle")
        assert screen.inner_text("#screen-title") == "第一次全体会议"

        hall.check_in(*range(1, 11))
        # the console follows over the WebSocket, without a reload
        chair.wait_for_function("document.querySelector('#present').textContent.trim() === '10'")
        assert "已达法定人数" in chair.inner_text("#quorum")
        assert "三分之二以上代表出席" in chair.inner_text("#quorum")
        screen.wait_for_function("document.querySelector('#present').textContent.trim() === '10'")
        chair.click("#start")
        assert "会议进行中" in chair.inner_text("#sitting-state")

        # the clerk prepares the motions; the agenda shows them as they arrive
        resolution = hall.add_motion(RESOLUTION)
        livelihood = hall.add_motion(LIVELIHOOD)
        rating = hall.add_motion(RATING)
        chair.wait_for_selector(f"#motion-{rating['id']}")
        assert chair.locator("#agenda tbody tr").count() == 3

        # --- the resolution (named): live counts and who has not pressed, then close by shortcut
        chair.click(f"#open-{resolution['id']}")
        if chair.locator("#refusal").count():
            raise AssertionError(chair.inner_text("#refusal"))
        chair.wait_for_selector("#round[data-state=open]")
        hall.vote(
            resolution, {1: (Y,), 2: (Y,), 3: (Y,), 4: (Y,), 5: (Y,), 6: (Y,), 7: (Y,), 8: (N_,), 9: (A,)}
        )
        chair.wait_for_function("document.querySelector('#voted').textContent.trim() === '9'")
        assert "A-10" in chair.inner_text("#not-pressed-names")
        assert chair.locator("#live-counts tbody td").all_inner_texts()[1:] == ["7", "1", "1"]
        chair.keyboard.press("c")  # a shortcut only asks
        chair.wait_for_selector("#confirm-yes")
        assert "确认结束本轮表决" in chair.inner_text("#confirm-question")
        chair.keyboard.press("Escape")  # ... and can be called off
        chair.wait_for_selector("#round[data-state=open]")
        chair.keyboard.press("c")
        chair.wait_for_selector("#confirm-yes")
        chair.keyboard.press("Enter")
        chair.wait_for_selector("#round[data-state=closed]")
        assert chair.inner_text("#outcome").strip() == "通过"
        assert "赞成票超过全体组成人员的半数" in chair.inner_text("#rule")
        # the screen does not show the result before it is announced
        screen.wait_for_function("document.querySelector('#screen-round')?.dataset.state === 'closed'")
        assert screen.locator("#yes").count() == 0
        started = time.monotonic()
        chair.click("#announce")
        screen.wait_for_selector("#result-block")
        latencies.append(time.monotonic() - started)
        chair.wait_for_selector("#round[data-state=announced]")
        block = {
            k: screen.inner_text(f"#{k}").strip()
            for k in ("expected", "present", "yes", "no", "abstain", "not-pressed", "outcome")
        }
        assert block == {
            "expected": "12",
            "present": "10",
            "yes": "7",
            "no": "1",
            "abstain": "1",
            "not-pressed": "1",
            "outcome": "通过",
        }
        screen.wait_for_function("document.body.dataset.chart === 'drawn'")
        chair.screenshot(path=str(hall.out / "chair-resolution.png"), full_page=True)
        screen.screenshot(path=str(hall.out / "screen-resolution.png"))

        # --- livelihood: 12 candidates, 10 places, a tie at the 10th place (items 10 and 11: 6 yes each)
        chair.click(f"#open-{livelihood['id']}")
        chair.wait_for_selector("#round[data-state=open]")
        assert chair.locator("#secret-note").count() == 1  # no live counts of a secret round
        assert chair.locator("#live-counts").count() == 0
        votes = {}
        for i in range(1, 11):
            row = [Y] * 9 + [Y if i <= 6 else N_, Y if i > 4 else N_, Y if i <= 2 else N_]
            votes[i] = tuple(row)
        hall.vote(livelihood, votes)
        chair.wait_for_function("document.querySelector('#voted').textContent.trim() === '10'")
        _click_and_confirm(chair, "#close")
        chair.wait_for_selector("#ranking")
        ranking = _cells(chair, "#ranking")
        assert len(ranking) == 12
        assert {r[1] for r in ranking if "并列" in r[5] or "票数相同" in r[5]} == {"民生项目10", "民生项目11"}
        assert [r[1] for r in ranking if r[5] == "当选"] == CANDIDATES[:9]
        assert ranking[-1][1] == "民生项目12" and ranking[-1][2] == "2"
        assert "有并列" in chair.inner_text("#outcome")
        started = time.monotonic()
        chair.click("#announce")
        screen.wait_for_selector("#ranking")
        latencies.append(time.monotonic() - started)
        assert len(screen.locator("#ranking tbody tr").all_inner_texts()) == 12
        screen.screenshot(path=str(hall.out / "screen-livelihood.png"))

        # --- satisfaction rating (secret), three grades
        chair.click(f"#open-{rating['id']}")
        chair.wait_for_selector("#round[data-state=open]")
        sat, basic, unsat = consts.SATISFIED, consts.BASIC, consts.UNSATISFIED
        hall.vote(rating, {i: ((sat if i <= 7 else basic), (unsat if i <= 6 else sat)) for i in range(1, 11)})
        chair.wait_for_function("document.querySelector('#voted').textContent.trim() === '10'")
        _click_and_confirm(chair, "#close")
        chair.wait_for_selector("#rating-table")
        headers = [h.strip() for h in chair.locator("#rating-table thead th").all_inner_texts()]
        assert headers == ["测评对象", "满意", "基本满意", "不满意", "结论"]  # three grades: no 优秀 column
        rows = chair.locator("#rating-table tbody tr").all_inner_texts()
        assert "城区供水改造" in rows[0] and "满意" in rows[0] and "70.0%" in rows[0]
        started = time.monotonic()
        chair.click("#announce")
        screen.wait_for_selector("#rating-table")
        latencies.append(time.monotonic() - started)
        # a figure for docs/performance, not a check: click on announce -> result on the big screen
        (hall.out / "announce-to-screen.json").write_text(json.dumps({"seconds": latencies}))
        screen.screenshot(path=str(hall.out / "screen-rating.png"))
        chair.screenshot(path=str(hall.out / "chair-console.png"), full_page=True)

        # --- the technician's seat map: checked in, online, low battery, offline (no presence)
        hall.online(*range(1, 11))
        hall.online(11, battery=12)
        tech = sign_in(browser, hall.base, "technician")
        assert tech.url.endswith("/console/tech")
        tech.wait_for_function("document.querySelector('#seat-A-11').dataset.state === 'battery'")
        states = {f"A-{i}": tech.get_attribute(f"#seat-A-{i}", "data-state") for i in (1, 10, 11, 12)}
        assert states == {"A-1": "checked_in", "A-10": "checked_in", "A-11": "battery", "A-12": "offline"}
        tech.screenshot(path=str(hall.out / "seat-map.png"), full_page=True)

        # --- the minutes: every motion and round, the rule, each member's choice on the named vote, audit head
        chair.click("#minutes-link")
        chair.wait_for_selector("#minutes")
        text = chair.inner_text("#minutes")
        for title in (RESOLUTION["title"], LIVELIHOOD["title"], RATING["title"]):
            assert title in text
        assert "代表001" in chair.inner_text(f"#minutes-motion-{resolution['id']}")
        assert "代表0" not in chair.inner_text(
            f"#minutes-motion-{livelihood['id']}"
        )  # secret: no member named
        assert chair.inner_text("#audit-head").count(":") >= 1
        chair.emulate_media(media="print")  # the printed form: no navigation bar
        assert not chair.locator("header.top").is_visible()
        chair.screenshot(path=str(hall.out / "minutes-print.png"), full_page=True)
        data = json.loads(
            chair.context.request.get(
                f"{hall.base}/console/records/{hall.hall.sitting_id}/minutes.json"
            ).text()
        )
        assert [m["title"] for m in data["motions"]] == [
            RESOLUTION["title"],
            LIVELIHOOD["title"],
            RATING["title"],
        ]
        named = data["motions"][0]["rounds"][0]["named_choices"]
        assert {"member": "代表008", "choices": ["反对"]} in named
        assert data["motions"][1]["rounds"][0]["named_choices"] is None
        csv_text = chair.context.request.get(
            f"{hall.base}/console/records/{hall.hall.sitting_id}/minutes.csv"
        ).text()
        assert "民生项目10" in csv_text and "审计链头" in csv_text
        for shot in ("chair-console.png", "screen-resolution.png", "seat-map.png"):
            assert (hall.out / shot).stat().st_size > 10_000
