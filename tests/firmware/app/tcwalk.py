"""The bench test channel driven line by line, for CPython and MicroPython alike (shipped into the WASM port).

``run()`` attaches :class:`firmware.app.testchan.TestChannel` to a keypad
brought to ``idle`` with check-in open (kpcontexts), feeds it host lines and
returns what the keypad said after each, the keypad's state and the frames
it sent.  MicroPython-compatible on purpose (no typing, no f-strings).
"""

import kpcontexts

from firmware.app import states as S
from firmware.app.testchan import TestChannel


class Stream:
    def __init__(self):
        self.inp = []
        self.out = b""

    def read(self):
        return self.inp.pop(0) if self.inp else b""

    def write(self, data):
        self.out += data


def run():
    rig = kpcontexts.in_state(S.IDLE)
    stream = Stream()
    chan = TestChannel(rig.kp, stream)
    said = []

    def host(*chunks):
        stream.out = b""
        for c in chunks:
            stream.inp.append(c)
        rig.step()
        chan.service(rig.clock.ticks_ms())
        rig.step()
        chan.service(rig.clock.ticks_ms())
        said.append(stream.out.decode().split("\n")[:-1])

    chan.service(rig.clock.ticks_ms())
    said.append(stream.out.decode().split("\n")[:-1])  # H, then S/L/D
    host(b"K bogus\n", b"X\n", b"K yes 99999\n", b"K " + b"y" * 80 + b"\n", b"\xff\xfe\n")
    host(b"K check", b"in\n")  # a line split across reads
    sent_after_checkin = [f.TYPE for f in rig.uplinks()]
    rig.ack_last()
    host(b"?\n")
    return {
        "said": said,
        "state": rig.state,
        "sent": sent_after_checkin,
        "refused": chan.refused,
        "screen": rig.board.display.inner.lines,  # what the display shows: the app's lines + the banner
    }
