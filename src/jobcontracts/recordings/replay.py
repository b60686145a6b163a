"""Replay a cassette through respx: a recorded session as a regression fixture.

Each hypothesis example of a test gets the next recorded trace. A request is
answered by the first not-yet-served interaction with the same method, URL
and body (both sides scrubbed alike), so identical polls are served in their
recorded order, and the virtual clock is moved to the recorded time, so time
rules judge the replay as they judged the recording. A request the cassette
does not hold is a `ReplayMismatch`: the code under test changed, re-record.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import respx

from ..clock import VirtualClock
from .cassette import read_cassette
from .scrub import Scrubber

#: Headers describing the recorded bytes on the wire, not the decoded body kept.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}


class ReplayMismatch(Exception):
    """The test sent a request its cassette does not hold."""


class CassetteReplay:
    """A test's cassette: its metadata and its traces, handed out in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.metadata, interactions = read_cassette(path)
        self.traces: list[list[dict[str, Any]]] = []
        last: Any = object()
        for item in interactions:
            mark = (item.get("jobcontracts") or {}).get("trace")
            if mark != last or not self.traces:
                self.traces.append([])
                last = mark
            self.traces[-1].append(item)
        self._next = 0

    def next_transport(self, clock: VirtualClock, scrub: Scrubber) -> httpx.MockTransport:
        """A transport for a new trace. It claims the next recorded trace on its
        first request, so a trace that sends nothing (a test's set-up before
        its hypothesis examples) claims none, as none was recorded for it."""
        claimed: list[TraceReplay] = []

        def handle(request: httpx.Request) -> httpx.Response:
            if not claimed:
                claimed.append(self._claim(clock, scrub))
            return claimed[0].router.handler(request)

        return httpx.MockTransport(handle)

    def _claim(self, clock: VirtualClock, scrub: Scrubber) -> TraceReplay:
        if self._next >= len(self.traces):
            raise ReplayMismatch(
                f"{self.path}: the test ran more traces than the {len(self.traces)} "
                "recorded; re-record it (was the seed or the test changed?)")
        self._next += 1
        return TraceReplay(self.traces[self._next - 1], clock, scrub,
                           f"{self.path} trace {self._next}")


class TraceReplay:
    def __init__(self, interactions: list[dict[str, Any]], clock: VirtualClock,
                 scrub: Scrubber, where: str) -> None:
        self.interactions = interactions
        self.served = [False] * len(interactions)
        self.clock, self.scrub, self.where = clock, scrub, where
        times = [float((i.get("jobcontracts") or {}).get("started_at", 0.0))
                 for i in interactions]
        self._shift = clock.now() - min(times, default=0.0) if any(times) else None
        self.router = respx.Router(assert_all_mocked=True, assert_all_called=False)
        self.router.route().mock(side_effect=self._serve)

    def _key(self, method: str, url: str, body: bytes) -> tuple[str, str, bytes]:
        return method.upper(), self.scrub.text(url), self.scrub.body(body)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        wanted = self._key(request.method, str(request.url), request.content)
        for index, item in enumerate(self.interactions):
            if self.served[index]:
                continue
            recorded = item["request"]
            body = recorded.get("body") or b""
            if self._key(recorded["method"], recorded["uri"],
                         body.encode("utf-8") if isinstance(body, str) else body) != wanted:
                continue
            self.served[index] = True
            return self._answer(item, request)
        pending = next((i["request"] for i, done in zip(self.interactions, self.served,
                                                         strict=True) if not done), None)
        expected = (f"{pending['method']} {pending['uri']}" if pending else "nothing more")
        raise ReplayMismatch(f"{self.where}: {request.method} {request.url} is not in the "
                             f"cassette (next recorded: {expected}); re-record it")

    def _answer(self, item: Mapping[str, Any], request: httpx.Request) -> httpx.Response:
        meta = item.get("jobcontracts") or {}
        block = meta.get("websocket")
        if isinstance(block, Mapping) and _code(item["response"]) == 101:
            # A recorded WebSocket connection: its messages at their recorded
            # times on this clock, then its close (see websocket.RecordedChannel).
            from ..websocket import ChannelStream, RecordedChannel, switching_protocols
            from .cassette import websocket_messages

            channel = RecordedChannel(websocket_messages(block.get("messages")),
                                      block.get("close_code"), self.clock, self._shift or 0.0)
            return switching_protocols(request, ChannelStream(channel))
        if self._shift is not None and "finished_at" in meta:
            lag = float(meta["finished_at"]) + self._shift - self.clock.now()
            if lag > 0:
                self.clock.advance(lag)
        response = item["response"]
        code = _code(response)
        if code == 0:
            error = str(meta.get("error") or "no answer")
            if "timed out" in error:
                raise httpx.ReadTimeout(error, request=request)
            raise httpx.ConnectError(error, request=request)
        headers = [(name, value) for name, values in (response.get("headers") or {}).items()
                   if name.lower() not in _WIRE_HEADERS
                   for value in (values if isinstance(values, list) else [values])]
        body = (response.get("body") or {}).get("string") or b""
        content = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return httpx.Response(code, headers=headers, content=content)


def _code(response: Mapping[str, Any]) -> int:
    status = response["status"]
    return int(status["code"] if isinstance(status, Mapping) else status)
