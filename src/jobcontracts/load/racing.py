"""Faults that only concurrency shows, in front of a served simulator.

A conforming simulator holds its lock for the whole of a request, so served
requests that race are applied one after another. These faults are what an
HTTP layer in front of a sound core does wrong under concurrency:

- a *check-then-commit window*: an idempotency store, a "is it paused?"
  check, an id allocator that checks, waits `WINDOW` seconds (the work
  between reading and writing), then commits; requests that arrive within
  the window all pass the check (`racing-idempotency-keys`,
  `racing-batches`, `colliding-ids`);
- a server that falls over past `MAX_IN_FLIGHT` requests at once
  (`500-under-load`, `429-under-load-without-retry-after`);
- latency that grows with the number of requests in flight
  (`latency-grows-with-load`).

They sleep on the wall clock, in the served path only (the server's
threadpool): no in-process run ever meets them. Sequential traffic sees
no difference but the window's delay on a first use.
"""

from __future__ import annotations

import importlib
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..apis import API_NAMES
from ..sims.common import Fault, error_response

WINDOW = 0.05
MAX_IN_FLIGHT = 4
LATENCY_PER_REQUEST = 0.25
#: The most `latency-grows-with-load` adds: a request must still be answered
#: within a short run, or its latency is never recorded.
MAX_LATENCY = 6.0


@dataclass(frozen=True)
class Endpoints:
    """Where each kind of racing request goes (method POST, path regexes)."""

    creates: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()


ENDPOINTS = {
    "specstep": Endpoints(creates=(r"^/v1/generations$",),
                          batches=(r"^/v1/generations/[^/]+/clarifications/answers$",)),
    "pos": Endpoints(creates=(r"^/api/v1/adapter-scripts/generate$",),
                     batches=(r"^/api/v1/adapter-scripts/jobs/[^/]+/respond$",)),
    "interrogation": Endpoints(creates=(r"^/api/simulations$",)),
    "jobs": Endpoints(creates=(r"^/v1/convert$", r"^/v1/goals$", r"^/v1/files$"),
                      batches=(r"^/v1/goals/[^/]+/slots/[^/]+$",)),
}


def load_faults(api: str) -> dict[str, Fault]:
    """The API's load-only faults (its `sims/<api>/faults.py` `LOAD_FAULTS`)."""
    if api not in API_NAMES:
        return {}
    table: dict[str, Fault] = importlib.import_module(f"jobcontracts.sims.{api}.faults").LOAD_FAULTS
    return table


class InFlight:
    """How many requests the server holds, from the moment it reads one to the
    moment it has answered it (counted by `server.py`'s ASGI layer, or else
    around `handle`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self) -> int:
        with self._lock:
            self.count += 1
            return self.count

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


@dataclass
class _Window:
    """One open check-then-commit window: its first request's answer, once it has one."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: httpx.Response | None = None


