"""Typed errors of the broker configuration tools, each naming what is wrong."""

from __future__ import annotations

from protocol import topics
from protocol.errors import EncodeError

__all__ = [
    "BrokerConfigError",
    "DevicesFileError",
    "DuplicateDeviceError",
    "InvalidIdError",
    "InvalidSettingError",
    "check_id",
]


class BrokerConfigError(Exception):
    """Input that cannot become a broker configuration; the message names the problem."""


class InvalidIdError(BrokerConfigError):
    """A hall or device id that is not 1..16 of ``a-z 0-9 -`` (not starting with ``-``)."""


class DuplicateDeviceError(BrokerConfigError):
    """The same device id listed twice."""


class DevicesFileError(BrokerConfigError):
    """A bad row in the devices CSV; ``row`` is its 1-based line number."""

    def __init__(self, row: int, problem: str, source: str = "devices CSV") -> None:
        super().__init__(f"{source}, row {row}: {problem}")
        self.row = row
        self.problem = problem


class InvalidSettingError(BrokerConfigError):
    """A broker setting out of range (port, bind address, host name, path, ...)."""


def check_id(value: object, what: str) -> str:
    try:
        return topics.check_id(value, what)  # type: ignore[arg-type]
    except EncodeError as e:
        raise InvalidIdError(
            f"bad {what} id {value!r}: must be 1..{topics.ID_MAX} of a-z 0-9 - and not start with -"
        ) from e
