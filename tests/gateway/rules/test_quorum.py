"""Quorum: boundaries, refusal to open without quorum, the chair's override."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.rules import (
    AT_LEAST_TWO_THIRDS,
    CONGRESS_QUORUM,
    MORE_THAN_TWO_THIRDS,
    QUORUM_PRESETS,
    STANDING_COMMITTEE_QUORUM,
    ChairOverride,
    CountsInconsistent,
    InvalidOverride,
    QuorumNotMet,
    QuorumOverrideNotAllowed,
    QuorumRule,
    QuorumStatus,
    check_quorum,
    require_quorum_to_open,
)

# (rule, expected, present, met, required)
QUORUM = [
    (CONGRESS_QUORUM, 327, 218, True, 218),  # 三分之二以上: exactly 2/3 proceeds (DOMAIN.md)
    (CONGRESS_QUORUM, 327, 217, False, 218),
    (CONGRESS_QUORUM, 300, 200, True, 200),  # exactly 2/3
    (CONGRESS_QUORUM, 300, 199, False, 200),
    (CONGRESS_QUORUM, 300, 300, True, 200),
    (CONGRESS_QUORUM, 300, 0, False, 200),
    (CONGRESS_QUORUM, 301, 200, False, 201),  # 2/3 of 301 = 200.67
    (CONGRESS_QUORUM, 301, 201, True, 201),
    (CONGRESS_QUORUM, 40, 27, True, 27),  # town congress: 2/3 of 40 = 26.67
    (CONGRESS_QUORUM, 40, 26, False, 27),
    (CONGRESS_QUORUM, 3, 2, True, 2),  # 2/3 of 3 = 2
    (CONGRESS_QUORUM, 3, 1, False, 2),
    (CONGRESS_QUORUM, 2455, 1637, True, 1637),
    (CONGRESS_QUORUM, 2455, 1636, False, 1637),
    (QuorumRule(MORE_THAN_TWO_THIRDS), 327, 218, False, 219),  # configurable: "more than"
    (STANDING_COMMITTEE_QUORUM, 40, 20, False, 21),  # exactly half
    (STANDING_COMMITTEE_QUORUM, 40, 21, True, 21),
    (STANDING_COMMITTEE_QUORUM, 41, 21, True, 21),
    (STANDING_COMMITTEE_QUORUM, 41, 20, False, 21),
    (STANDING_COMMITTEE_QUORUM, 1, 1, True, 1),
    (QuorumRule(AT_LEAST_TWO_THIRDS), 300, 200, True, 200),  # configurable: "at least"
]


@pytest.mark.parametrize(("rule", "expected", "present", "met", "required"), QUORUM)
def test_check_quorum(rule: QuorumRule, expected: int, present: int, met: bool, required: int) -> None:
    status = check_quorum(expected, present, rule)
    assert status.met is met
    assert status.required == required
    assert (status.expected, status.present, status.rule) == (expected, present, rule)
    assert status.shortfall == (0 if met else required - present)


def test_presets() -> None:
    assert QUORUM_PRESETS["congress"] is CONGRESS_QUORUM
    assert QUORUM_PRESETS["standing_committee"] is STANDING_COMMITTEE_QUORUM


@pytest.mark.parametrize(
    ("expected", "present"),
    [(300, 301), (0, 0), (-1, 0), (10, -1), (True, 1), (10, 2.0)],
)
def test_impossible_attendance_is_refused(expected: int, present: int) -> None:
    with pytest.raises(CountsInconsistent) as err:
        check_quorum(expected, present, CONGRESS_QUORUM)
    assert err.value.code == "COUNTS_INCONSISTENT"


CHAIR = ChairOverride(by="主任 张三", reason="暴雨, 部分代表途中受阻")
MET = check_quorum(300, 250, CONGRESS_QUORUM)
NOT_MET = check_quorum(300, 199, CONGRESS_QUORUM)

# (status, override, overrides_allowed, outcome: "open" | "override" | error code)
OPEN = [
    (MET, None, False, "open"),
    (MET, None, True, "open"),
    (MET, CHAIR, True, "open"),  # not needed, so not used
    (MET, CHAIR, False, "open"),
    (NOT_MET, None, False, "QUORUM_NOT_MET"),
    (NOT_MET, None, True, "QUORUM_NOT_MET"),
    (NOT_MET, CHAIR, False, "QUORUM_OVERRIDE_NOT_ALLOWED"),
    (NOT_MET, CHAIR, True, "override"),
]


@pytest.mark.parametrize(("status", "override", "allowed", "outcome"), OPEN)
def test_require_quorum_to_open(
    status: QuorumStatus, override: ChairOverride | None, allowed: bool, outcome: str
) -> None:
    if outcome in ("open", "override"):
        decision = require_quorum_to_open(status, override, overrides_allowed=allowed)
        assert decision.status is status
        assert decision.override_used is (outcome == "override")
        assert decision.override == (CHAIR if outcome == "override" else None)
    else:
        with pytest.raises(QuorumNotMet) as err:
            require_quorum_to_open(status, override, overrides_allowed=allowed)
        assert err.value.code == outcome
        assert (err.value.expected, err.value.present, err.value.required) == (300, 199, 200)


def test_override_not_allowed_is_a_quorum_refusal() -> None:
    assert issubclass(QuorumOverrideNotAllowed, QuorumNotMet)


@pytest.mark.parametrize(("by", "reason"), [("", "x"), ("chair", ""), ("chair", "   "), (None, "x")])
def test_override_needs_who_and_why(by: str, reason: str) -> None:
    with pytest.raises(InvalidOverride) as err:
        ChairOverride(by=by, reason=reason)
    assert err.value.code == "INVALID_OVERRIDE"


@given(expected=st.integers(1, 3000), data=st.data())
def test_required_is_the_exact_boundary(expected: int, data: st.DataObject) -> None:
    rule = data.draw(st.sampled_from([CONGRESS_QUORUM, STANDING_COMMITTEE_QUORUM]))
    required = check_quorum(expected, expected, rule).required
    assert 1 <= required <= expected
    assert check_quorum(expected, required, rule).met
    assert not check_quorum(expected, required - 1, rule).met
    present = data.draw(st.integers(0, expected))
    assert check_quorum(expected, present, rule).met is (present >= required)
