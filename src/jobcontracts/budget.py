"""Budgets a live run must keep: paid operations and requests.

A budget is one count for the whole run, shared by every pytest-xdist worker
through a small file under an advisory lock, so `-n 4` cannot spend four
times what the user allowed.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

#: A live run's request budget per API when the user sets none.
DEFAULT_LIVE_REQUESTS = 2000
_WIDTH = 20


class BudgetExceeded(Exception):
    """A limit the user set is reached; the test stops there and is skipped."""


class Allowance:
    """`limit` takes at most, counted in `path` across processes; None = unlimited."""

    def __init__(self, name: str, limit: int | None, path: Path | None, hint: str) -> None:
        self.name, self.limit, self.path, self.hint = name, limit, path, hint
        self._local = 0

    def take(self, count: int = 1, *, keep: int = 0) -> None:
        """Spend `count`, leaving `keep` for others, or raise `BudgetExceeded`
        having spent nothing."""
        if self.path is None:
            if self.limit is not None and self._local + count > self.limit - keep:
                raise BudgetExceeded(self._refusal())
            self._local += count
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            spent = int(os.pread(fd, _WIDTH, 0).strip() or 0)
            if self.limit is not None and spent + count > self.limit - keep:
                raise BudgetExceeded(self._refusal())
            # Fixed width, written in place: the lock orders the processes and
            # the page cache is shared, so no truncate and no fsync (slow here).
            os.pwrite(fd, str(spent + count).rjust(_WIDTH).encode("ascii"), 0)
        finally:
            os.close(fd)

    def spent(self) -> int:
        if self.path is None or not self.path.exists():
            return self._local
        return int(self.path.read_text(encoding="ascii").strip() or 0)

    def _refusal(self) -> str:
        return f"the run's {self.name} budget ({self.limit}) is spent; {self.hint}"
