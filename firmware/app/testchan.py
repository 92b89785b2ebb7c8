"""The bench test channel: key presses in, LEDs, display and state out, one text line each, over serial.

NOT FOR A HALL.  A channel that injects key presses would let whoever holds
the keypad's USB cable vote for the deputy, so it exists only in an image
built with ``hallvote firmware build --test-channel`` (the build writes
``TEST_CHANNEL = True`` into ``firmware/hal/build_info`` and ships this
module; a normal build ships neither, so it costs a keypad nothing).  A
keypad running it says so: a first line ``H`` on the serial port and, on a
display with a free row, ``测试通道`` under every screen.

Lines (ASCII, ``\\n``-terminated, at most :data:`MAX_LINE` bytes):

host -> keypad
  ``K <key>``        a press and release of ``<key>``, through the key driver
  ``K <key> <ms>``   the key held ``<ms>`` milliseconds (0..10000)
  ``?``              report everything again

keypad -> host (each sent when it changes, and all of them after ``?``)
  ``H hallvote-testchan 1 <device_id> <firmware>``   at start
  ``S <state>``                                       the app state
  ``L <name>=<mode> ...``                             every LED, in board order
  ``D <line>|<line>...``                              the display (UTF-8; ``D`` alone: blank)
  ``E <reason> <detail>``                             a line refused: ``BAD_COMMAND``,
                                                      ``UNKNOWN_KEY``, ``BAD_HOLD``, ``TOO_LONG``

:class:`TestChannel` is sans-I/O over a stream with ``read() -> bytes``
(what has arrived, ``b""`` when nothing; never blocks) and ``write(bytes)``.
On the ESP32 the stream is the USB serial port (UART0, the REPL's):
:func:`repl_stream`.
"""

from firmware.hal import port

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .keypad import Keypad

__all__ = ["MAX_LINE", "InjectKeys", "TestChannel", "repl_stream"]

MAX_LINE = 64
MAX_HOLD_MS = 10000
BANNER = "测试通道"


class InjectKeys(port.Keys):
    """The board's keys plus presses injected by the channel (merged into the same edge list)."""

    def __init__(self, keys: "port.Keys", clock: "port.Clock") -> None:
        self.inner = keys
        self.clock = clock
        self.names = keys.names
        self.pending: list[tuple[str, int]] = []  # (key, hold ms) not pressed yet
        self.down: list[tuple[str, int, int]] = []  # (key, pressed at, hold ms) held now

    def inject(self, key: str, hold_ms: int) -> None:
        self.pending.append((key, hold_ms))

    def poll(self, now_ms: int) -> "list[tuple[str, bool]]":
        out = self.inner.poll(now_ms)
        for key, hold in self.pending:
            out.append((key, True))
            if hold:
                self.down.append((key, now_ms, hold))
            else:
                out.append((key, False))
        self.pending = []
        held = []
        for key, at, hold in self.down:
            if self.clock.ticks_diff(now_ms, at) >= hold:
                out.append((key, False))
            else:
                held.append((key, at, hold))
        self.down = held
        return out


class _Banner(port.Display):
    """The board's display with ``测试通道`` in the last free row."""

    def __init__(self, display: "port.Display") -> None:
        self.inner = display
        self.rows = getattr(display, "rows", 4)

    def show(self, lines: "list[str]") -> None:
        lines = list(lines)
        if len(lines) < self.rows:
            lines.append(BANNER)
        self.inner.show(lines)


class TestChannel:
    """Attach to a keypad (wraps its keys and display); :meth:`service` once per loop iteration."""

    def __init__(self, kp: "Keypad", stream: "Any") -> None:
        self.kp = kp
        self.stream = stream
        board = kp.board
        self.keys = InjectKeys(board.keys, board.clock)
        board.keys = self.keys
        if board.display is not None:
            board.display = _Banner(board.display)
        self.buf = b""
        self.overflow = False
        self.sent: dict[str, str] = {}
        self.refused = 0
        fw = getattr(board, "firmware_version", None)
        fw = "%d.%d.%d" % tuple(fw) if fw else "?"
        self._say("H hallvote-testchan 1 %s %s" % (kp.device_id, fw))

    def _say(self, line: str) -> None:
        self.stream.write(line.encode() + b"\n")

    def _refuse(self, reason: str, detail: str) -> None:
        self.refused += 1
        self._say("E %s %s" % (reason, detail))

    def handle(self, line: bytes) -> None:
        """One line from the host (without its newline)."""
        try:
            parts = line.decode().split()
        except UnicodeError:
            parts = None
        if not parts:
            if line.strip():
                self._refuse("BAD_COMMAND", "not ASCII")
            return
        if parts[0] == "?" and len(parts) == 1:
            self.sent = {}
            return
        if parts[0] != "K" or not 2 <= len(parts) <= 3:
            self._refuse("BAD_COMMAND", parts[0][:16])
            return
        key = parts[1]
        if key not in self.keys.names:
            self._refuse("UNKNOWN_KEY", key[:16])
            return
        hold = 0
        if len(parts) == 3:
            try:
                hold = int(parts[2])
            except ValueError:
                hold = -1
            if not 0 <= hold <= MAX_HOLD_MS:
                self._refuse("BAD_HOLD", parts[2][:16])
                return
        self.keys.inject(key, hold)

    def _read(self) -> None:
        chunk = self.stream.read()
        while chunk:
            self.buf += chunk
            chunk = self.stream.read()
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                if len(self.buf) > MAX_LINE:
                    self.buf = b""
                    self.overflow = True
                return
            line, self.buf = self.buf[:i], self.buf[i + 1 :]
            if self.overflow or len(line) > MAX_LINE:
                self.overflow = False
                self._refuse("TOO_LONG", "%d" % len(line))
                continue
            self.handle(line.rstrip(b"\r"))

    def report(self) -> None:
        kp = self.kp
        now = {"S": kp.state}
        leds = kp.shown_leds
        now["L"] = " ".join("%s=%s" % (n, leds.get(n, port.OFF)) for n in kp.board.leds.names)
        lines = kp.shown_lines
        if lines is not None:
            now["D"] = "|".join(lines)
        for tag in ("S", "L", "D"):
            if tag in now and self.sent.get(tag) != now[tag]:
                self.sent[tag] = now[tag]
                self._say((tag + " " + now[tag]).rstrip())

    def service(self, now_ms: int = 0) -> None:
        """Read the host's lines, then report what changed."""
        self._read()
        self.report()


class _ReplStream:
    def __init__(self) -> None:
        import select
        import sys

        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)

    def read(self) -> bytes:
        out = b""
        while len(out) < MAX_LINE and self.poll.poll(0):
            out += self.inp.read(1)
        return out

    def write(self, data: bytes) -> None:
        self.out.write(data)


def repl_stream() -> "Any":
    """The keypad's USB serial port (UART0) as the channel's stream (device only)."""
    return _ReplStream()
