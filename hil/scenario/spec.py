"""The scenario file (YAML), read into plain dataclasses with every field checked.

A scenario names the hall size, the check-in (window, who stays away),
the motions in order (kind, items, selection places, press policy, secret,
how the deputies press: turnout, choice weights, time window, changes of
mind) and the faults to inject (a verb, when, whom).  A bad file is a
ScenarioError naming the field.  The format is described in docs/hil.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["FAULT_VERBS", "KINDS", "Fault", "MotionPlan", "Scenario", "ScenarioError", "load", "parse"]

KINDS = ("resolution", "selection", "rating")
CHOICES = {
    "resolution": ("yes", "no", "abstain"),
    "selection": ("yes", "no", "abstain", "none"),
    "rating": ("satisfied", "basic", "unsatisfied", "none"),
}
FAULT_VERBS = (
    "kill_gateway", "restart_broker", "power_cycle", "cut_wifi", "partition", "stall", "swap", "db_unreachable",
    "disk_full",
)  # fmt: skip
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be run: the message names the field."""


@dataclass(frozen=True)
class MotionPlan:
    key: str
    title: str
    kind: str
    items: tuple[str, ...] = ()
    select: int | None = None
    from_selection: str | None = None  # items = the places selected by an earlier selection
    secret: bool = True
    last_press: bool = False
    turnout: float = 1.0
    weights: dict[str, float] = field(default_factory=dict)  # choice -> weight (per item for lists)
    item_weights: tuple[dict[str, float], ...] = ()  # per item, overriding ``weights``
    window_s: float = 10.0
    change_mind: float = 0.0  # with last press: share who press a second, different choice


@dataclass(frozen=True)
class Fault:
    verb: str
    phase: str  # "checkin" or a motion key
    after: float  # share of the phase's presses made before it fires (0..1)
    keypads: int = 1  # how many keypads (keypad verbs)
    seconds: float = 0.0  # how long (Wi-Fi cut, partition, stall, down time)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    seats: int
    seed: int
    checkin_window_s: float
    absent: int
    motions: tuple[MotionPlan, ...]
    faults: tuple[Fault, ...] = ()
    pause_s: float = 2.0  # between steps of the sitting (times the runner's speed)


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ScenarioError(f"{where}: '{key}' is required")
    return d[key]


def _num(v: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise ScenarioError(f"{where}: expected a number in {lo}..{hi}, got {v!r}")
    return float(v)


def _weights(raw: Any, kind: str, where: str) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        raise ScenarioError(f"{where}: expected a mapping of choice -> weight")
    out = {}
    for key, v in raw.items():
        k = (
            {True: "yes", False: "no"}.get(key, key) if isinstance(key, bool) else key
        )  # YAML 1.1 reads yes/no as booleans
        if k not in CHOICES[kind]:
            raise ScenarioError(
                f"{where}: '{k}' is not a choice of a {kind} (one of {', '.join(CHOICES[kind])})"
            )
        out[k] = _num(v, f"{where}.{k}", 0, 1e9)
    if not sum(out.values()):
        raise ScenarioError(f"{where}: the weights add up to 0")
    return out


def _motion(raw: Any, i: int, seen: dict[str, MotionPlan]) -> MotionPlan:
    where = f"motions[{i}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping")
    key = str(_req(raw, "key", where))
    if key in seen or key == "checkin":
        raise ScenarioError(f"{where}.key: '{key}' is used twice or reserved")
    kind = _req(raw, "kind", where)
    if kind not in KINDS:
        raise ScenarioError(f"{where}.kind: one of {', '.join(KINDS)}, not {kind!r}")
    items = tuple(str(x) for x in raw.get("items", ()))
    select = raw.get("select")
    source = raw.get("from_selection")
    if source is not None:
        if source not in seen or seen[source].kind != "selection" or seen[source].select is None:
            raise ScenarioError(f"{where}.from_selection: '{source}' is not an earlier selection")
        items = ()
    elif kind != "resolution" and not 2 <= len(items) <= 32:
        raise ScenarioError(f"{where}.items: a {kind} needs 2..32 items")
    if kind == "selection" and (not isinstance(select, int) or select < 1):
        raise ScenarioError(f"{where}.select: a selection needs the number of places (>= 1)")
    if kind != "selection" and select is not None:
        raise ScenarioError(f"{where}.select: only a selection has places")
    if select is not None and items and select >= len(items):
        raise ScenarioError(f"{where}.select: fewer places than items are needed")
    per_item = raw.get("item_weights", ())
    if per_item and len(per_item) != len(items):
        raise ScenarioError(f"{where}.item_weights: one mapping per item ({len(items)})")
    return MotionPlan(
        key=key,
        title=str(_req(raw, "title", where)),
        kind=kind,
        items=items,
        select=select,
        from_selection=source,
        secret=bool(raw.get("secret", True)),
        last_press=raw.get("press", "first") == "last",
        turnout=_num(raw.get("turnout", 1.0), f"{where}.turnout", 0, 1),
        weights=_weights(
            raw["weights"] if "weights" in raw or not per_item else per_item[0], kind, f"{where}.weights"
        ),
        item_weights=tuple(_weights(w, kind, f"{where}.item_weights[{j}]") for j, w in enumerate(per_item)),
        window_s=_num(raw.get("window_s", 10), f"{where}.window_s", 0, 3600),
        change_mind=_num(raw.get("change_mind", 0), f"{where}.change_mind", 0, 1),
    )


