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
* the keypad sets the RTC to the floor whenever it is unset or behind it,
  at boot, before the first TLS handshake;
* broadcasts (sitting, motion) carry the gateway's ``issued_at``; they come
  over the TLS session from the only publisher the broker's ACL allows on
  those topics, so the keypad takes their time as authenticated: it
  advances the floor and sets the RTC when it is off by more than
  :data:`SLACK_S`.

This module names the rule's numbers and NVS key (for provisioning and the
tests); the keypad does the above itself (:class:`firmware.app.keypad.Keypad`,
at boot and in ``receive``, with these numbers as ``const()``), so it does
not load this module.
"""

import sys

if sys.implementation.name != "micropython":
    __all__ = ["NVS_KEY", "RELEASED", "SAVE_STEP", "SLACK_S"]

NVS_KEY = "tf"
RELEASED = 1795132800  # 2026-11-20 00:00 UTC: no keypad runs this firmware earlier
SAVE_STEP = 86400  # save the floor at most once per day of advance (flash wear)
SLACK_S = 60  # a broadcast time this far from the RTC resets the RTC
