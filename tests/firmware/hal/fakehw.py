"""Simulated keypad hardware for the HAL tests: runs on CPython and on MicroPython.

* :class:`FakeRc522`: an MFRC522 at register level behind ``xfer(tx) -> rx``,
  also the SPI bus (``write_readinto``) and chip-select pin (``value``) the
  driver takes, refusing a transfer without chip select (the SPI framing of the datasheet, FIFO, Set1-style ComIrqReg, the
  Transceive command) with ISO 14443A cards in its field answering WUPA/REQA,
  anticollision, SELECT (checking CRC_A) and HLTA.  Several cards in the
  field collide.
* Shared state for the stand-in ``machine``/``network``/``esp32`` modules in
  ``mpstubs/`` (pin levels, I2C writes, the SPI chip, NVS, Wi-Fi, watchdog).

Deliberately independent of firmware/hal/rc522.py: register numbers and
frame formats are spelled out again here, from the datasheet and ISO 14443-3.
"""

# --- MFRC522 model ------------------------------------------------------------

_COMMAND = 0x01
_COM_IRQ = 0x04
_ERROR = 0x06
_FIFO_DATA = 0x09
_FIFO_LEVEL = 0x0A
_CONTROL = 0x0C
_BIT_FRAMING = 0x0D
_COLL = 0x0E
_VERSION = 0x37
_TRANSCEIVE = 0x0C
_SOFT_RESET = 0x0F


def crc_a(data):
    # Bitwise CRC-16/ISO-IEC-14443-3-A: reflected polynomial 0x8408, init 0x6363.
    crc = 0x6363
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


def cascade_parts(uid):
    """The UID CLn parts (4 bytes each, before BCC) a card sends per cascade level."""
    if len(uid) == 4:
        return [bytes(uid)]
    if len(uid) == 7:
        return [b"\x88" + uid[0:3], bytes(uid[3:7])]
    if len(uid) == 10:
        return [b"\x88" + uid[0:3], b"\x88" + uid[3:6], bytes(uid[6:10])]
    raise ValueError("UIDs are 4, 7 or 10 bytes")


class FakeRc522:
    def __init__(self, version=0x92):
        self.version = version
        self.regs = bytearray(64)
        self.regs[_VERSION] = version
        self.fifo = bytearray()
        self.cards = []  # UIDs in the field
        self.halted = []
        self.ready = []  # cards answering in the current round
        self.frames = []  # every frame transmitted to the cards
        self.garble_select = False  # reply to SELECT with a bad CRC
        self.sak_reply = None  # reply to SELECT with these bytes instead (SAK + CRC_A)
        self.xfers = 0
        self.selected = False  # chip select low

    # The driver's view: the bus and the chip-select pin.
    def value(self, level):
        self.selected = not level

    def write_readinto(self, tx, rx):
        if not self.selected:
            raise AssertionError("SPI transfer without chip select")
        if len(tx) != len(rx):
            raise ValueError("buffers differ in length")
        out = self.xfer(bytes(tx))
        for i in range(len(out)):
            rx[i] = out[i]

    # SPI: first byte is the address; reads return one value per address byte.
    def xfer(self, tx):
        self.xfers += 1
        addr = tx[0]
        if addr & 0x80:
            out = bytearray(len(tx))
            for i in range(len(tx) - 1):
                out[i + 1] = self._read((tx[i] >> 1) & 0x3F)
            return bytes(out)
        reg = (addr >> 1) & 0x3F
        for b in tx[1:]:
            self._write(reg, b)
        return bytes(len(tx))

    def _read(self, reg):
        if reg == _FIFO_DATA:
            if not self.fifo:
                return 0
            b = self.fifo[0]
            self.fifo = self.fifo[1:]
            return b
        if reg == _FIFO_LEVEL:
            return len(self.fifo)
        return self.regs[reg]

    def _write(self, reg, v):
        if reg == _FIFO_DATA:
            self.fifo.append(v)
        elif reg == _FIFO_LEVEL:
            if v & 0x80:
                self.fifo = bytearray()
        elif reg == _COM_IRQ:
            if v & 0x80:
                self.regs[_COM_IRQ] |= v & 0x7F
            else:
                self.regs[_COM_IRQ] &= ~v & 0x7F
        elif reg == _COMMAND:
            if v & 0x0F == _SOFT_RESET:
                self.regs = bytearray(64)
                self.regs[_VERSION] = self.version
                self.regs[_COLL] = 0x80  # CollReg's reset value: ValuesAfterColl set
                self.fifo = bytearray()
            else:
                self.regs[_COMMAND] = v
        elif reg == _BIT_FRAMING:
            self.regs[_BIT_FRAMING] = v
            if v & 0x80 and self.regs[_COMMAND] & 0x0F == _TRANSCEIVE:
                self._transceive(v & 0x07)
        elif reg != _VERSION:
            self.regs[reg] = v

    def _transceive(self, tx_last_bits):
        frame = bytes(self.fifo)
        self.fifo = bytearray()
        if RECORD[0]:
            self.frames.append(frame)
        reply, collision = self._respond(frame, tx_last_bits)
        self.regs[_ERROR] = 0x08 if collision else 0
        if reply is None:
            self.regs[_COM_IRQ] |= 0x01  # TimerIRq: nobody answered
            return
        self.fifo = bytearray(reply)
        self.regs[_CONTROL] = 0
        self.regs[_COM_IRQ] |= 0x20 | 0x10  # RxIRq | IdleIRq

    def _respond(self, frame, last_bits):
        if last_bits == 7 and frame in (b"\x52", b"\x26"):
            if frame == b"\x52":
                self.halted = []
            self.ready = [c for c in self.cards if c not in self.halted]
            if not self.ready:
                return None, False
            atqas = [b"\x44\x00" if len(c) > 4 else b"\x04\x00" for c in self.ready]
            return atqas[0], len(set(atqas)) > 1
        if len(frame) == 2 and frame[1] == 0x20 and frame[0] in (0x93, 0x95, 0x97):
            level = (frame[0] - 0x93) // 2
            if not self.ready:
                return None, False
            parts = [cascade_parts(c) for c in self.ready]
            if any(level >= len(p) for p in parts):
                return None, False
            part = parts[0][level]
            bcc = part[0] ^ part[1] ^ part[2] ^ part[3]
            return part + bytes((bcc,)), len({p[level] for p in parts}) > 1
        if len(frame) == 9 and frame[1] == 0x70 and frame[0] in (0x93, 0x95, 0x97):
            if crc_a(frame[:7]) != frame[7:9]:
                return None, False
            level = (frame[0] - 0x93) // 2
            chosen = [
                c
                for c in self.ready
                if len(cascade_parts(c)) > level and cascade_parts(c)[level] == frame[2:6]
            ]
            if not chosen:
                return None, False
            self.ready = chosen
            sak = bytes((0x04 if len(cascade_parts(chosen[0])) > level + 1 else 0x08,))
            crc = crc_a(sak)
            if self.garble_select:
                crc = bytes((crc[0] ^ 0xFF, crc[1]))
            if self.sak_reply is not None:
                return self.sak_reply, False
            return sak + crc, False
        if frame == b"\x50\x00" + crc_a(b"\x50\x00"):
            for c in self.ready:
                self.halted.append(c)
            self.ready = []
            return None, False
        return None, False


