"""An event stream that never ends is a failed rule (IA-SSE-2), never a hung
run: the Interrogation Agent suite over real HTTP against a served simulator
whose event streams misbehave in one chosen way."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from jobcontracts.serve import SimulatorApp, make_simulator, serving

from .suite_runner import run_suite

#: What an engine traceback would print: a surprising stream must fail a rule instead.
ENGINE_ERRORS = re.compile(r"\b(KeyError|TypeError|AttributeError|IndexError|JSONDecodeError|"
                           r"ValueError|INTERNALERROR|UnicodeDecodeError)\b")

KEEPALIVE = b": keep-alive\n"
CONNECTED = (b'event: sse.connected\ndata: {"event": "sse.connected", "timestamp": 1768859331.1, '
             b'"payload": {"status": "running"}, "simulation_id": "%s"}\n\n')
MODES = ("forever", "silent", "left-open")
ARGS = ["--api", "interrogation", "-k", "test_failed_run",
        "--max-generations", "1", "--live-deadline", "3", "--request-timeout", "1",
        "--poll-interval", "0.2", "--contract-setting", "stream_end_grace_seconds=1"]


class Hostile(httpx.SyncByteStream):
    """`forever`: sse.connected, then keep-alives and never an event; `silent`:
    not a byte; `left-open`: the run's own events, then keep-alives, never
    closing. Stops when closed (the client hung up)."""

    def __init__(self, mode: str, simulation_id: str, inner: httpx.Response) -> None:
        self.mode, self.simulation_id, self.inner = mode, simulation_id, inner
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        if self.mode == "left-open":
            yield from self.inner.iter_raw()
        elif self.mode == "forever":
            yield CONNECTED % self.simulation_id.encode()
        while not self.closed.wait(0.1):
            if self.mode != "silent":
                yield KEEPALIVE

    def close(self) -> None:
        self.closed.set()
        self.inner.close()


class HostileStreams:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.simulator = make_simulator("interrogation", speed=100)

    def handle(self, request: httpx.Request) -> httpx.Response:
        answer = self.simulator.handle(request)
        found = re.fullmatch(r"/api/simulations/([^/]+)/events", request.url.path)
        if found is None or answer.status_code != 200:
            return answer
        return httpx.Response(200, headers=answer.headers,
                              stream=Hostile(self.mode, found.group(1), answer))


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_does_not_end_fails_its_rule(tmp_path, mode):
    started = time.monotonic()
    with serving(SimulatorApp(HostileStreams(mode)), name=f"a {mode} stream") as url:
        run = run_suite(tmp_path, *ARGS, env={"INTERROGATION_API_URL": url}, timeout=240)
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {"IA-SSE-2"}, run.output[-3000:]
    expected = {"forever": "has no terminal event (simulation.completed/simulation.error): "
                           "stream deadline: no terminal event within 3 s",
                "silent": "has no terminal event (simulation.completed/simulation.error): "
                          "timed out (ReadTimeout)",
                "left-open": "the stream did not end after simulation.error"}[mode]
    assert expected in run.output, run.output[-3000:]
    assert not ENGINE_ERRORS.search(run.output), ENGINE_ERRORS.search(run.output)
    assert time.monotonic() - started < 120
