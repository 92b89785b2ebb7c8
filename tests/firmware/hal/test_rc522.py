"""RC522 card reader (firmware/hal/rc522.py): CRC_A and frame bytes against ISO/IEC 14443-3, the
SPI framing of the MFRC522 datasheet, and the driver against a register-level chip model
(fakehw.FakeRc522) with 4-, 7- and 10-byte UIDs, collisions, garbled answers and card removal; the
boot-time set-up and wiring (firmware/hal/rc522_setup.py)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import fakehw
import pytest

from firmware.hal import port, rc522, rc522_setup


def no_ticks() -> int:
    raise AssertionError("the driver's reads do not look at the clock")


def chip_reader(bus: Any, init: bool = True, **kw: Any) -> rc522.Rc522Reader:
    """A reader on ``bus``, the bus and the chip-select pin both (fakehw.FakeRc522 is both), set up
    as open_card does (``init``)."""
    rd = rc522.Rc522Reader(bus, bus, kw.pop("ticks", no_ticks), lambda a, b: a - b, **kw)
    if init:
        rc522_setup.init(rd)
    return rd


# --- pure frames ----------------------------------------------------------------


def test_crc_a_matches_the_iso_14443_3_annex_examples() -> None:
    # ISO/IEC 14443-3, Annex B: CRC_A of 00 00 is 0x1EA0, of 12 34 is 0xCF26 (sent LSB first).
    assert rc522.crc_a(b"\x00\x00") == b"\xa0\x1e"
    assert rc522.crc_a(b"\x12\x34") == b"\x26\xcf"
    assert b"\x50\x00" + rc522.crc_a(b"\x50\x00") == bytes.fromhex("500057cd")  # the HLTA every trace shows


def test_crc_a_equals_the_bitwise_reference_and_leaves_zero_residue() -> None:
    for n in range(0, 40):
        data = os.urandom(n)
        crc = rc522.crc_a(data)
        assert crc == fakehw.crc_a(data)
        assert rc522.crc_a(data + crc) == b"\x00\x00"  # no final XOR: a frame with its CRC checks to 0


def test_the_sak_is_checked_against_its_crc_a() -> None:
    # the SAK frame (SAK + CRC_A): its payload accepted, a wrong CRC or a short frame refused
    drv, chip = reader(bytes.fromhex("04a1b2c3"))
    chip.sak_reply = b"\x08" + rc522.crc_a(b"\x08")
    assert drv.read_uid() == bytes.fromhex("04a1b2c3")
    for bad in (b"\x08\xb6\xde", b"\x08\x00"):
        drv, chip = reader(bytes.fromhex("04a1b2c3"))
        chip.sak_reply = bad
        with pytest.raises(rc522.CardError):
            drv.read_uid()


def test_bcc_and_select_frame() -> None:
    part = bytes.fromhex("04a1b2c3")
    bcc = 0x04 ^ 0xA1 ^ 0xB2 ^ 0xC3
    drv, chip = reader(part)
    assert drv.read_uid() == part
    frame = chip.frames[2]  # WUPA, anticollision, then the SELECT of cascade level 1
    assert frame[:2] == b"\x93\x70" and frame[2:6] == part and frame[6] == bcc and len(frame) == 9
    assert rc522.crc_a(frame) == b"\x00\x00"


def test_spi_address_bytes_follow_the_datasheet() -> None:
    # MFRC522 8.1.2.3: address byte = 0 (write) / 1 (read) | reg << 1 | 0
    sent: list[bytes] = []

    class Bus:
        selected = False

        def value(self, level: int) -> None:
            self.selected = not level

        def write_readinto(self, tx: bytes, rx: bytearray) -> None:
            assert self.selected and len(rx) == len(tx)  # chip select held low for the transaction
            sent.append(bytes(tx))

    bus = Bus()
    drv = chip_reader(bus, init=False)
    drv.write(0x01, 0x0F)
    drv.write(0x09, 0x26)
    assert drv.read(0x37) == 0
    assert sent == [b"\x02\x0f", b"\x12\x26", b"\xee\x00"]
    assert not bus.selected  # released after each transaction
    # the FIFO (0x09) is read n times in one transaction: a 5-byte anticollision answer
    chip = fakehw.FakeRc522()
    chip.cards = [bytes.fromhex("04a1b2c3")]
    sent.clear()
    xfer = chip.xfer
    chip.xfer = lambda tx: (sent.append(bytes(tx)), xfer(tx))[1]  # type: ignore[method-assign]
    drv = chip_reader(chip)
    assert drv.read_uid() == bytes.fromhex("04a1b2c3")
    assert b"\x92\x92\x92\x92\x92\x00" in sent
    # a frame goes to the FIFO (0x09) in one transaction: the WUPA, then the anticollision command
    assert b"\x12\x52" in sent and b"\x12\x93\x20" in sent


# --- the driver against the chip model ---------------------------------------------


def reader(*cards: bytes, version: int = 0x92) -> tuple[rc522.Rc522Reader, fakehw.FakeRc522]:
    chip = fakehw.FakeRc522(version)
    chip.cards = list(cards)
    drv = chip_reader(chip, init=False)
    # VersionReg of genuine chips and common clones
    assert rc522_setup.init(drv) == (version in (0x88, 0x90, 0x91, 0x92, 0xB2, 0x12))
    return drv, chip


@pytest.mark.parametrize("uid_hex", ["04a1b2c3", "04112233445566", "0811223344556677889a"])
def test_reads_single_double_and_triple_size_uids(uid_hex: str) -> None:
    uid = bytes.fromhex(uid_hex)
    drv, chip = reader(uid)
    assert drv.read_uid() == uid
    levels = len(fakehw.cascade_parts(uid))
    # WUPA, then anticollision + select per cascade level, then HLTA
    assert chip.frames[0] == b"\x52"
    assert [f[:2] for f in chip.frames[1:-1]] == [
        b"\x93\x20",
        b"\x93\x70",
        b"\x95\x20",
        b"\x95\x70",
        b"\x97\x20",
        b"\x97\x70",
    ][: 2 * levels]
    assert chip.frames[-1] == b"\x50\x00" + rc522.crc_a(b"\x50\x00")  # HLTA
    assert chip.halted == [uid]
    # the halted card is woken by the next poll's WUPA: a card left on the reader stays present
    assert drv.read_uid() == uid


def test_no_card_is_none_and_chip_absent_is_detected() -> None:
    drv, chip = reader()
    assert drv.read_uid() is None
    assert chip.frames == [b"\x52"]
    drv, _ = reader(version=0x00)
    assert drv.version == 0x00


def test_antenna_and_timer_are_configured() -> None:
    _drv, chip = reader()
    assert chip.regs[0x14] & 0x03 == 0x03  # TxControlReg: antenna drivers on
    assert chip.regs[0x15] == 0x40  # TxASKReg: 100 % ASK
    assert chip.regs[0x11] == 0x3D  # ModeReg: CRC preset 0x6363
    assert chip.regs[0x2A] & 0x80  # TModeReg: timer starts after each transmission
    assert not chip.regs[0x0E] & 0x80  # CollReg: ValuesAfterColl cleared (bits after a collision read as 0)


def test_two_cards_collide_and_a_garbled_sak_is_refused() -> None:
    drv, _ = reader(bytes.fromhex("04a1b2c3"), bytes.fromhex("04a1b2c4"))
    with pytest.raises(rc522.CardError, match="collision"):
        drv.read_uid()
    drv, chip = reader(bytes.fromhex("04a1b2c3"))
    chip.garble_select = True
    with pytest.raises(rc522.CardError, match="CRC"):
        drv.read_uid()


def test_presence_tolerates_one_missed_read() -> None:
    chip = fakehw.FakeRc522()
    ticks = Ticks()
    p = chip_reader(chip, ticks=ticks, interval_ms=250, misses=2)
    a, b = b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"
    seen = []
    for card in (None, a, None, a, None, None, None, b, a):  # one read per interval: the card in the field
        chip.cards = [] if card is None else [card]
        seen.append(p.poll())
        ticks.now += 250
    assert seen == [
        None,
        a,
        a,
        a,
        a,
        None,
        None,
        b,
        a,
    ]


class Ticks:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_reader_polls_at_its_interval_and_reports_insert_and_removal() -> None:
    chip = fakehw.FakeRc522()
    ticks = Ticks()
    rd = chip_reader(chip, ticks=ticks, interval_ms=250, misses=2)
    assert isinstance(rd, port.CardReader) and rd.version == 0x92
    assert rd.poll() is None
    uid = bytes.fromhex("04112233445566")
    chip.cards = [uid]
    ticks.now = 100
    before = chip.xfers
    assert rd.poll() is None  # within the interval: no SPI traffic
    assert chip.xfers == before
    ticks.now = 250
    assert rd.poll() == uid
    chip.cards = []
    ticks.now = 500
    assert rd.poll() == uid  # one miss is tolerated
    ticks.now = 750
    assert rd.poll() is None  # removed


def test_reader_polled_rarely_never_reports_a_card_removed_since() -> None:
    # The app reads the card only at a press: minutes apart, one miss must mean "gone".
    chip = fakehw.FakeRc522()
    ticks = Ticks()
    rd = chip_reader(chip, ticks=ticks, interval_ms=250, misses=2)
    uid = bytes.fromhex("04a1b2c3")
    chip.cards = [uid]
    assert rd.poll() == uid
    chip.cards = []
    ticks.now = 60_000
    assert rd.poll() is None
    chip.cards = [uid]
    ticks.now = 120_000
    assert rd.poll() == uid


def test_reader_counts_garbled_reads_as_misses() -> None:
    chip = fakehw.FakeRc522()
    ticks = Ticks()
    rd = chip_reader(chip, ticks=ticks, interval_ms=10, misses=1)
    chip.cards = [b"\x01\x02\x03\x04", b"\x01\x02\x03\x05"]
    assert rd.poll() is None
    assert rd.errors == 1


class Machine:
    """The ESP32 port's ``machine`` as open_card uses it: SPI buses and pins (the chip behind)."""

    def __init__(self, chip: fakehw.FakeRc522) -> None:
        self.chip = chip
        self.spi: list[tuple[Any, ...]] = []
        self.pins: dict[int, Any] = {}
        machine = self

        class Pin:
            OUT = 3

            def __init__(self, no: int, mode: int | None = None, value: int | None = None) -> None:
                self.no, self.mode, self.level = no, mode, value
                machine.pins[no] = self

            def value(self, level: int) -> None:
                self.level = level
                if self.no == 5:  # the profile's CS
                    machine.chip.value(level)

        self.Pin = Pin

    def SPI(self, bus_id: int, **kw: Any) -> fakehw.FakeRc522:  # machine.SPI
        self.spi.append((bus_id, sorted(kw)))
        return self.chip


