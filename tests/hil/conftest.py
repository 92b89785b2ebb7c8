"""``attack_run``: one ``hallvote evidence`` run of the attack suite and the fuzz properties per session.

``hallvote evidence --scale town --keypads 6 --case attacks --case fuzz --fuzz-examples 10 --json``: the
attack suite on its own rig (raised to the suite's eight keypads, and a spare) through the real broker and
gateway.  tests/hil/test_attacks.py checks its rows and tallies (the JSON report), and
tests/hil/attacks/test_report.py the Markdown report it wrote.
"""

from __future__ import annotations

import pytest
from hvtest.evidence import ATTACK_ARGS, EvidenceRun, run_evidence_command

__all__ = ["attack_run"]


@pytest.fixture(scope="session")
def attack_run(tmp_path_factory: pytest.TempPathFactory) -> EvidenceRun:
    return run_evidence_command(ATTACK_ARGS, tmp_path_factory.mktemp("attacks") / "evidence.md")
