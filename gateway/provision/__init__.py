"""Technician tools: provisioning keypads over their serial REPL, swapping them, their health.

=========================  ==================================================
module                     what
=========================  ==================================================
:mod:`.link`               a board's raw REPL through mpremote's Python API
:mod:`.build`              the firmware build to copy (``hallvote firmware build``)
:mod:`.settings`           ``keypad.toml``: Wi-Fi, broker address, credentials
:mod:`.credentials`        broker accounts (``credentials.csv``), new ones appended
:mod:`.store`              checks, register + bind, swap, health: audited, atomic
:mod:`.gateway_api`        making a running gateway reload its keypads
:mod:`.install`            the build's copy and the settings, shared with the test rig's keypads
:mod:`.steps`              :class:`Provisioner`: one keypad, step by step
:mod:`.errors`             the refusals (Chinese first, typed, with exit codes)
=========================  ==================================================

The device side is :mod:`firmware.provision`.  The CLI is ``hallvote
provision`` (:mod:`gateway.cli.provision`) and ``hallvote device``
(:mod:`gateway.cli.device`); the technician's guide is docs/provisioning.md.
"""

from .build import Build, load_build
from .errors import ProvisionError
from .link import BoardLink
from .steps import Label, Provisioner

__all__ = ["BoardLink", "Build", "Label", "ProvisionError", "Provisioner", "load_build"]
