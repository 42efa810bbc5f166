"""Frames per second over the last second, Qt-free: a sliding window of frame times.

Not frames since start divided by the time since start: that average hides a stall of seconds
behind minutes of smooth frames, and falls only slowly to 0 when frames stop coming.
"""
from __future__ import annotations

from collections import deque

FPS_WINDOW_S = 1.0


class FpsMeter:
    """`tick(t)` when a frame is shown; `rate(now)` counts the ticks in (now - window, now]."""

    def __init__(self, window_s: float = FPS_WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, t: float) -> None:
        self._times.append(t)
        self._forget(t)

    def rate(self, now: float) -> float:
        """Frames per second over the window that ends at `now` (seconds, the ticks' clock)."""
        self._forget(now)
        return sum(1 for t in self._times if t <= now) / self.window_s

    def _forget(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
