"""Stand-in for MicroPython's ``esp32`` on the WebAssembly port (HAL tests only).

``NVS`` raises OSError(-code, name) as the ESP32 port's check_esp_err does;
values become durable (visible to a new NVS object) only on ``commit``.

Heap fidelity (see mpstubs/machine.py): MicroPython 1.27's ports/esp32/esp32_nvs.c allocates
each ``NVS(namespace)`` object on the GC heap (``mp_obj_malloc``: a type pointer and the
handle, one 16-byte block); an instance here, with its one attribute, takes at least as much.
The blobs themselves are in flash on the ESP32 but in ``fakehw.NVS`` (the GC heap) here: the
heap bench counts them (224 B for keypad4 after boot: four small blobs and their dicts),
which errs on the high side.
"""

import fakehw

ESP_ERR_NVS_NOT_FOUND = 0x1102
ESP_ERR_NVS_INVALID_LENGTH = 0x110C


class NVS:
    def __init__(self, namespace):
        if len(namespace) > 15:
            raise OSError(-0x1109, "ESP_ERR_NVS_KEY_TOO_LONG")
        self._ns = namespace
        fakehw.NVS.setdefault(namespace, {})
        fakehw.NVS_PENDING.setdefault(namespace, {})

    def _lookup(self, key):
        pending = fakehw.NVS_PENDING[self._ns]
        if key in pending:
            return pending[key]
        return fakehw.NVS[self._ns].get(key)

    def get_blob(self, key, buf):
        value = self._lookup(key)
        if value is None:
            raise OSError(-ESP_ERR_NVS_NOT_FOUND, "ESP_ERR_NVS_NOT_FOUND")
        if len(buf) < len(value):
            raise OSError(-ESP_ERR_NVS_INVALID_LENGTH, "ESP_ERR_NVS_INVALID_LENGTH")
        for i in range(len(value)):
            buf[i] = value[i]
        return len(value)

    def set_blob(self, key, value):
        if len(key) > 15:
            raise OSError(-0x1109, "ESP_ERR_NVS_KEY_TOO_LONG")
        fakehw.NVS_PENDING[self._ns][key] = bytes(value)

    def commit(self):
        fakehw.NVS[self._ns].update(fakehw.NVS_PENDING[self._ns])
        fakehw.NVS_PENDING[self._ns].clear()
