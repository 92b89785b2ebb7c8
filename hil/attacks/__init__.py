"""Attacks through the real broker (generated config) against a running SimRig, with the refusal each must meet.

Each attack gives a row: what was tried, how many times, how many were
accepted (counted: must be 0), the observed outcome (the broker's refusal,
the gateway's ack or nack, or silence where the ACL drops the message) and
the outcome expected.  The attacker knows what an insider could: a keypad's
MQTT password and private key (pulled out of it), the broker's control
password, frames captured off the wire or signed and withheld.

:func:`run_suite` runs them all on a rig of at least eight keypads and one
spare (``SimRig(..., spares=1, broker_control=True)``).
"""

from hil.attacks.client import Attacker, Holder, Row, answer, sign_with
from hil.attacks.suite import MIN_KEYPADS, run_suite

__all__ = ["MIN_KEYPADS", "Attacker", "Holder", "Row", "answer", "run_suite", "sign_with"]
