"""The clock a load run and its served simulator share.

Every process of a run (the simulator's server, the Locust master, each
worker) reads the same time: the wall clock, sped up `speed` times from a
common `epoch` (the run's start). So the exchanges of all workers merge in
one order, and a `Retry-After` or a 120-second window means the same on
both sides. At speed 1 it is the wall clock itself (a live target).
"""

from __future__ import annotations

import time


class SharedClock:
    """`epoch + (wall - epoch) * speed`; `sleep` waits `seconds / speed` of wall time."""

    def __init__(self, speed: float = 1.0, epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.epoch = time.time() if epoch is None else epoch

    def now(self) -> float:
        return self.epoch + (time.time() - self.epoch) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def wall(self, t: float) -> float:
        """The wall-clock time at which this clock reads `t` (an HTTP-date's)."""
        return self.epoch + (t - self.epoch) / self.speed