def parse(data: Any, name: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{name}: expected a mapping at the top")
    seats = int(_num(_req(data, "seats", name), "seats", 1, 5000))
    checkin = data.get("checkin", {}) or {}
    absent = int(_num(checkin.get("absent", 0), "checkin.absent", 0, seats))
    seen: dict[str, MotionPlan] = {}
    for i, raw in enumerate(_req(data, "motions", name) or []):
        m = _motion(raw, i, seen)
        seen[m.key] = m
    faults = []
    for i, raw in enumerate(data.get("faults", ()) or ()):
        where = f"faults[{i}]"
        verb = _req(raw, "verb", where)
        if verb not in FAULT_VERBS:
            raise ScenarioError(f"{where}.verb: one of {', '.join(FAULT_VERBS)}, not {verb!r}")
        phase = str(_req(raw, "during", where))
        if phase != "checkin" and phase not in seen:
            raise ScenarioError(f"{where}.during: 'checkin' or a motion key, not {phase!r}")
        faults.append(
            Fault(
                verb,
                phase,
                _num(raw.get("after", 0.5), f"{where}.after", 0, 1),
                int(_num(raw.get("keypads", 1), f"{where}.keypads", 1, seats)),
                _num(raw.get("seconds", 0), f"{where}.seconds", 0, 600),
            )
        )
    return Scenario(
        name=str(data.get("name", name)),
        title=str(data.get("title", name)),
        seats=seats,
        seed=int(data.get("seed", 0)),
        checkin_window_s=_num(checkin.get("window_s", 10), "checkin.window_s", 0, 3600),
        absent=absent,
        motions=tuple(seen.values()),
        faults=tuple(faults),
        pause_s=_num(data.get("pause_s", 2), "pause_s", 0, 600),
    )


def load(path_or_name: str | Path) -> Scenario:
    """A scenario file, or a shipped one by name (town, county, national)."""
    path = Path(path_or_name)
    if not path.exists():
        path = SHIPPED / f"{path_or_name}.yaml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml")))
        raise ScenarioError(f"no scenario file {path_or_name!r} (shipped: {shipped})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path.name}: not valid YAML: {e}") from e
    return parse(data, path.stem)


def resized(s: Scenario, seats: int) -> Scenario:
    """The same sitting for ``seats`` members (absences and fault sizes scaled down with it)."""
    from dataclasses import replace

    ratio = seats / s.seats
    faults = tuple(replace(f, keypads=max(1, min(seats, round(f.keypads * ratio)))) for f in s.faults)
    return replace(s, seats=seats, absent=min(seats - 1, round(s.absent * ratio)), faults=faults)
