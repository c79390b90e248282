"""A sliding-window counter per key, in the memory of one web worker (login attempts, signals)."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


MAX_KEYS = 10_000


class RateLimit:
    """At most `limit` events per key within `window_seconds`."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for `key`, or refuse it (and count nothing) when the window is full."""
        with self._lock:
            if self._full(key):
                return False
            self._events[key].append(time.monotonic())
            return True

    def full(self, key: str) -> bool:
        """Whether the next event for `key` would be refused (nothing is counted)."""
        with self._lock:
            return self._full(key)

    def count(self, key: str) -> None:
        """Count an event that has happened (e.g. a failed login)."""
        with self._lock:
            self._events[key].append(time.monotonic())

    def _full(self, key: str) -> bool:
        now = time.monotonic()
        if len(self._events) > MAX_KEYS:
            self._forget_quiet_keys(now)
        events = self._events[key]
        while events and now - events[0] > self.window:
            events.popleft()
        return len(events) >= self.limit

    def _forget_quiet_keys(self, now: float) -> None:
        for key in [k for k, events in self._events.items() if not events or now - events[-1] > self.window]:
            del self._events[key]
