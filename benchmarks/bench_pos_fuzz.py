"""POS fuzzing speed: our schemathesis-driven property tests against a plain
`st run` of the published document, on the same served simulator, one run.

Both talk HTTP to one `jobcontracts serve pos`-style server on 127.0.0.1 that
counts the requests it answers. A test case is one generated request and its
checks: for `st run`, schemathesis's own; for ours
(`tests/pos/test_schemathesis.py`, live mode, the jobs below passed with
`--pos-job-id`), schemathesis's generic checks plus every POS rule on the
trace. Reported: test cases, wall seconds, test cases per second, side by side.

Usage: python benchmarks/bench_pos_fuzz.py [--max-examples N] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from jobcontracts.clock import ScaledClock
from jobcontracts.serve import SimulatorApp, free_port
from jobcontracts.sims.pos import PosSimulator

ROOT = Path(__file__).resolve().parent.parent
KEY = "pos_bench_key"
DOCUMENT = ROOT / "specs" / "pos-adapter-scripts.openapi.yaml"


class CountingApp(SimulatorApp):
    def __init__(self, simulator: Any) -> None:
        super().__init__(simulator)
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await super().__call__(scope, receive, send)


@contextmanager
def served(app: CountingApp) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def timed(app: CountingApp, command: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    before = app.requests
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    return app.requests - before, elapsed, (done.stdout + done.stderr).strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25,
                        help="for `st run`; ours runs the jobcontracts profile's 25")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    app = CountingApp(PosSimulator(ScaledClock(20), seed=args.seed, api_keys=(KEY,)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POS_", "JOBCONTRACTS_"))}
    with served(app) as url, tempfile.TemporaryDirectory() as tmp:
        jobs = [str(httpx.post(f"{url}/api/v1/adapter-scripts/generate",
                               headers={"X-Api-Key": KEY},
                               json={"provider": "Square", "topic": topic}).json()["jobId"])
                for topic in ("smooth", "clarify flaky", "fail")]
        ours = [sys.executable, "-m", "pytest", "tests/pos/test_schemathesis.py", "-q",
                "-p", "no:cacheprovider", "-p", "no:xdist", f"--hypothesis-seed={args.seed}",
                "--hypothesis-profile", "jobcontracts", "--poll-interval", "0.05",
                *[f"--pos-job-id={job}" for job in jobs]]
        plain = [sys.executable, "-m", "schemathesis.cli", "run", str(DOCUMENT), "--url", url,
                 "-H", f"X-Api-Key: {KEY}", "-n", str(args.max_examples),
                 "--seed", str(args.seed), "--continue-on-failure", "--report-dir", tmp]
        results = {
            "ours (pytest, schemathesis + POS rules)":
                timed(app, ours, {**env, "POS_API_URL": url, "POS_API_KEY": KEY}),
            "plain `st run` of the published document": timed(app, plain, env),
        }
    print(f"POS simulator served on 127.0.0.1, {args.max_examples} examples per operation, "
          f"seed {args.seed}")
    print(f"{'':44} {'cases':>7} {'wall s':>8} {'cases/s':>9}")
    for name, (cases, elapsed, last) in results.items():
        print(f"{name:44} {cases:>7} {elapsed:>8.1f} {cases / elapsed:>9.1f}   ({last})")


if __name__ == "__main__":
    main()
