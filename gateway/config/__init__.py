"""The hall's configuration file (``hall.toml``): what it may say and how it is checked.

* :mod:`gateway.config.settings`: :class:`GatewaySettings` and :func:`load_settings`.
"""
