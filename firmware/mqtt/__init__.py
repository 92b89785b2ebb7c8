"""The keypad's own MQTT 3.1.1 client: a sans-I/O codec and an asyncio driver.

Both run unchanged on MicroPython (ESP32) and CPython (the test rig).
"""
