"""Building the keypad firmware image a technician copies onto a keypad.

* :mod:`gateway.firmware_image.build`: ``.mpy`` tree, build info, root ``main.py``, manifest;
* :mod:`gateway.firmware_image.glyphs`: the glyph table rendered from an installed CJK font.

The CLI is ``hallvote firmware`` (:mod:`gateway.cli.firmware`).
"""
