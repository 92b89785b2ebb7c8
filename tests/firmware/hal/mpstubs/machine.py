"""Stand-in for MicroPython's ``machine`` on the WebAssembly port (HAL tests only).

Same signatures as the ESP32 port's classes; state lives in ``fakehw``.

Heap fidelity (the heap bench, hil/bench/heap.py, measures above a baseline taken after these
stand-ins are imported): each class allocates on the GC heap at run time what MicroPython
1.27's ESP32 port allocates, and no less.  In ports/esp32 of v1.27.0:

* ``machine_pin.c``: ``Pin(n)`` returns an entry of the constant ``machine_pin_obj_table``
  (ROM: the same object every time, no allocation); ``Pin.irq`` keeps the handler in a root
  pointer array (``machine_pin_irq_handler[GPIO_PIN_COUNT]``) and returns the pin's static IRQ
  object.  Its arguments are ``handler``, ``trigger`` and ``wake``: there is no ``hard``
  (a TypeError here too), and the handler runs scheduled (``mp_sched_schedule``).
* ``machine_adc.c``: ``ADC(pin)`` returns an entry of the constant ``madc_obj`` table.
* ``machine_hw_spi.c``, ``machine_i2c.c``: ``SPI(id)``/``I2C(id)`` return an entry of a static
  array per bus (``machine_hw_spi_obj``, ``machine_hw_i2c_obj``).
* ``machine_wdt.c``: ``WDT()`` returns the static ``wdt_default``.
* ``machine_rtc.c``: ``RTC()`` returns the constant ``machine_rtc_obj``; the time is in the chip.

So every object here is made once, at import, and the constructors return it; their state is
in attributes set at import and in fakehw's containers, filled before the baseline (see
``fakehw``), so that using them allocates nothing that stays.
"""

import fakehw

_GPIO_COUNT = 49  # GPIO 0-48: the ESP32-S3's range, which covers the ESP32's 0-39


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __new__(cls, id, mode=-1, pull=-1, value=None):
        if not isinstance(id, int) or not 0 <= id < _GPIO_COUNT:
            raise ValueError("invalid pin %r" % (id,))
        return _PINS[id]  # the port's constant pin object

    def irq(self, handler=None, trigger=3, wake=None):
        self.handler = handler
        self.trigger = trigger if handler is not None else 0
        fakehw.IRQS[self.id] = self if handler is not None else None

    def __init__(self, id, mode=-1, pull=-1, value=None):
        if fakehw.CHIP[0] == "esp32s3":  # GPIO 0-21, 26-48; 26-37 flash/PSRAM; no input-only pins
            if not (0 <= id <= 21 or 38 <= id <= 48):
                raise ValueError("invalid pin %r" % (id,))
        else:
            if not 0 <= id <= 39 or 6 <= id <= 11:
                raise ValueError("invalid pin %r" % (id,))
            if mode == Pin.OUT and id >= 34:
                raise ValueError("pin %d is input-only" % id)
            if pull not in (-1, None) and id >= 34:
                raise ValueError("pin %d has no pull resistors" % id)
        fakehw.PIN_MODES[id] = fakehw.mode_of(mode, pull)
        if value is not None:
            fakehw.LEVELS[id] = 1 if value else 0
        elif fakehw.LEVELS[id] is None:
            fakehw.LEVELS[id] = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        if v is None:
            return fakehw.LEVELS[self.id] or 0
        fakehw.LEVELS[self.id] = 1 if v else 0
        return None


def _made(cls, **attrs):
    obj = object.__new__(cls)
    for name in attrs:
        setattr(obj, name, attrs[name])
    return obj


_PINS = [_made(Pin, id=n, handler=None, trigger=0) for n in range(_GPIO_COUNT)]


class I2C:
    def __new__(cls, id, scl=None, sda=None, freq=400000):
        return _I2CS[id]

    def __init__(self, id, scl=None, sda=None, freq=400000):
        if not isinstance(scl, Pin) or not isinstance(sda, Pin):
            raise TypeError("scl and sda are Pins")
        self.freq = freq

    def scan(self):
        return list(fakehw.I2C_DEVICES)

    def writeto(self, addr, buf, stop=True):
        if addr not in fakehw.I2C_DEVICES:
            raise OSError(19)  # ENODEV: no ACK
        if fakehw.RECORD[0]:
            fakehw.I2C_WRITES.append((addr, bytes(buf)))
        return len(buf)


_I2CS = [_made(I2C, freq=400000) for _ in range(2)]


class SPI:
    def __new__(cls, id, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None, miso=None):
        return _SPIS[id]

    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None, miso=None):
        for p in (sck, mosi, miso):
            if not isinstance(p, Pin):
                raise TypeError("sck, mosi and miso are Pins")
        self.baudrate = baudrate

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers differ in length")
        if fakehw.LEVELS[fakehw.SPI_CS[0]] != 0:
            raise AssertionError("SPI transfer without chip select")
        rx = fakehw.SPI_CHIP.xfer(bytes(write_buf))
        for i in range(len(rx)):
            read_buf[i] = rx[i]


_SPIS = [_made(SPI, baudrate=1000000) for _ in range(3)]  # SPI(1), SPI(2); 0 is the flash's


class WDT:
    # MicroPython 1.27 (ESP32): a second WDT reconfigures the one task watchdog's timeout.
    def __new__(cls, id=0, timeout=5000):
        return _WDT

    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        fakehw.WDT["timeout"] = timeout
        fakehw.WDT["timeouts"].append(timeout)

    def feed(self):
        fakehw.WDT["feeds"] += 1


_WDT = _made(WDT)


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __new__(cls, pin):
        if not isinstance(pin, Pin):
            raise TypeError("ADC takes a Pin")
        return _ADCS[pin.id]

    def __init__(self, pin):
        self.attenuation = None

    def atten(self, a):
        self.attenuation = a

    def read_uv(self):
        return fakehw.ADC_UV[0]


_ADCS = [_made(ADC, attenuation=None) for _ in range(_GPIO_COUNT)]


def reset():
    raise SystemExit("machine.reset()")


class RTC:
    def __new__(cls):
        return _RTC

    def datetime(self, dt=None):
        if dt is None:
            return fakehw.RTC[0]
        fakehw.RTC_DATETIME[:] = dt  # the same 8 slots, filled in place: the time is in the chip
        fakehw.RTC[0] = fakehw.RTC_DATETIME
        return None


_RTC = _made(RTC)