CARD = {"driver": "rc522", "cs": 5, "rst": 4}
BUS = {"id": 2, "sck": 18, "mosi": 23, "miso": 19}


def clock() -> Any:
    return SimpleNamespace(sleep_ms=lambda ms: None, ticks_ms=Ticks(), ticks_diff=lambda a, b: a - b)


def test_open_card_wires_the_reader_on_its_bus() -> None:
    chip = fakehw.FakeRc522()
    chip.cards = [bytes.fromhex("04112233445566")]
    machine = Machine(chip)
    board = SimpleNamespace(faults=[])
    rd = rc522_setup.open_card(board, machine, clock(), CARD, BUS)  # type: ignore[arg-type]
    assert isinstance(rd, rc522.Rc522Reader) and board.faults == []
    assert machine.spi == [(2, ["baudrate", "miso", "mosi", "phase", "polarity", "sck"])]
    assert machine.pins[4].level == 1 and machine.pins[5].level == 1  # out of reset, CS released
    assert rd.version == 0x92 and rd.poll() == bytes.fromhex("04112233445566")


def test_reader_without_chip_is_left_out_with_a_fault_line() -> None:
    chip = fakehw.FakeRc522(version=0xFF)
    board = SimpleNamespace(faults=[])
    assert rc522_setup.open_card(board, Machine(chip), clock(), CARD, BUS) is None  # type: ignore[arg-type]
    assert board.faults == ["card: no RC522 answers (VersionReg 0xff)"]
