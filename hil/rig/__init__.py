"""The hall in a box: a real broker, the real gateway process and simulated keypads running the real firmware.

``SimRig`` (:mod:`hil.rig.sim`) puts it together; faults are its verbs.
``SerialRig`` (:mod:`hil.rig.serial`) runs the same hall for keypads on
serial ports, through the firmware's bench test channel; both build on
``HallRig`` (:mod:`hil.rig.base`).
"""

from hil.rig.base import HallRig, RigError
from hil.rig.serial import SerialRig
from hil.rig.sim import SimRig

__all__ = ["HallRig", "RigError", "SerialRig", "SimRig"]
