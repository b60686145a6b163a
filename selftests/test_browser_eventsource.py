"""The document's minimal frontend example, unmodified, in headless Chromium
against the served Interrogation Agent simulator: a browser's own
`EventSource` must receive `simulation.completed` and its final answer.

The example calls relative URLs (`/api/simulations`, then `run.events_url`),
so the page is served from the simulator's own origin: a thin wrapper answers
`GET /` with the page and `POST /__report` with what the page logged, and
hands everything else to the simulator. The page reports each `console.log`
back, so no DevTools protocol is needed: the test waits for the final
answer, then ends the browser it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobcontracts.serve import SimulatorApp, make_simulator, serving

from .suite_runner import ROOT

DOCUMENT = ROOT / "specs" / "interrogation-agent-api.md"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
#: A run is at most ~150 simulated seconds: under 2 s of wall time at this speed.
SPEED = 100
WAIT_SECONDS = 60


def frontend_example() -> str:
    """The JavaScript of the document's "Minimal Frontend Example", as printed."""
    text = DOCUMENT.read_text(encoding="utf-8")
    start = text.index("```js\n", text.index("## Minimal Frontend Example")) + len("```js\n")
    return text[start : text.index("\n```", start)] + "\n"


HARNESS = """<!doctype html>
<html><head><meta charset="utf-8"><title>frontend example</title></head><body>
<script>
  // Report what the example logs to the server, in order, so that the test can read it.
  let sending = Promise.resolve();
  const report = (kind, args) => {
    const text = args.map((a) => typeof a === "string" ? a : JSON.stringify(a));
    const body = JSON.stringify([kind, text]);
    sending = sending.then(() => fetch("/__report", {method: "POST", body}));
  };
  console.log = (...args) => report("log", args);
  console.error = (...args) => report("error", args);
  window.addEventListener("error", (e) => report("uncaught", [String(e.message)]));
</script>
<script>
%s</script>
<script>
  createRun().catch((e) => report("rejected", [String(e)]));
</script>
</body></html>
"""


class PageAndSimulator:
    """The page at `/`, its reports at `/__report`, the simulator elsewhere."""

    def __init__(self, simulator: Any, page: str) -> None:
        self.simulator, self.page = simulator, page.encode()
        self.reports: list[list[Any]] = []
        self.done = threading.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/":
            return httpx.Response(200, content=self.page,
                                  headers={"Content-Type": "text/html; charset=utf-8"})
        if request.method == "POST" and request.url.path == "/__report":
            kind, args = json.loads(request.content)
            self.reports.append([kind, *args])
            if kind != "log" or args[:1] == ["final"]:
                self.done.set()
            return httpx.Response(204)
        return self.simulator.handle(request)


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs it (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


def test_frontend_example_receives_the_final_answer(tmp_path: Path) -> None:
    browser = chromium_or_skip()
    site = PageAndSimulator(make_simulator("interrogation", speed=SPEED, seed=5),
                            HARNESS % frontend_example())
    with serving(SimulatorApp(site), name="the page and simulator") as url:
        command = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"{url}/"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            finished = site.done.wait(WAIT_SECONDS)
        finally:
            _stop(process)
    logged = [report[1:] for report in site.reports]
    assert finished, f"no final answer within {WAIT_SECONDS} s; the page logged {logged}"
    assert all(report[0] == "log" for report in site.reports), logged
    (run,) = site.simulator.simulations.values()
    sent = sum(b"event: interview.message\n" in frame.raw for frame in run.frames)
    # Every interview.message reached the page, then simulation.completed with the answer.
    assert [args[0] for args in logged] == ["message"] * sent + ["final"], logged
    assert logged[-1] == ["final", run.final_answer], logged


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the browser this test started: its own process group, by id."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    if process.stderr is not None:
        process.stderr.close()
