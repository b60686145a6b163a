"""Clocks. Everything that waits or stamps a time asks a clock, never `time`.

Against the embedded simulators the clock is virtual: `sleep` advances it at
once, so a 32-minute generation or a `Retry-After: 30` costs no wall time.
Live runs use the real clock; `jobcontracts serve --speed X` uses a scaled one.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

#: Virtual clocks start here so that simulated timestamps are stable across runs.
VIRTUAL_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC).timestamp()


class Clock(Protocol):
    """Seconds since the Unix epoch, and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class VirtualClock:
    """A clock that moves only when someone sleeps (or `advance`s it)."""

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards ({seconds} s)")
        with self._lock:
            self._now += seconds


class RealClock:
    """Wall-clock time; `sleep` really waits."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock:
    """Real time sped up `speed` times, for a served simulator: at speed 60 a
    32-minute generation takes 32 wall seconds."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._wall0 = time.monotonic()
        self._start = time.time() if start is None else start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._wall0) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def wall(self, t: float) -> float:
        """The wall-clock time at which this clock will read `t` (for an
        HTTP-date a real client's clock must understand)."""
        return time.time() + (t - self.now()) / self.speed


def wall_time(clock: Clock, t: float) -> float:
    """`t` on `clock` as the wall-clock time a client reads (the same, but for
    a scaled clock)."""
    wall = getattr(clock, "wall", None)
    return float(wall(t)) if callable(wall) else t


def iso(ts: float) -> str:
    """An ISO 8601 UTC timestamp with an explicit zone, as APIs should send."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")
