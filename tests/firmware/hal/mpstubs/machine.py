"""Stand-in for MicroPython's ``machine`` on the WebAssembly port (HAL tests only).

Same signatures as the ESP32 port's classes; state lives in ``fakehw``.
"""

import fakehw


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def irq(self, handler=None, trigger=3, hard=False):
        fakehw.IRQS[self.id] = (handler, trigger, hard, self)

    def __init__(self, id, mode=-1, pull=-1, value=None):
        if fakehw.CHIP[0] == "esp32s3":  # GPIO 0-21, 26-48; 26-37 flash/PSRAM; no input-only pins
            if not isinstance(id, int) or not (0 <= id <= 21 or 38 <= id <= 48):
                raise ValueError("invalid pin %r" % (id,))
        else:
            if not isinstance(id, int) or not 0 <= id <= 39 or 6 <= id <= 11:
                raise ValueError("invalid pin %r" % (id,))
            if mode == Pin.OUT and id >= 34:
                raise ValueError("pin %d is input-only" % id)
            if pull not in (-1, None) and id >= 34:
                raise ValueError("pin %d has no pull resistors" % id)
        self.id = id
        fakehw.PIN_MODES[id] = (mode, pull)
        if value is not None:
            fakehw.LEVELS[id] = 1 if value else 0
        elif id not in fakehw.LEVELS:
            fakehw.LEVELS[id] = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return fakehw.LEVELS.get(self.id, 0)
        fakehw.LEVELS[self.id] = 1 if v else 0
        return None


class I2C:
    def __init__(self, id, scl=None, sda=None, freq=400000):
        if not isinstance(scl, Pin) or not isinstance(sda, Pin):
            raise TypeError("scl and sda are Pins")
        self.freq = freq

    def scan(self):
        return list(fakehw.I2C_DEVICES)

    def writeto(self, addr, buf, stop=True):
        if addr not in fakehw.I2C_DEVICES:
            raise OSError(19)  # ENODEV: no ACK
        fakehw.I2C_WRITES.append((addr, bytes(buf)))
        return len(buf)


class SPI:
    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None, miso=None):
        for p in (sck, mosi, miso):
            if not isinstance(p, Pin):
                raise TypeError("sck, mosi and miso are Pins")
        self.baudrate = baudrate

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers differ in length")
        if fakehw.LEVELS.get(fakehw.SPI_CS[0]) != 0:
            raise AssertionError("SPI transfer without chip select")
        rx = fakehw.SPI_CHIP.xfer(bytes(write_buf))
        for i in range(len(rx)):
            read_buf[i] = rx[i]


class WDT:
    # MicroPython 1.27 (ESP32): a second WDT reconfigures the one task watchdog's timeout.
    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        fakehw.WDT["timeout"] = timeout
        fakehw.WDT["timeouts"].append(timeout)

    def feed(self):
        fakehw.WDT["feeds"] += 1


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin):
        if not isinstance(pin, Pin):
            raise TypeError("ADC takes a Pin")
        self.attenuation = None

    def atten(self, a):
        self.attenuation = a

    def read_uv(self):
        return fakehw.ADC_UV[0]


def reset():
    raise SystemExit("machine.reset()")


class RTC:
    def datetime(self, dt=None):
        if dt is None:
            return fakehw.RTC[0]
        fakehw.RTC[0] = tuple(dt)
        return None
