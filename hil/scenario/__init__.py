"""Sittings as data: a YAML scenario, the small model that computes its expected results, and the runner."""

from hil.scenario.model import Expected, Plan, expected, plan
from hil.scenario.spec import Scenario, ScenarioError, load

__all__ = ["Expected", "Plan", "Scenario", "ScenarioError", "expected", "load", "plan"]
