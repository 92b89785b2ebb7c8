"""Scenario files: the shipped ones load; a bad file is a ScenarioError naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hil.scenario.spec import ScenarioError, load, parse, resized

BASE: dict[str, Any] = {
    "seats": 10,
    "motions": [{"key": "m", "title": "t", "kind": "resolution", "weights": {"yes": 1}}],
}


@pytest.mark.parametrize(
    ("name", "seats"), [("town", 60), ("county", 300), ("national", 3000), ("demo", 300)]
)
def test_shipped_scenarios_load(name: str, seats: int) -> None:
    s = load(name)
    assert s.seats == seats and s.motions


def test_yaml_yes_no_keys_are_choices_not_booleans(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("seats: 5\nmotions:\n  - {key: m, title: t, kind: resolution, weights: {yes: 3, no: 1}}\n")
    assert load(f).motions[0].weights == {"yes": 3.0, "no": 1.0}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seats": 0}, "seats"),
        ({"motions": [{"key": "m", "title": "t", "kind": "vote", "weights": {"yes": 1}}]}, "motions[0].kind"),
        ({"motions": [{"key": "m", "title": "t", "kind": "resolution", "weights": {"maybe": 1}}]}, "motions[0].weights"),
        ({"motions": [{"key": "m", "title": "t", "kind": "selection", "items": ["a", "b"], "weights": {"yes": 1}}]},
         "motions[0].select"),
        ({"motions": [{"key": "m", "title": "t", "kind": "selection", "select": 2, "items": ["a", "b"],
                       "weights": {"yes": 1}}]}, "motions[0].select"),
        ({"motions": [{"key": "m", "title": "t", "kind": "selection", "select": 1, "from_selection": "x",
                       "weights": {"yes": 1}}]}, "motions[0].from_selection"),
        ({"faults": [{"verb": "meteor", "during": "checkin"}]}, "faults[0].verb"),
        ({"faults": [{"verb": "kill_gateway", "during": "nowhere"}]}, "faults[0].during"),
        ({"checkin": {"absent": 11}}, "checkin.absent"),
    ],
)  # fmt: skip
def test_bad_fields_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse({**BASE, **change})


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="town"):
        load("no-such-scenario")


def test_resized_keeps_at_least_one_present_and_scales_faults() -> None:
    s = parse({**BASE, "seats": 300, "checkin": {"absent": 30},
               "faults": [{"verb": "partition", "during": "m", "keypads": 60, "seconds": 5}]})  # fmt: skip
    small = resized(s, 10)
    assert small.seats == 10 and small.absent == 1 and small.faults[0].keypads == 2


def test_store_and_swap_fault_verbs_parse() -> None:
    s = parse({**BASE, "faults": [
        {"verb": "swap", "during": "m", "after": 0.5, "keypads": 2},
        {"verb": "db_unreachable", "during": "m", "after": 0.3, "seconds": 8},
        {"verb": "disk_full", "during": "m", "seconds": 6},
    ]})  # fmt: skip
    assert [(f.verb, f.keypads, f.seconds) for f in s.faults] == [
        ("swap", 2, 0.0), ("db_unreachable", 1, 8.0), ("disk_full", 1, 6.0)
    ]
