"""Named motion presets and the names of the protocol's enums, as the API and the console take them.

A preset fills what a clerk should never have to type: the ballot kind,
the options mask, the press policy, secrecy and the passing rule.  Fields
given alongside a preset win over it (a named 人代会决议 is
``{"preset": "congress_resolution", "secret": false}``).

=================================  ================  ======================================
preset                             ballot kind       rule
=================================  ================  ======================================
``congress_resolution`` 人代会决议    yes_no_abstain    赞成票超过全体代表的半数 (all, > 1/2)
``standing_committee_resolution``  yes_no_abstain    超过常委会全体组成人员的半数 (all, > 1/2)
常委会决议
``livelihood_selection``           item_list         到会代表半数以上赞成 (present, >= 1/2),
民生实事票决                                          ranked by yes up to ``select_k`` (required)
``satisfaction_rating`` 满意度测评    rating (3 grades) 满意 / 基本满意 / 不满意
``performance_rating`` 履职测评       rating (4 grades) 优秀 / 满意 / 基本满意 / 不满意
=================================  ================  ======================================

All presets are secret (无记名) and first-press (首次按键有效) unless the
request says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from protocol import consts

__all__ = [
    "BALLOT_KIND_NAMES",
    "MOTION_PRESETS",
    "PRESET_LABELS",
    "PRESS_POLICY_NAMES",
    "apply_names",
]

BALLOT_KIND_NAMES: Mapping[str, int] = MappingProxyType(
    {"yes_no_abstain": consts.YES_NO_ABSTAIN, "item_list": consts.ITEM_LIST, "rating": consts.RATING}
)
PRESS_POLICY_NAMES: Mapping[str, int] = MappingProxyType(
    {"first_press": consts.FIRST_PRESS, "last_press": consts.LAST_PRESS}
)

_MORE_THAN_HALF_OF_ALL = {"base": "all", "numerator": 1, "denominator": 2, "strict": True}
_HALF_OF_PRESENT = {"base": "present", "numerator": 1, "denominator": 2, "strict": False}

MOTION_PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "congress_resolution": {
            "ballot_kind": consts.YES_NO_ABSTAIN,
            "passing_rule": _MORE_THAN_HALF_OF_ALL,
        },
        "standing_committee_resolution": {
            "ballot_kind": consts.YES_NO_ABSTAIN,
            "passing_rule": _MORE_THAN_HALF_OF_ALL,
        },
        "livelihood_selection": {"ballot_kind": consts.ITEM_LIST, "passing_rule": _HALF_OF_PRESENT},
        "satisfaction_rating": {"ballot_kind": consts.RATING, "options": 0b0001_1100, "passing_rule": None},
        "performance_rating": {"ballot_kind": consts.RATING, "options": 0b0001_1110, "passing_rule": None},
    }
)
PRESET_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "congress_resolution": ("人代会决议", "congress resolution"),
        "standing_committee_resolution": ("常委会决议", "standing-committee resolution"),
        "livelihood_selection": ("民生实事票决", "livelihood selection"),
        "satisfaction_rating": ("满意度测评", "satisfaction rating"),
        "performance_rating": ("履职测评", "deputy performance rating"),
    }
)
_DEFAULTS = {"secret": True, "press_policy": consts.FIRST_PRESS}


def apply_names(data: Any) -> Any:
    """A motion's input with ``preset`` expanded and enum names turned into the protocol's numbers."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    preset = data.pop("preset", None)
    if preset is not None:
        if preset not in MOTION_PRESETS:
            known = ", ".join(MOTION_PRESETS)
            raise ValueError(f"未知预设 / unknown preset {preset!r} (one of: {known})")
        if preset == "livelihood_selection" and data.get("select_k") is None:
            raise ValueError("民生实事票决须给出 select_k（选出项目数）/ livelihood_selection needs select_k")
        filled = {**_DEFAULTS, **MOTION_PRESETS[preset]}
        data = {**filled, **{k: v for k, v in data.items() if v is not None or k not in filled}}
    for key, names in (("ballot_kind", BALLOT_KIND_NAMES), ("press_policy", PRESS_POLICY_NAMES)):
        value = data.get(key)
        if isinstance(value, str) and not value.isdigit():
            if value not in names:
                raise ValueError(f"{key}: 未知名称 / unknown name {value!r} (one of: {', '.join(names)})")
            data[key] = names[value]
    return data
