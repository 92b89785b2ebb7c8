"""The protocol's error hierarchy.

Every error carries a reason code from :mod:`protocol.reasons`, so a
refusal can be sent back to the keypad in a nack and shown on its display.
Decoding raises only :class:`DecodeError` (a :class:`ProtocolError`), on
any input.

:mod:`protocol.reasons` is imported only when a name is asked for (``str``,
``reason_name``), so a keypad that raises and catches these errors by their
code does not load the reason table.  Those two exist on CPython only: the
keypad never shows an error's text (``str`` of one there is Exception's).  :class:`SignatureError` (raised where
signatures are verified: the gateway) exists on CPython only.
"""

import sys

if sys.implementation.name != "micropython":
    __all__ = ("DecodeError", "EncodeError", "ProtocolError", "SignatureError")


class ProtocolError(Exception):
    """Base of all protocol errors; ``reason`` is a code from protocol.reasons."""

    def __init__(self, reason: int, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    if sys.implementation.name != "micropython":  # the keypad never shows an error's text

        @property
        def reason_name(self) -> str:
            from . import reasons

            return reasons.name(self.reason)

        def __str__(self) -> str:
            text = self.reason_name
            if self.detail:
                text = text + ": " + self.detail
            return text


class DecodeError(ProtocolError):
    """Bytes or a topic that are not a well-formed frame of a known version."""


class EncodeError(ProtocolError):
    """Field values that cannot be put into a frame (out of range, too long)."""


if sys.implementation.name != "micropython":  # the keypad verifies no signature

    class SignatureError(ProtocolError):
        """A frame whose signature does not verify with the device's public key."""
