"""Benchmarks of device code on the real MicroPython interpreter (``python -m hil.bench.<name>``)."""