class RacingSimulator:
    """A simulator with load-only faults in front of its `handle`; every
    other attribute (`connect_events`, …) is the simulator's."""

    def __init__(self, simulator: Any, api: str, faults: Iterable[str],
                 in_flight: InFlight | None = None) -> None:
        self._simulator = simulator
        self.in_flight = in_flight
        """The server's own count; None: count the requests inside `handle`."""
        self.faults = frozenset(faults)
        known = load_faults(api)
        unknown = sorted(self.faults - set(known))
        if unknown:
            raise ValueError(f"unknown load fault(s) {unknown} for {api}; known: "
                             f"{', '.join(sorted(known))}")
        spots = ENDPOINTS.get(api, Endpoints())
        self._creates = [re.compile(r) for r in spots.creates]
        self._batches = [re.compile(r) for r in spots.batches]
        self._lock = threading.Lock()
        self._in_flight = 0
        self._claims: dict[tuple[str, str, str], _Window] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._renamed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._simulator, name)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.in_flight is not None:
            return self._handle(request, self.in_flight.count)
        with self._lock:
            self._in_flight += 1
            in_flight = self._in_flight
        try:
            return self._handle(request, in_flight)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handle(self, request: httpx.Request, in_flight: int) -> httpx.Response:
        if "latency-grows-with-load" in self.faults:
            time.sleep(min(MAX_LATENCY, LATENCY_PER_REQUEST * (in_flight - 1)))
        if in_flight > MAX_IN_FLIGHT:
            if "500-under-load" in self.faults:
                return error_response(500, "INTERNAL_ERROR",
                                      f"worker pool exhausted ({in_flight} in flight)")
            if "429-under-load-without-retry-after" in self.faults:
                return error_response(429, "RATE_LIMITED", "server busy")
        path = request.url.path
        if request.method == "POST":
            key = request.headers.get("idempotency-key")
            if key is not None and "racing-idempotency-keys" in self.faults:
                return self._racing_key(request, key)
            if "racing-batches" in self.faults and any(r.search(path) for r in self._batches):
                return self._shared_window(request)
            if "colliding-ids" in self.faults and any(r.search(path) for r in self._creates):
                return self._shared_window(request)
        return self._forward(request)

    def _forward(self, request: httpx.Request) -> httpx.Response:
        answer: httpx.Response = self._simulator.handle(request)
        return answer

    def _racing_key(self, request: httpx.Request, key: str) -> httpx.Response:
        """Check the key, wait out the window, commit: a key first seen by
        several requests at once is committed by each (all but the first
        under a key of its own, so that the simulator makes a new job).

        A first request the simulator refuses (any non-2xx answer: a 429
        comes before the store) commits nothing and frees the key; the
        requests racing it then go on under the key as a sound store would.
        Otherwise a refused first and its later retry would make the second
        job outside any race, which LOAD-IDEM-1 cannot tell from a lawful key
        reuse."""
        scope = (request.headers.get("authorization", ""), request.url.path, key)
        with self._lock:
            seen = scope in self._claims
        if seen:
            return self._forward(request)
        time.sleep(WINDOW)
        with self._lock:
            claim = self._claims.get(scope)
            first = claim is None
            if claim is None:
                claim = self._claims[scope] = _Window()
            else:
                self._renamed += 1
            renamed = f"{key}.r{self._renamed}"
        if first:
            try:
                answer = self._forward(request)
                claim.answer = answer
            finally:
                with self._lock:
                    if claim.answer is None or claim.answer.status_code >= 300:
                        self._claims.pop(scope, None)
                claim.done.set()
            return answer
        claim.done.wait(timeout=5)
        if claim.answer is None or claim.answer.status_code >= 300:
            return self._forward(request)
        headers = [(k, v) for k, v in request.headers.multi_items()
                   if k.lower() != "idempotency-key"] + [("Idempotency-Key", renamed)]
        return self._forward(httpx.Request(request.method, request.url, headers=headers,
                                           content=request.content))

    def _shared_window(self, request: httpx.Request) -> httpx.Response:
        """The first request to a resource opens a window, then commits; any
        request to it within the window passes the same check and answers
        as the first did (applied, or created with the first one's id)."""
        spot = (request.headers.get("authorization", "")
                + request.headers.get("x-api-key", ""), request.url.path)
        with self._lock:
            window = self._windows.get(spot)
            opener = window is None
            if window is None:
                window = self._windows[spot] = _Window()
        if not opener:
            window.done.wait(timeout=5)
            if window.answer is not None and window.answer.status_code < 300:
                return _copy(window.answer)
            return self._forward(request)
        try:
            time.sleep(WINDOW)
            answer = self._forward(request)
            window.answer = _copy(answer)
            return answer
        finally:
            window.done.set()
            with self._lock:
                self._windows.pop(spot, None)


def _copy(answer: httpx.Response) -> httpx.Response:
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.read())
