"""The hall in a box: a real broker, the real gateway process and simulated keypads running the real firmware.

``SimRig`` (:mod:`hil.rig.sim`) puts it together; faults are its verbs.
"""

from hil.rig.sim import RigError, SimRig

__all__ = ["RigError", "SimRig"]
