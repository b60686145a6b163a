"""Progress on long waits: what a job a test waits on is doing, in the server's words.

A live generation takes 4 to 32 minutes. While a driver waits on a job it
reports each observation (`Progress.observe`): the job's state and, where
the server forecasts it, a percentage, a time remaining and a phase. The
default `Progress` does nothing, so drivers hold no terminal code; the pytest
plugin installs a `ProgressLog` per run (`reporting.py`), which

- logs through `logging` (logger `jobcontracts.progress`): INFO on each state
  change, DEBUG on every poll; `--log-cli-level=INFO` shows it;
- writes lines through pytest's terminal, by verbosity `level`: below 0
  nothing; at 0 only waits that have lasted `patience` wall seconds, a line
  per state change and a heartbeat every `heartbeat` seconds (a run is never
  silent for long, and CI does not take it for hung); at 1 and above every
  poll, at most one unchanged line per `min_interval` wall seconds.

Against the in-process simulator (a 32-minute generation in ~50 ms of wall
time) the plugin lowers the level by one, so a waiting test there stays as
quiet as a short wait on a live server: `-vv` shows its state changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LOGGER = logging.getLogger("jobcontracts.progress")
#: Waits followed at once; older ones are forgotten (a suite waits on thousands).
MAX_WATCHES = 1000


@dataclass(frozen=True)
class Observation:
    """One look at a job: what it is, its id, its state, the server's forecast."""

    what: str
    ident: str
    state: str
    percent: float | None = None
    eta: float | None = None
    detail: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        """What a state change changes: the state, or the phase within it."""
        return (self.state, self.detail)

    def line(self, waited: float | None = None) -> str:
        """`specstep generation 5d1c8a2e… Running 32% (Drafting architecture), ETA 14m10s`."""
        text = f"{self.what} {short_id(self.ident)} {self.state}"
        if self.percent is not None:
            text += f" {self.percent:g}%"
        if self.detail and self.detail != self.state:
            text += f" ({self.detail})"
        if self.eta is not None:
            text += f", ETA {duration(self.eta)}"
        if waited is not None and waited >= 1:
            text += f", waiting {duration(waited)}"
        return text


class Progress:
    """What a driver reports to while it waits on a job; this one does nothing."""

    def observe(self, what: str, ident: str, record: Mapping[str, Any], *, state: str,
                percent: str | None = None, eta: str | None = None,
                detail: str | None = None) -> None:
        """Report a job's record; `state`, `percent`, … name its fields (a
        dotted name reads a nested one). Values of the wrong type are left out:
        the server's answer is judged elsewhere, not here."""
        self.update(what, ident, _text(_field(record, state)) or "?",
                    percent=_number(_field(record, percent)),
                    eta=_number(_field(record, eta)), detail=_text(_field(record, detail)))

    def update(self, what: str, ident: str, state: str, *, percent: float | None = None,
               eta: float | None = None, detail: str | None = None) -> None:
        self.report(Observation(what, ident, state, percent, eta, detail))

    def report(self, observation: Observation) -> None:
        """Override this: called with every observation."""

    def restart(self) -> None:
        """A fresh simulator (the next hypothesis example) mints the same ids
        again: what was seen of them before is another job's."""


NO_PROGRESS = Progress()


@dataclass
class _Watch:
    started: float
    last_key: tuple[str, str | None] | None = None
    shown_key: tuple[str, str | None] | None = None
    shown_at: float = 0.0


class ProgressLog(Progress):
    """Logs every observation and writes some as lines (see the module's doc)."""

    def __init__(self, write: Callable[[str], None] | None = None, level: int = 0, *,
                 patience: float = 10.0, heartbeat: float = 60.0, min_interval: float = 1.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.write, self.level = write, level
        self.patience, self.heartbeat, self.min_interval = patience, heartbeat, min_interval
        self._now = now
        self._watches: dict[tuple[str, str], _Watch] = {}

    def view(self, level: int) -> ProgressLog:
        """The same terminal at another verbosity, following waits of its own
        (one per API run)."""
        return ProgressLog(self.write, level, patience=self.patience,
                           heartbeat=self.heartbeat, min_interval=self.min_interval,
                           now=self._now)

    def restart(self) -> None:
        self._watches.clear()

    def report(self, observation: Observation) -> None:
        now = self._now()
        watch = self._watch((observation.what, observation.ident), now)
        changed = observation.key != watch.last_key
        watch.last_key = observation.key
        waited = now - watch.started
        if changed:
            LOGGER.info("%s", observation.line())
        elif LOGGER.isEnabledFor(logging.DEBUG):
            LOGGER.debug("%s", observation.line(waited))
        if self.write is None or not self._shows(observation, watch, now):
            return
        watch.shown_key, watch.shown_at = observation.key, now
        self.write(observation.line(waited))

    def _shows(self, observation: Observation, watch: _Watch, now: float) -> bool:
        if self.level < 0:
            return False
        if observation.key != watch.shown_key:
            return self.level > 0 or now - watch.started >= self.patience
        since = now - watch.shown_at
        return since >= (self.min_interval if self.level > 0 else self.heartbeat)

    def _watch(self, key: tuple[str, str], now: float) -> _Watch:
        watch = self._watches.get(key)
        if watch is None:
            if len(self._watches) >= MAX_WATCHES:
                del self._watches[next(iter(self._watches))]
            watch = self._watches[key] = _Watch(started=now)
        return watch


def duration(seconds: float) -> str:
    """`14m10s`, `2h05m`, `45s`; a negative forecast is shown as it came."""
    if seconds < 0:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def short_id(ident: str) -> str:
    return ident if len(ident) <= 12 else ident[:8] + "…"


def _field(record: Mapping[str, Any], name: str | None) -> Any:
    if name is None:
        return None
    value: Any = record
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if value == value and abs(value) < 1e12 else None  # no NaN, no 1e308


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value if len(value) <= 80 else value[:79] + "…"
    return None
