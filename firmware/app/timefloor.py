"""The keypad's wall clock before TLS: a floor that only authenticated time moves forward.

An ESP32 starts its RTC at 2000-01-01 and the broker's certificate is valid
only from the hall's set-up onwards, so TLS from a cold boot needs a time.
No unauthenticated time is taken (NTP can be forged by anyone on the hall
network, backwards to revive an expired certificate or forwards to make
every keypad refuse the broker).  Instead:

* the **floor** is the latest of: :data:`RELEASED` (this firmware's release,
  compiled in), the provisioning time written to NVS by
  :func:`firmware.provision.write_config` (``provisioned_at``), and the
  latest broadcast ``issued_at`` seen, saved in NVS (key ``tf``, u32 Unix
  seconds) when it has moved by :data:`SAVE_STEP` since the last save;
* :meth:`TimeFloor.apply` sets the RTC to the floor whenever it is unset or
  behind it; the keypad calls it at boot, before the first TLS handshake;
* broadcasts (sitting, motion) carry the gateway's ``issued_at``; they come
  over the TLS session from the only publisher the broker's ACL allows on
  those topics, so :meth:`TimeFloor.seen` takes their time as authenticated:
  it advances the floor and sets the RTC when it is off by more than
  :data:`SLACK_S`.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from firmware.hal.port import Clock, Nvs

if sys.implementation.name != "micropython":
    __all__ = ["NVS_KEY", "RELEASED", "SAVE_STEP", "SLACK_S", "TimeFloor"]

NVS_KEY = "tf"
RELEASED = 1795132800  # 2026-11-20 00:00 UTC: no keypad runs this firmware earlier
SAVE_STEP = 86400  # save the floor at most once per day of advance (flash wear)
SLACK_S = 60  # a broadcast time this far from the RTC resets the RTC


class TimeFloor:
    def __init__(self, nvs: "Nvs", clock: "Clock") -> None:
        self.nvs = nvs
        self.clock = clock
        raw = nvs.get(NVS_KEY)
        self.saved = int.from_bytes(raw, "big") if raw is not None and len(raw) == 4 else 0
        self.floor = self.saved if self.saved > RELEASED else RELEASED
        self.sets = 0  # RTC writes

    def apply(self) -> int:
        """Set the RTC to the floor if it is unset or behind it; the time now (Unix seconds)."""
        now = self.clock.time()
        if now is None or now < self.floor:
            self.clock.set(self.floor)
            self.sets += 1
            return self.floor
        return now

    def seen(self, issued_at: int) -> None:
        """An authenticated broadcast time: advance the floor, correct the RTC, save now and then."""
        if issued_at <= self.floor:
            return
        self.floor = issued_at
        now = self.clock.time()
        if now is None or now < issued_at - SLACK_S or now > issued_at + SLACK_S:
            self.clock.set(issued_at)
            self.sets += 1
        if issued_at - self.saved >= SAVE_STEP:
            self.nvs.set(NVS_KEY, issued_at.to_bytes(4, "big"))
            self.saved = issued_at
