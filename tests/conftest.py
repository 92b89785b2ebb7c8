"""Suite-wide policy: under HALLVOTE_REQUIRE_ALL=1 nothing may skip."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from hvtest.tools import require_all


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if require_all() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under HALLVOTE_REQUIRE_ALL=1, which forbids skips: {reason}"
