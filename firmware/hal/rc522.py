"""MFRC522 (RC522) card reader over SPI: a small pure driver for reading ISO 14443A UIDs.

The driver talks to the chip through an SPI bus (``write_readinto(tx, rx)``,
full duplex) and its chip-select pin (``value(level)``), held low for each
transaction: on the ESP32 a ``machine.SPI`` and a ``machine.Pin``, in tests
a simulated chip.  Everything else here is pure: the SPI address bytes, the
ISO 14443-3 type A frames (REQA/WUPA, anticollision, SELECT, HLTA), CRC_A
and the BCC check.

What only boot needs, the chip's reset and set-up and the ESP32 wiring, is in
:mod:`firmware.hal.rc522_setup` (``init``, ``open_card``), loaded while the
board is built and unloaded after: the keypad keeps only what reads a card.

Reading a card (:meth:`Rc522Reader.read_uid`): WUPA (wakes idle *and* halted
cards, so a card left on the reader is found again on every poll), then per
cascade level ANTICOLLISION (``SEL 0x20``) and SELECT (``SEL 0x70 ...`` with
CRC_A) until the SAK says the UID is complete (4, 7 or 10 bytes), then HLTA.
A collision (two cards at once) is reported as no card: a seat has one
member's card.

:class:`Rc522Reader` implements :class:`firmware.hal.port.CardReader`: it
turns the raw reads into "card present / removed" with a miss tolerance, so
a card is not reported removed because one read failed, reading at most
every ``interval_ms``; the miss tolerance applies only
to reads in quick succession, so an app that polls only at a key press never
gets the UID of a card removed since the previous press.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = [
    "CardError",
    "Rc522Reader",
    "crc_a",
]

# ISO/IEC 14443-3 type A commands (REQA 0x26 is not used: WUPA also wakes halted cards).
# Every number here is a const(): folded into the code, no module name on the keypad's heap.
_WUPA = const(0x52)  # 7-bit short frame
_SEL_CL1 = const(0x93)
_SEL_CL2 = const(0x95)
_SEL_CL3 = const(0x97)
_CASCADE_TAG = const(0x88)
_NVB_ANTICOLL = const(0x20)  # SEL + NVB only: "all cards, send your UID CLn"
_NVB_SELECT = const(0x70)  # SEL + NVB + 4 UID bytes + BCC
_SAK_UID_INCOMPLETE = const(0x04)

# MFRC522 registers.
_COMMAND = const(0x01)
_COM_IRQ = const(0x04)
_ERROR = const(0x06)
_FIFO_DATA = const(0x09)
_FIFO_LEVEL = const(0x0A)
_BIT_FRAMING = const(0x0D)

# MFRC522 commands.
_CMD_IDLE = const(0x00)
_CMD_TRANSCEIVE = const(0x0C)

# Bits.
_IRQ_RX = const(0x20)
_IRQ_IDLE = const(0x10)
_IRQ_ERR = const(0x02)
_IRQ_TIMER = const(0x01)
_ERR_COLL = const(0x08)
_ERR_FATAL = const(0x13)  # BufferOvfl | ParityErr | ProtocolErr
_START_SEND = const(0x80)
_FLUSH_FIFO = const(0x80)

_MAX_POLLS = const(60)  # reads of ComIrqReg waiting for one exchange (its timer ends it in 3 ms)


class CardError(Exception):
    """A garbled exchange with a card (bad CRC or BCC, a collision, a protocol error)."""


def crc_a(data: bytes) -> bytes:
    """ISO/IEC 14443-3 CRC_A of ``data`` (CRC-16/ISO-A: reflected 0x1021, init 0x6363), LSB first."""
    crc = 0x6363
    for b in data:
        b ^= crc & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = (crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)
    return bytes((crc & 0xFF, crc >> 8))


class Rc522Reader:
    """:class:`port.CardReader`: the chip on bus ``spi`` with chip select ``cs``, read at most every
    ``interval_ms``.

    ``ticks_ms``/``ticks_diff`` are the board clock's; the wait for one
    exchange is bounded (``_MAX_POLLS`` reads of the chip's interrupt
    register).  ``version`` is the chip's VersionReg, read by
    :func:`firmware.hal.rc522_setup.init`: a reader is built for a chip that
    answered at start-up (:func:`firmware.hal.rc522_setup.open_card` leaves
    out one that did not).  Garbled reads are counted in ``errors`` and
    treated as a miss.  ``uid`` is the card considered present: it counts as
    removed after ``misses`` failed reads in a row.
    """

    def __init__(
        self,
        spi: "Any",
        cs: "Any",
        ticks_ms: "Callable[[], int]",
        ticks_diff: "Callable[[int, int], int]",
        interval_ms: int = 250,
        misses: int = 2,
    ) -> None:
        self.spi = spi
        self.cs = cs
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff
        self.interval_ms = interval_ms
        self.misses = misses
        self.version = 0
        self.uid = None  # type: bytes | None
        self._missed = 0
        self.errors = 0
        self._last = None  # type: int | None

    def xfer(self, tx: bytes) -> bytearray:
        """One SPI transaction: ``tx`` out, as many bytes in, chip select held low for its length."""
        rx = bytearray(len(tx))
        self.cs.value(0)
        try:
            self.spi.write_readinto(tx, rx)
        finally:
            self.cs.value(1)
        return rx

    # --- registers ---------------------------------------------------------

    # SPI framing (MFRC522 8.1.2.3): an address byte 1 (read) / 0 (write) | reg << 1 | 0, then the
    # data to write, or a 0 after the address bytes of a read: the reply's bytes 1.. are the values.

    def read(self, reg: int) -> int:
        return self.xfer(bytes((0x80 | reg << 1, 0)))[1]

    def write(self, reg: int, value: int) -> None:
        """Write the byte ``value`` to register ``reg`` (the FIFO's several bytes: :meth:`transceive`)."""
        self.xfer(bytes((reg << 1, value)))

    # --- exchanges ---------------------------------------------------------

    def transceive(self, data: bytes, tx_last_bits: int = 0) -> "bytes | None":
        """Send ``data`` to the card (``tx_last_bits``: the bits of its last byte sent, 0 for all
        8); the reply, or None on timeout.

        Raises CardError on a collision or a framing error.
        """
        self.write(_COMMAND, _CMD_IDLE)
        self.write(_COM_IRQ, 0x7F)  # clear every interrupt request bit
        self.write(_FIFO_LEVEL, _FLUSH_FIFO)
        self.xfer(bytes((_FIFO_DATA << 1,)) + data)  # every byte to the FIFO in one transaction
        self.write(_BIT_FRAMING, tx_last_bits)
        self.write(_COMMAND, _CMD_TRANSCEIVE)
        self.write(_BIT_FRAMING, _START_SEND | tx_last_bits)
        irq = 0
        for _ in range(_MAX_POLLS):
            irq = self.read(_COM_IRQ)
            if irq & (_IRQ_RX | _IRQ_IDLE | _IRQ_TIMER):
                break
        self.write(_BIT_FRAMING, 0)
        if not irq & (_IRQ_RX | _IRQ_IDLE):
            return None  # timer expired (no card) or the chip never finished
        err = self.read(_ERROR)
        if err & _ERR_FATAL:
            raise CardError("reader error")
        if err & _ERR_COLL:
            raise CardError("collision")  # more than one card
        n = self.read(_FIFO_LEVEL) & 0x7F
        if n == 0:
            return None
        # the FIFO read n times in one transaction
        return bytes(self.xfer(bytes((0x80 | _FIFO_DATA << 1,) * n) + b"\x00")[1:])

    def read_uid(self) -> "bytes | None":
        """The UID of the one card in the field (4, 7 or 10 bytes), or None when there is none."""
        got = self.transceive(bytes((_WUPA,)), 7)
        if got is None:
            return None
        if len(got) != 2:
            raise CardError("ATQA")
        uid = b""
        for level in (_SEL_CL1, _SEL_CL2, _SEL_CL3):
            part = self.transceive(bytes((level, _NVB_ANTICOLL)))
            if part is None:
                return None
            if len(part) != 5 or part[0] ^ part[1] ^ part[2] ^ part[3] != part[4]:
                raise CardError("BCC")  # BCC: the XOR of the 4 UID bytes
            # SELECT: SEL, NVB 0x70, the UID part and its BCC, CRC_A
            frame = bytes((level, _NVB_SELECT)) + bytes(part)
            sak = self.transceive(frame + crc_a(frame))
            if sak is None:
                return None
            # the SAK and its CRC_A: a frame with its CRC checks to 0
            if len(sak) != 3 or crc_a(sak) != b"\x00\x00":
                raise CardError("SAK CRC_A")
            if part[0] == _CASCADE_TAG and sak[0] & _SAK_UID_INCOMPLETE:
                uid += part[1:4]
                continue
            uid += part[:4]
            # HLTA (0x50 0x00 and its CRC_A): a halted card stays quiet until the next WUPA
            self.transceive(b"\x50\x00\x57\xcd")
            return uid
        raise CardError("UID size")  # more than three cascade levels

    def poll(self) -> "bytes | None":
        now = self.ticks_ms()
        if self._last is not None:
            age = self.ticks_diff(now, self._last)
            if age < self.interval_ms:
                return self.uid
            if age > 2 * self.interval_ms:
                # Not polled for a while (the app may read the card only at a press):
                # the last read is too old to vouch for the card, so one miss means gone.
                self.uid = None
                self._missed = 0
        self._last = now
        try:
            uid = self.read_uid()
        except CardError:
            self.errors += 1
            uid = None
        # A read UID is the card present now (a different UID replaces the card at once); a miss
        # (nothing read, or a garbled read) leaves the card present until the ``misses``-th in a row.
        if uid is not None:
            self.uid = uid
            self._missed = 0
        elif self.uid is not None:
            self._missed += 1
            if self._missed >= self.misses:
                self.uid = None
                self._missed = 0
        return self.uid