# --- state behind the mpstubs (machine, network, esp32) -----------------------
# The stand-ins must not allocate at run time what the ESP32 port keeps outside the GC heap (see
# mpstubs/machine.py), so every container here is filled at import with a slot for each pin or
# setting, and reset() empties the slots in place: storing a small int, None or an object made
# at import into an existing slot allocates nothing.

_GPIOS = range(49)
LEVELS = dict.fromkeys(_GPIOS)  # GPIO -> level (inputs: what the test drives; outputs: what the code wrote); None: never set
PIN_MODES = dict.fromkeys(_GPIOS)  # GPIO -> (mode, pull), None while unconfigured
# every (mode, pull) a Pin may be given, made once (so configuring a pin allocates no tuple)
_MODES = {(m, p): (m, p) for m in (-1, 1, 3) for p in (-1, None, 1, 2)}
I2C_DEVICES = [0x3C]
I2C_WRITES = []  # (addr, bytes), while RECORD[0]
RECORD = [True]  # the heap bench turns recording (I2C writes, RC522 frames) off: the ESP32 keeps none
SPI_CHIP = FakeRc522()
SPI_CS = [5]  # the CS pin that must be low during a transfer
NVS = {}  # namespace -> {key: bytes} committed
NVS_PENDING = {}
WIFI = {"connected": False, "ssid": None, "config": {"pm": None}, "rssi": -61}
WDT = {"timeout": None, "feeds": 0, "timeouts": []}
RTC = [None]  # the datetime tuple machine.RTC was last set to (RTC_DATETIME once set)
RTC_DATETIME = [0] * 8
IRQS = dict.fromkeys(_GPIOS)  # GPIO -> its Pin while it has an IRQ handler (Pin.handler, Pin.trigger)
CHIP = ["esp32"]  # or "esp32s3": which GPIOs the stand-in Pin accepts
ADC_UV = [1900000]


def mode_of(mode, pull):
    return _MODES.get((mode, pull)) or (mode, pull)


def reset():
    for pin in _GPIOS:
        LEVELS[pin] = PIN_MODES[pin] = IRQS[pin] = None
    I2C_WRITES.clear()
    NVS.clear()
    NVS_PENDING.clear()
    WIFI["connected"] = False
    WIFI["ssid"] = None
    for key in WIFI["config"]:
        WIFI["config"][key] = None
    WDT.update({"timeout": None, "feeds": 0, "timeouts": []})  # a list with room for 4 (a fresh one: callers keep the old)
    RTC[0] = None


def irqs():
    """GPIO -> (handler, trigger, Pin) for each pin with an interrupt handler."""
    return {pin: (obj.handler, obj.trigger, obj) for pin, obj in IRQS.items() if obj is not None}


def edge(pin, level):
    """Set a pin's level and run its interrupt handler, as the ESP32 does on an edge."""
    LEVELS[pin] = level
    obj = IRQS[pin]
    obj.handler(obj)


def ghost(pin):
    """An interrupt with no level change (ESP32 errata 3.11 on GPIO 36/39)."""
    obj = IRQS[pin]
    obj.handler(obj)
