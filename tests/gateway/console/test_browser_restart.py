"""The chair console and the big screen resynchronise by themselves after the gateway restarts mid-round;
/docs renders in Chromium with every request off this machine blocked (an offline hall network)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from hvtest.console import N_, NAMES, PASSWORDS, Y, chromium, hall_with_console, sign_in

from protocol import consts

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

MOTION = {
    "title": "关于县城老旧小区改造的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_console_and_screen_resync_after_a_gateway_restart(tmp_path: Path) -> None:
    with hall_with_console(tmp_path, members=6) as hall, chromium() as browser:
        chair = sign_in(browser, hall.base, "chair")
        screen = sign_in(browser, hall.base, "display", "/display")
        chair.click("#checkin-open")
        hall.check_in(1, 2, 3, 4, 5, 6)
        chair.wait_for_function("document.querySelector('#present').textContent.trim() === '6'")
        chair.click("#start")
        motion = hall.add_motion(MOTION)
        chair.wait_for_selector(f"#open-{motion['id']}")
        chair.click(f"#open-{motion['id']}")
        chair.wait_for_selector("#round[data-state=open]")
        hall.vote(motion, {1: (Y,), 2: (Y,)})
        chair.wait_for_function("document.querySelector('#voted').textContent.trim() === '2'")
        screen.wait_for_function("document.querySelector('#voted')?.textContent.trim() === '2'")

        hall.gateway.kill()  # SIGKILL mid-round
        chair.wait_for_selector("#conn", state="visible")
        screen.wait_for_selector("#conn", state="visible")
        hall.gateway.start()
        hall.vote(motion, {3: (Y,), 4: (N_,)})  # votes after the restart

        # both pages come back on their own (no reload), with the votes from before and after the crash
        chair.wait_for_function("document.querySelector('#voted').textContent.trim() === '4'", timeout=30_000)
        screen.wait_for_function(
            "document.querySelector('#voted')?.textContent.trim() === '4'", timeout=30_000
        )
        chair.wait_for_selector("#conn", state="hidden")
        screen.wait_for_selector("#conn", state="hidden")
        assert chair.locator("#live-counts tbody td").all_inner_texts()[1:] == ["3", "1", "0"]
        # the sessions outlived the restart: still signed in, and actions still work
        chair.click("#close")
        chair.click("#confirm-yes")
        chair.wait_for_selector("#round[data-state=closed]")
        chair.click("#announce")
        screen.wait_for_selector("#result-block")
        assert (
            _text(screen, "#yes") == "3"
            and _text(screen, "#no") == "1"
            and _text(screen, "#not-pressed") == "2"
        )
        assert _text(screen, "#outcome") == "未通过"  # 3 of 6 is not more than half of all members
        screen.screenshot(path=str(hall.out / "screen-after-restart.png"))


def test_docs_render_with_the_network_cut(tmp_path: Path) -> None:
    with hall_with_console(tmp_path, members=2) as hall, chromium() as browser:
        context = browser.new_context()
        outside: list[str] = []

        def only_this_machine(route) -> None:
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", only_this_machine)
        page = context.new_page()
        # signed in (the API documentation may be for signed-in people only: [api] docs)
        page.goto(f"{hall.base}/console/login")
        page.fill("#name", NAMES["clerk"])
        page.fill("#password", PASSWORDS["clerk"])
        page.click("#signin")
        page.goto(f"{hall.base}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "hallvote gateway" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock-tag-section")
        assert page.locator(".opblock").count() > 20  # every route is there
        assert outside == []  # and nothing was fetched from off this machine
        page.screenshot(path=str(hall.out / "docs-offline.png"))
