"""Manual fallback in Chromium against a real gateway and broker: keypads fail, the clerk enters the
counts, the clerk cannot confirm them, the chair confirms, the big screen and the minutes say manual."""

from __future__ import annotations

from pathlib import Path

import pytest
from hvtest.console import NAMES, Y, chromium, hall_with_console, sign_in

from protocol import consts

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

MOTION = {
    "title": "关于城区道路改造的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_clerk_enters_chair_confirms_in_the_console(tmp_path: Path) -> None:
    with hall_with_console(tmp_path, members=6) as hall, chromium() as browser:
        chair = sign_in(browser, hall.base, "chair")
        clerk = sign_in(browser, hall.base, "clerk")
        screen = sign_in(browser, hall.base, "display", "/display")
        chair.click("#checkin-open")
        hall.check_in(1, 2, 3, 4, 5, 6)
        chair.wait_for_function("document.querySelector('#present').textContent.trim() === '6'")
        chair.click("#start")
        motion = hall.add_motion(MOTION)
        mid = motion["id"]
        chair.wait_for_selector(f"#open-{mid}")
        chair.click(f"#open-{mid}")
        chair.wait_for_selector("#round[data-state=open]")
        hall.vote(motion, {1: (Y,)})  # then the keypads fail
        chair.click("#close")
        chair.click("#confirm-yes")
        chair.wait_for_selector("#round[data-state=closed]")

        # The clerk enters the show of hands: 5 yes, 1 no.
        clerk.goto(f"{hall.base}/console/chair/manual/{mid}/1")
        clerk.select_option("#manual-method", "show_of_hands")
        clerk.fill("#manual-reason", "表决器故障，改为举手表决")
        clerk.fill("#manual-c-0-1", "5")
        clerk.fill("#manual-c-0-2", "1")
        clerk.click("#manual-submit")
        clerk.wait_for_selector("#round[data-state=manual]")
        # The same person cannot confirm.
        clerk.goto(f"{hall.base}/console/chair/manual/{mid}/1")
        assert _text(clerk, "#manual-entered-by") == NAMES["clerk"]
        clerk.click("#manual-confirm")
        clerk.wait_for_selector("#refusal")
        assert "MANUAL_SAME_PERSON" in _text(clerk, "#refusal")

        # The chair confirms; the console shows the result as manual.
        chair.goto(f"{hall.base}/console/chair/manual/{mid}/1")
        chair.wait_for_selector("#manual-pending")
        chair.screenshot(path=str(hall.out / "manual-confirm.png"))
        chair.click("#manual-confirm")
        chair.wait_for_selector("#round[data-state=closed] #result-manual")
        assert "举手表决" in _text(chair, "#result-manual") and NAMES["chair"] in _text(
            chair, "#result-manual"
        )
        assert _text(chair, "#outcome") == "通过"  # 5 of 6: more than half of all members
        chair.click("#announce")
        screen.wait_for_selector("#result-block")
        screen.wait_for_selector("#result-manual")
        assert (
            _text(screen, "#yes") == "5" and _text(screen, "#no") == "1"
        )  # the keypad tally (1 yes) replaced
        screen.screenshot(path=str(hall.out / "manual-screen.png"))

        sid = hall.hall.sitting_id
        chair.goto(f"{hall.base}/console/records/{sid}")
        assert "人工计票" in _text(chair, f"#minutes-motion-{mid}")
        public = browser.new_page()
        public.goto(f"{hall.base}/results/{sid}")
        assert "人工计票" in _text(public, f"#minutes-motion-{mid}")
