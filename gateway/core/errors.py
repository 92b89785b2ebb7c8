"""Typed errors of the gateway core.

A refused *frame* is not an error: it is a Decision carrying a protocol
reason code.  These errors are for refused *commands* (the chair asks for a
transition the rules forbid) and for an inconsistent state.
"""

from __future__ import annotations

__all__ = ["CommandError", "TransitionError"]


class CommandError(Exception):
    """A chair or clerk command that cannot be carried out now.

    ``code`` is a stable machine name (e.g. ``QUORUM_NOT_MET``); ``message``
    is Chinese first, then English.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class TransitionError(CommandError):
    """The state machine has no transition for this (state, event) pair."""
