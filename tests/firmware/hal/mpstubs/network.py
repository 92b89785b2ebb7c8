"""Stand-in for MicroPython's ``network`` on the WebAssembly port (HAL tests only).

Heap fidelity (see mpstubs/machine.py): in MicroPython 1.27's ports/esp32/network_wlan.c
``WLAN(STA_IF)``/``WLAN(AP_IF)`` return the static ``wlan_sta_obj``/``wlan_ap_obj`` (no
allocation); ``network.hostname`` (extmod/modnetwork.c) copies the name into a static buffer.
So both interfaces are made here at import and ``WLAN(n)`` returns them.
"""

import fakehw

STA_IF = 0
AP_IF = 1
_HOSTNAME = ["mpy"]


def hostname(name=None):
    if name is None:
        return _HOSTNAME[0]
    _HOSTNAME[0] = name
    return None


class WLAN:
    PM_NONE = 0
    PM_PERFORMANCE = 1

    def __new__(cls, interface=STA_IF):
        return _WLANS[interface]

    def __init__(self, interface=STA_IF):
        self._active = False

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        return None

    def config(self, **kwargs):
        fakehw.WIFI["config"].update(kwargs)

    def connect(self, ssid, key=None):
        if not self._active:
            raise OSError("Wifi Internal State Error")
        fakehw.WIFI["ssid"] = ssid

    def disconnect(self):
        fakehw.WIFI["connected"] = False

    def isconnected(self):
        return fakehw.WIFI["connected"]

    def status(self, param=None):
        if param == "rssi":
            if not fakehw.WIFI["connected"]:
                raise OSError("STA is not connected")
            return fakehw.WIFI["rssi"]
        return 1010 if fakehw.WIFI["connected"] else 1001

    def ifconfig(self):
        return ("192.168.10.23", "255.255.255.0", "192.168.10.1", "192.168.10.1")


def _made():
    obj = object.__new__(WLAN)
    obj._active = False
    return obj


_WLANS = [_made(), _made()]
