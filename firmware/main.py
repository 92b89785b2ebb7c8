"""The keypad's ``/main.py``: the guarded boot (:mod:`firmware.app.boot`).

If even the guard cannot be imported (no memory, a file missing), the
exception is printed and the long boot watchdog is not armed yet, so the
board is reset from here after 10 s through the board adapter if it loads.
"""

try:
    from firmware.app import boot

    boot.main()
except KeyboardInterrupt:
    raise
except BaseException as e:
    import sys
    import time

    sys.print_exception(e)  # type: ignore[attr-defined]
    time.sleep(10)
    from firmware.hal import esp32

    esp32.hard_reset()
