"""Refused console sign-ins counted per client address, so a guesser is slowed and cannot flood the audit log.

Pure bookkeeping with an injected clock: the sign-in route asks :meth:`SignInThrottle.retry_after`
before checking a password and reports each outcome.  After ``limit`` refused sign-ins from one
address within ``window_s`` seconds, that address is answered ``429 SIGNIN_THROTTLED`` without a
password check and without an audit record until its oldest counted refusal leaves the window;
the refusal that starts the pause is audited once (``console.signin_throttled``).  A successful
sign-in clears the address's count.  At most ``max_clients`` addresses are remembered (the ones
refused longest ago are forgotten first), so the table cannot grow without bound either.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["LIMIT", "WINDOW_S", "SignInThrottle"]

LIMIT = 5
"""Refused sign-ins from one address within the window before it is paused."""
WINDOW_S = 300.0
"""The sliding window, seconds."""
MAX_CLIENTS = 10_000


class SignInThrottle:
    def __init__(
        self,
        limit: int = LIMIT,
        window_s: float = WINDOW_S,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_clients < 1:
            raise ValueError("limit, window and table size must be positive")
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        self._refused: OrderedDict[str, deque[float]] = OrderedDict()
        self._guard = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._refused.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._refused[client]
            return None
        return times

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        with self._guard:
            now = self._clock()
            times = self._recent(client, now)
            if times is None or len(times) < self.limit:
                return 0.0
            return max(0.0, times[-self.limit] + self.window_s - now)

    def refused(self, client: str) -> bool:
        """Count a refused sign-in; True when this refusal starts a pause for ``client``."""
        with self._guard:
            now = self._clock()
            times = self._recent(client, now)
            if times is None:
                times = self._refused[client] = deque(maxlen=self.limit)
                while len(self._refused) > self.max_clients:
                    self._refused.popitem(last=False)
            times.append(now)
            self._refused.move_to_end(client)
            return len(times) == self.limit

    def succeeded(self, client: str) -> None:
        with self._guard:
            self._refused.pop(client, None)

    def __len__(self) -> int:
        return len(self._refused)
