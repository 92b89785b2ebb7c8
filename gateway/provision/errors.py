"""Refusals of provisioning and swapping: typed, Chinese first, each with its exit status.

``str(error)`` is ``"中文 / English"``; ``code`` is a stable upper-case word
(what the docs and scripts refer to); ``exit_code`` is the CLI's exit status.
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "CredentialsError",
    "DeviceBusy",
    "DeviceNotAnswering",
    "DeviceRefused",
    "DeviceRevoked",
    "FirmwareMismatch",
    "Forbidden",
    "GatewayError",
    "KeyMismatch",
    "NoDeviceAtSeat",
    "NoFirmware",
    "NoTestChannel",
    "PortUnavailable",
    "ProvisionError",
    "SeatTaken",
    "SettingsError",
    "UnknownDevice",
    "UnknownSeat",
]


class ProvisionError(Exception):
    """Base of every refusal here."""

    code = "PROVISION"
    exit_code = 1

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}")


# --------------------------------------------------------------- the host's own files


class SettingsError(ProvisionError):
    """keypad.toml or hall.toml cannot be used."""

    code = "SETTINGS"
    exit_code = 2


class CredentialsError(ProvisionError):
    """The broker credentials CSV is missing or unusable."""

    code = "CREDENTIALS"
    exit_code = 2


class BuildError(ProvisionError):
    """The firmware build is missing, or a file does not match its manifest."""

    code = "BUILD"
    exit_code = 2


class NoTestChannel(BuildError):
    """A bench keypad (the test rig's) needs a build with the test channel, and this one has none."""

    code = "NO_TEST_CHANNEL"

    def __init__(self, root: object) -> None:
        super().__init__(
            f"固件构建 {root} 未编入测试通道；测试台表决器需用 hallvote firmware build --test-channel 构建",
            f"firmware build {root} has no test channel; a bench keypad needs hallvote firmware build "
            "--test-channel",
        )


# --------------------------------------------------------------- the board


class DeviceNotAnswering(ProvisionError):
    """The board does not answer on its serial port (no raw REPL prompt, or it fell silent)."""

    code = "DEVICE_SILENT"
    exit_code = 3


class PortUnavailable(DeviceNotAnswering):
    """The serial port cannot be opened (unplugged, wrong name, in use)."""

    code = "PORT_UNAVAILABLE"


class NoFirmware(ProvisionError):
    """The board answers but has no hallvote firmware (nothing was copied, and --no-copy was asked)."""

    code = "NO_FIRMWARE"
    exit_code = 4


class FirmwareMismatch(ProvisionError):
    """The board's firmware version is not the build's (when not copying)."""

    code = "FIRMWARE_MISMATCH"
    exit_code = 4

    def __init__(self, found: str, expected: str) -> None:
        self.found = found
        self.expected = expected
        super().__init__(
            f"表决器固件版本为 {found}，应为 {expected}；请去掉 --no-copy 重新写入固件",
            f"the keypad runs firmware {found}, expected {expected}; provision without --no-copy to update it",
        )


class DeviceRefused(ProvisionError):
    """The keypad's own provisioning code refused (bad setting, Wi-Fi did not come up, key exists)."""

    code = "DEVICE_REFUSED"
    exit_code = 4

    def __init__(self, device_code: str, message: str) -> None:
        self.device_code = device_code
        super().__init__(
            f"表决器拒绝（{device_code}）: {message}", f"the keypad refused ({device_code}): {message}"
        )


# --------------------------------------------------------------- the hall's records


class UnknownSeat(ProvisionError):
    code = "UNKNOWN_SEAT"
    exit_code = 5

    def __init__(self, seat: str, hall: str) -> None:
        super().__init__(f"会场 {hall} 没有座位 {seat}", f"hall {hall} has no seat {seat}")


class SeatTaken(ProvisionError):
    code = "SEAT_TAKEN"
    exit_code = 5

    def __init__(self, seat: str, device: str) -> None:
        self.device = device
        super().__init__(
            f"座位 {seat} 已绑定在用表决器 {device}；更换请用 hallvote device swap",
            f"seat {seat} is bound to keypad {device}, which is not revoked; to replace it use hallvote device swap",
        )


class KeyMismatch(ProvisionError):
    code = "KEY_MISMATCH"
    exit_code = 5

    def __init__(self, device: str) -> None:
        super().__init__(
            f"表决器 {device} 已用另一个公钥登记；请先停用它，或换一个表决器编号",
            f"keypad {device} is already registered with a different key; revoke it first or use another device id",
        )


class DeviceRevoked(ProvisionError):
    code = "DEVICE_REVOKED"
    exit_code = 5

    def __init__(self, device: str) -> None:
        super().__init__(
            f"表决器 {device} 已停用，不能再绑定；请换一个表决器编号",
            f"keypad {device} is revoked and cannot be bound again; use another device id",
        )


class UnknownDevice(ProvisionError):
    code = "UNKNOWN_DEVICE"
    exit_code = 5

    def __init__(self, device: str, hall: str) -> None:
        super().__init__(
            f"会场 {hall} 没有登记表决器 {device}；请先用 hallvote provision 登记",
            f"keypad {device} is not registered in hall {hall}; provision it first",
        )


class NoDeviceAtSeat(ProvisionError):
    code = "NO_DEVICE_AT_SEAT"
    exit_code = 5

    def __init__(self, seat: str) -> None:
        super().__init__(
            f"座位 {seat} 没有在用表决器，无需更换；请用 hallvote provision 绑定",
            f"seat {seat} has no active keypad to replace; bind one with hallvote provision",
        )


class DeviceBusy(ProvisionError):
    code = "DEVICE_BUSY"
    exit_code = 5

    def __init__(self, device: str, seat: str) -> None:
        super().__init__(
            f"表决器 {device} 正绑定在座位 {seat}，不能用来更换",
            f"keypad {device} is bound to seat {seat}; it cannot be used as a replacement",
        )


# --------------------------------------------------------------- the running gateway


class GatewayError(ProvisionError):
    """The running gateway could not be told to reload (no token, refused, unreachable)."""

    code = "GATEWAY"
    exit_code = 6


class Forbidden(ProvisionError):
    """The token given is not a technician's: refused before anything changes."""

    code = "FORBIDDEN"
    exit_code = 6

    def __init__(self, role: str | None) -> None:
        who = "未知令牌" if role is None else f"角色 {role}"
        whose = "unknown" if role is None else f"a {role}'s"
        super().__init__(
            f"此操作仅限技术人员（{who}），未做任何更改",
            f"only a technician may do this (the token is {whose}); nothing was changed",
        )
