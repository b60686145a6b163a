"""The server side of one goal-event WebSocket, sans-IO.

`JobsSimulator.connect_events(request)` checks the upgrade request (key,
job, `after_seq`) and hands back an `EventChannel`; a transport (a real
WebSocket served by starlette, or an in-process one) carries its messages.
`receive()` gives the next text message, one `GoalEvent` as JSON, waiting on
the simulator's clock until the job produces one: instant on a
`VirtualClock` (receiving moves simulated time to the next event's due
time), real on the served `ScaledClock`. After `keepalive_seconds` of
quiet it has the job log a `keepalive` event and sends that. After the
terminal event (JOB-EVT-2) the server closes: `close_code` is 1000 and
`receive()` returns None ever after. `close()` (the client went away) stops
a wait under way within one slice, from any thread; `close_code` then stays
None.

The channel holds the simulator's lock only to advance the job and read its
log, never while it waits, so other requests go on meanwhile.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from jobcontracts.clock import Clock
from jobcontracts.sims.jobs.goals import Goal, GoalEvent

NORMAL_CLOSURE = 1000
#: Slack when comparing a clock reading with a due time (sums of float sleeps).
EPSILON = 1e-6


class EventChannel:
    """One event connection's server side."""

    def __init__(
        self,
        goal: Goal,
        after_seq: int,
        *,
        clock: Clock,
        lock: AbstractContextManager[Any],
        now: Callable[[], float],
        render: Callable[[GoalEvent], dict[str, Any]],
        keepalive_seconds: float,
        replay_last: bool = False,
        slice_seconds: float = 0.5,
    ) -> None:
        self.goal = goal
        self.after_seq = after_seq
        self.close_code: int | None = None
        self.keepalive_seconds = keepalive_seconds
        self.slice_seconds = slice_seconds
        self._clock = clock
        self._lock = lock
        self._now = now
        self._render = render
        self._closed = threading.Event()
        with lock:
            start = now()
            goal.advance(start)
            self._cursor = next((i for i, e in enumerate(goal.events)
                                 if e.seq > after_seq or (replay_last and e.seq == after_seq)),
                                len(goal.events))
        self._quiet_since = start
        self._replaying = replay_last and self._cursor < len(goal.events)
        """The one event at `after_seq` that `resume-replays` sends again first."""

    @property
    def closed(self) -> bool:
        """The connection is over: the server closed it, or the client went away."""
        return self._closed.is_set()

    def close(self) -> None:
        """The client went away. Safe from any thread, even while `receive` waits."""
        self._closed.set()

    def receive(self) -> str | None:
        """The next message, or None once the connection is closed."""
        while not self._closed.is_set():
            with self._lock:
                now = self._now()
                self.goal.advance(now)
                events = self.goal.events
                if self._cursor < len(events):
                    event = events[self._cursor]
                    self._cursor += 1
                    if event.seq <= self.after_seq and not self._replaying:
                        continue  # only `event-seq-repeats` emits one: not for this client
                    self._replaying = False
                    self._quiet_since = now
                    if self.goal.terminal and self._cursor >= len(events):
                        self._server_close()
                    return json.dumps(self._render(event), ensure_ascii=True)
                if self.goal.terminal:
                    self._server_close()
                    return None
                ping_at = self._quiet_since + self.keepalive_seconds
                if now >= ping_at - EPSILON:
                    self.goal.keepalive(now)
                    self._quiet_since = now
                    continue
                due = self.goal.next_due()
            wait = min(ping_at - now, self.slice_seconds)
            if due is not None:
                wait = min(wait, due - now)
            self._clock.sleep(max(wait, EPSILON))
        return None

    def _server_close(self) -> None:
        self.close_code = NORMAL_CLOSURE
        self._closed.set()
