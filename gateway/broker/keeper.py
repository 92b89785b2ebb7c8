"""Keeps the broker's keypad accounts in step with the hall: a revoked keypad is disabled at once.

The gateway's state (committed truth) says which keypads are revoked (lost,
stolen, swapped out).  :class:`AccountKeeper` runs one thread that, when
woken (``wake()``: the gateway reloaded its keypads) or every
``interval`` seconds, disables on the broker every revoked keypad it has
not disabled yet, over one lasting control connection
(:class:`gateway.broker.dynsec.DynsecClient`).  The broker disconnects
such a keypad at once and refuses its next login.  A failure (broker
down, control account refused) is logged with its reason code and tried
again at the next round; nothing is forgotten meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from .dynsec import DynsecClient, DynsecError

__all__ = ["AccountKeeper"]

log = logging.getLogger("hallvote.broker.accounts")


class AccountKeeper:
    def __init__(
        self,
        revoked: Callable[[], Iterable[str]],
        connect: Callable[[], DynsecClient],
        *,
        interval: float = 2.0,
    ) -> None:
        self._revoked = revoked
        self._connect = connect
        self.interval = interval
        self.disabled: set[str] = set()
        self.last_error: str | None = None
        self._client: DynsecClient | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hallvote-accounts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Sync now (the gateway's keypads changed)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._client is not None:
            self._client.close()
            self._client = None

    def sync(self) -> list[str]:
        """Disable the revoked keypads not disabled yet; the ones disabled now."""
        try:
            todo = sorted(set(self._revoked()) - self.disabled)
        except RuntimeError:  # the state changed while we read it: next round
            return []
        if not todo:
            return []
        try:
            if self._client is None:
                self._client = self._connect().connect()
            self._client.disable(todo)
        except DynsecError as exc:
            self.last_error = str(exc)
            log.error("could not disable revoked keypads %s on the broker: %s", ", ".join(todo), exc)
            if self._client is not None:
                self._client.close()
                self._client = None
            return []
        self.disabled.update(todo)
        self.last_error = None
        log.info("broker accounts disabled (revoked keypads): %s", ", ".join(todo))
        return todo

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # a bug must not end the thread; tried again next round
                log.exception("account sync failed")
            self._wake.wait(self.interval)
            self._wake.clear()
