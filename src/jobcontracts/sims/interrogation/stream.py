"""The body of `GET /api/simulations/{id}/events`: a byte stream paced by a clock.

The stream yields `sse.connected`, then each frame once it is due, sleeping on
the simulator's clock in between: instant on a `VirtualClock` (reading the
stream moves simulated time forward), real on the served `ScaledClock`. It
never holds the simulator's lock; a run's frames are immutable once planned.

While nothing is due for `keepalive` simulated seconds it sends a comment
line (`ping`: `: keep-alive` by default; a variant may send another comment,
one followed by a blank line, which a WHATWG parser ignores, or none). After
the terminal event it stays open `linger` seconds more, then ends.

Waits are cut into slices of at most `slice_seconds` so that `close()`, from
any thread, stops the stream within one slice.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Iterator, Sequence

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.interrogation.run import Frame, is_due

KEEPALIVE = b": keep-alive\n"


class EventStream(httpx.SyncByteStream):
    def __init__(
        self,
        clock: Clock,
        created: float,
        connected: bytes,
        frames: Sequence[Frame],
        ends: float,
        *,
        keepalive: float = 15.0,
        slice_seconds: float = 1.0,
        ping: bytes | None = KEEPALIVE,
        linger: float = 0.0,
    ) -> None:
        self._clock = clock
        self._created = created
        self._connected = connected
        self._frames = tuple(frames)
        self._ends = ends
        self.keepalive = keepalive
        self.ping = ping
        self.linger = linger
        self.slice_seconds = slice_seconds
        self._closed = threading.Event()
        self._active: Generator[bytes, None, None] | None = None
        self._quiet_since = 0.0

    def __iter__(self) -> Iterator[bytes]:
        self._active = self._generate()
        return self._active

    def close(self) -> None:
        """Stop the stream. Safe from any thread, even while it is waiting."""
        self._closed.set()
        active = self._active
        if active is not None:
            # ValueError: running in another thread, it stops at its next slice.
            with contextlib.suppress(ValueError):
                active.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        """Block until the stream is closed (a client hung up), or `timeout` wall seconds."""
        return self._closed.wait(timeout)

    def _generate(self) -> Generator[bytes, None, None]:
        if self.closed:
            return
        self._quiet_since = self._clock.now()
        yield self._connected
        for frame in self._frames:
            if not (yield from self._wait_until(self._created + frame.offset)):
                return
            self._quiet_since = self._clock.now()
            yield frame.raw
        yield from self._wait_until(self._created + self._ends + self.linger)

    def _wait_until(self, due: float) -> Generator[bytes, None, bool]:
        """Sleep until `due`, with keep-alives; False if the stream was closed."""
        while not self.closed:
            now = self._clock.now()
            if is_due(now, due):
                return True
            ping_at = self._quiet_since + self.keepalive if self.ping else float("inf")
            if self.ping and is_due(now, ping_at):
                self._quiet_since = now
                yield self.ping
                continue
            self._clock.sleep(min(due - now, ping_at - now, self.slice_seconds))
        return False
