"""POS fuzzing speed, side by side in one run: ours against `st run` on one
served simulator and the same operations, and ours in-process against the
floor, raw `httpx.MockTransport` exchanges.

Rows, all in this one process's run:

- ours, live: `pytest tests/pos/test_schemathesis.py` against a
  `jobcontracts serve pos`-style server on 127.0.0.1 (live mode: the jobs
  created below passed with `--pos-job-id`, the paid create left out), the
  jobcontracts hypothesis profile (25 examples per operation): each case is
  schemathesis's generic checks plus every POS rule (`Fuzz.check`).
- `st run`: the same server, the same document and operations (the one ours
  fuzzes, `fuzzing.fuzzed_document`, written to a file), the same checks
  (`fuzzing.GENERIC_CHECKS`; none of st's checks that send requests of their
  own, so that a request is a case on both sides), `-n 25`, the same phases
  (examples, coverage, fuzzing), the same seed, one worker.
- ours, in-process: the same test on the embedded simulator (no HTTP; its
  own jobs, so the paid create is fuzzed too: 3 operations).
- floor: the requests ours sent live, replayed through
  `httpx.Client(transport=httpx.MockTransport(simulator.handle))` to the
  same simulator object, with nothing of the suite or of schemathesis.

Counted the same way on both sides of each ratio. Cases: for the served rows,
the requests the server answered (one per case on both sides; the plugin's
count of `Fuzz.check` calls is shown for ours as a cross-check); in-process,
`Fuzz.check` calls. Two rates: *wall*, over the whole subprocess (interpreter
start, imports, collection, teardown: each tool's start-up counted for it);
*fuzzing*, over the span from the first request's arrival to the last answer
(at the server for the served rows; around `Fuzz.check` in-process): start-up
counted for neither. `start s` (to the first request) and `end s` (after
the last answer) are the rest of the wall time. Both tools run as a user
runs them: bytecode caches kept (this sandbox's PYTHONDONTWRITEBYTECODE is
dropped for the subprocesses) and one unmeasured round first. The machine
is shared and noisy, so every row is measured `--rounds` times, interleaved
(who goes first alternates); a row shows its median round, a ratio the
median of the rounds' own ratios, with its range.
"before" is today's code with the per-case judging put back as it was
(`judge_trace` over the whole trace after every case, `BENCH_FUZZ_WHOLE_TRACE`).

Profile (cProfile of ours, live, 83 cases, cumulative seconds; profiler
overhead included, so only the proportions mean much):

    before (main)                                 calls  cum s
    pytest_runtestloop                                1   6.50
    hypothesis engine (generation + test body)       11   5.29
    fuzzing.py Fuzz.check                            83   3.95
    schemathesis Case.validate_response              83   2.89
    oracles/judge.py judge_trace (whole trace)       85   2.71
    oracles/openapi.py openapi_response              85   2.17
    oracles/openapi.py _problem (jsonschema)       1357   2.10
    client.py Client.request (HTTP)                  83   0.95
    oracles/requests.py status_for                  255   0.30
    fuzzing.py _as_schemathesis_response             83   0.09

    after                                         calls  cum s
    pytest_runtestloop                                1   4.44
    hypothesis engine (generation + test body)       11   3.61
      schemathesis openapi_cases                     52   2.30
    fuzzing.py Fuzz.check                            83   1.40
    client.py Client.request (HTTP)                  83   0.77
    schemathesis Case.validate_response              83   0.59
    oracles/judge.py judge_exchange                  83   0.34
    oracles/openapi.py openapi_response              85   0.26
    fuzzing.py _as_schemathesis_response             83   0.02

Without the profiler, the per-case judging of this test's two traces (35
and 48 exchanges) replayed warm: 4.1 ms a case with `judge_trace`, 0.5 ms
with `judge_exchange`; what is left of a case is mostly schemathesis's
generation, which `st run` pays too.

Outside the fuzzing span (a hook timeline of ours, live, idle, at eb41c4e:
1.16 s to the first request against 0.58 s for `st run`):

    pytest imported                               0.14 s
    entry-point plugins (schemathesis 0.30)       0.47 s
    the suite's hooks at configure (rule kinds)   0.23 s
    collection (schemathesis from_dict 0.16)      0.31 s

`st run` pays schemathesis's imports too; pytest and its other plugins
(about 0.35 s) are the fixed price of being a pytest plugin. After the last
answer: pytest's unraisable-exception `gc.collect()` passes and the suite's
report (0.04 s).

Usage: python benchmarks/bench_pos_fuzz.py [--max-examples N] [--seed S] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from jobcontracts.clock import ScaledClock
from jobcontracts.fuzzing import GENERIC_CHECKS, fuzzed_document
from jobcontracts.serve import SimulatorApp, free_port
from jobcontracts.sims.pos import PosSimulator

ROOT = Path(__file__).resolve().parent.parent
KEY = "pos_bench_key"
CONTRACT = ROOT / "contracts" / "pos_adapter_scripts.yaml"
TEST = "tests/pos/test_schemathesis.py"
#: A pytest plugin counting `Fuzz.check` calls and timing the span they cover.
CASES_PLUGIN = '''
import json, os, time
from jobcontracts import fuzzing

STATS = {"cases": 0, "first": None, "last": None}
_check = fuzzing.Fuzz.check


def check(self, case):
    start = time.perf_counter()
    try:
        return _check(self, case)
    finally:
        STATS["cases"] += 1
        STATS["first"] = STATS["first"] or start
        STATS["last"] = time.perf_counter()


fuzzing.Fuzz.check = check
if os.environ.get("BENCH_FUZZ_WHOLE_TRACE"):
    # As before `judge_exchange`: every rule on the whole trace after every case.
    from jobcontracts.oracles import judge_trace

    def whole_trace(contract, trace, exchange):
        return [v for o in judge_trace(contract, trace).values() for v in o.violations
                if any(ex.seq == exchange.seq for ex in v.exchanges)]

    fuzzing.judge_exchange = whole_trace


def pytest_unconfigure(config):
    with open(os.environ["BENCH_FUZZ_STATS"], "w") as out:
        json.dump(STATS, out)
'''


@dataclass(frozen=True)
class Seen:
    """One request the server answered, as sent, with when it came and went."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    arrived: float
    answered: float


class CountingApp(SimulatorApp):
    """The served simulator, keeping every request it answers."""

    def __init__(self, simulator: Any) -> None:
        super().__init__(simulator)
        self.seen: list[Seen] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        arrived, chunks = time.perf_counter(), []

        async def receiving() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        await super().__call__(scope, receiving, send)
        query = scope.get("query_string", b"").decode("latin-1")
        self.seen.append(Seen(scope["method"], scope["path"] + (f"?{query}" if query else ""),
                              [(k.decode("latin-1"), v.decode("latin-1"))
                               for k, v in scope["headers"]],
                              b"".join(chunks), arrived, time.perf_counter()))


@dataclass(frozen=True)
class Row:
    name: str
    cases: int
    wall: float
    span: float
    lead: float = 0.0
    """From the process's start to the first request (start-up, collection)."""
    note: str = ""

    @property
    def tail(self) -> float:
        """From the last answer to the process's exit (judging, reports, teardown)."""
        return self.wall - self.lead - self.span

    @property
    def wall_rate(self) -> float:
        return self.cases / self.wall

    @property
    def span_rate(self) -> float:
        return self.cases / self.span if self.span else 0.0


def median(rows: list[Row]) -> Row:
    """The round with the median fuzzing rate (its wall rate is shown with it)."""
    ordered = sorted(rows, key=lambda row: row.span_rate)
    return ordered[len(ordered) // 2]


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


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run to the end: when it started (`perf_counter`, the same clock in every
    process on Linux), how long it took, its summary line."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    lines = (done.stdout + done.stderr).strip().splitlines()
    return start, elapsed, next((line.strip("= ") for line in reversed(lines)
                          if " in " in line and ("passed" in line or "failed" in line)),
                         lines[-1].strip("= ") if lines else "")


def served_row(name: str, app: CountingApp, command: list[str],
               env: dict[str, str]) -> tuple[Row, list[Seen]]:
    before = len(app.seen)
    start, wall, last = run(command, env)
    seen = app.seen[before:]
    if not seen:
        return Row(name, 0, wall, 0.0, wall, last), seen
    return Row(name, len(seen), wall, seen[-1].answered - seen[0].arrived,
               seen[0].arrived - start, last), seen


def plugin_stats(path: Path) -> dict[str, Any]:
    stats: dict[str, Any] = json.loads(path.read_text())
    return stats


def floor(app: CountingApp, requests: list[Seen]) -> Row:
    """The same requests, raw, through `httpx.MockTransport` to the simulator."""
    start = time.perf_counter()
    with httpx.Client(transport=httpx.MockTransport(app.simulator.handle),
                      base_url="http://pos.invalid") as client:
        first = time.perf_counter()
        for seen in requests:
            client.send(client.build_request(seen.method, seen.target, headers=seen.headers,
                                             content=seen.body)).read()
        last = time.perf_counter()
    return Row(FLOOR, len(requests), time.perf_counter() - start, last - first,
               first - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25,
                        help="for `st run`; ours runs the jobcontracts profile's 25")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3,
                        help="each row this many times, interleaved; the median is shown")
    args = parser.parse_args()
    app = CountingApp(PosSimulator(ScaledClock(20), seed=args.seed, api_keys=(KEY,)))
    # A user's environment: bytecode caches written and read (this sandbox sets
    # PYTHONDONTWRITEBYTECODE, which makes pytest rewrite every plugin module
    # on every start and st recompile what it imports).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POS_", "JOBCONTRACTS_")) and k != "PYTHONDONTWRITEBYTECODE"}
    rows: dict[str, list[Row]] = {}
    with served(app) as url, tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench_fuzz_cases.py").write_text(textwrap.dedent(CASES_PLUGIN))
        stats = Path(tmp) / "stats.json"
        document = Path(tmp) / "pos.fuzzed.openapi.json"
        os.environ["POS_API_URL"] = url  # the operations ours leaves out live
        document.write_text(json.dumps(fuzzed_document(CONTRACT)))
        del os.environ["POS_API_URL"]
        jobs = [str(httpx.post(f"{url}/api/v1/adapter-scripts/generate",
                               headers={"X-Api-Key": KEY},
                               json={"provider": "Square", "topic": topic}).json()["jobId"])
                for topic in ("smooth", "clarify flaky", "fail")]
        pytest = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider",
                  "-p", "no:xdist", "-p", "bench_fuzz_cases", f"--hypothesis-seed={args.seed}",
                  "--hypothesis-profile", "jobcontracts", "--poll-interval", "0.05"]
        plugin_env = {**env, "BENCH_FUZZ_STATS": str(stats),
                      "PYTHONPATH": os.pathsep.join(filter(None, [tmp, env.get("PYTHONPATH")]))}
        live_env = {**plugin_env, "POS_API_URL": url, "POS_API_KEY": KEY}
        live = [*pytest, *[f"--pos-job-id={job}" for job in jobs]]
        plain = [sys.executable, "-m", "schemathesis.cli", "run", str(document), "--url", url,
                 "-H", f"X-Api-Key: {KEY}", "-n", str(args.max_examples),
                 "--seed", str(args.seed), "--phases", "examples,coverage,fuzzing",
                 "--workers", "1", "--checks", ",".join(c.__name__ for c in GENERIC_CHECKS),
                 "--continue-on-failure", "--report-dir", tmp]
        sent: list[Seen] = []
        checked = 0

        def ours() -> Row:
            nonlocal sent, checked
            row, seen = served_row(OURS, app, live, live_env)
            sent, checked = sent or seen, plugin_stats(stats)["cases"]
            return row

        def before() -> Row:
            return served_row(BEFORE, app, live, {**live_env, "BENCH_FUZZ_WHOLE_TRACE": "1"})[0]

        def st() -> Row:
            return served_row(ST, app, plain, env)[0]

        def inprocess() -> Row:
            start, wall, last = run(pytest, plugin_env)
            local = plugin_stats(stats)
            return Row(INPROCESS, local["cases"], wall, local["last"] - local["first"],
                       local["first"] - start, last)

        order = [ours, st, before, inprocess]
        for measure in order:  # unmeasured: both start warm, as a user's second run does
            measure()
        sent = []
        for r in range(args.rounds):
            for measure in order[r % 2:] + order[:r % 2]:  # who goes first alternates
                row = measure()
                rows.setdefault(row.name, []).append(row)
        rows[FLOOR] = [floor(app, sent)]
    shown = {name: median(found) for name, found in rows.items()}
    print(f"POS simulator served on 127.0.0.1, {args.max_examples} examples per operation, "
          f"seed {args.seed}, median of {args.rounds} interleaved rounds; "
          f"{checked} `Fuzz.check` calls in ours, live")
    print(f"{'':48} {'cases':>5} {'wall s':>7} {'/s':>6} {'fuzzing s':>9} {'/s':>7} "
          f"{'start s':>7} {'end s':>6}")
    for row in shown.values():
        print(f"{row.name:48} {row.cases:>5} {row.wall:>7.2f} {row.wall_rate:>6.1f} "
              f"{row.span:>9.2f} {row.span_rate:>7.1f} {row.lead:>7.2f} {row.tail:>6.2f}   "
              f"{row.note}")
    print("ratios: the median over rounds of each round's own ratio (the two rows were "
          "measured back to back), min-max in brackets")
    for a, b in ((OURS, ST), (BEFORE, ST), (OURS, BEFORE), (INPROCESS, FLOOR)):
        pairs = list(zip(rows[a], rows[b] * args.rounds if b == FLOOR else rows[b],
                         strict=False))
        wall = sorted(x.wall_rate / y.wall_rate for x, y in pairs)
        fuzzing = sorted(x.span_rate / y.span_rate for x, y in pairs)
        print(f"  {a.split(' (')[0]} / {b.split(' (')[0].split(':')[0]}: "
              f"{ratio(wall)} wall, {ratio(fuzzing)} fuzzing")


def ratio(values: list[float]) -> str:
    return f"{values[len(values) // 2]:.2f}x [{values[0]:.2f}-{values[-1]:.2f}]"

OURS = "ours, live (schemathesis + every POS rule)"
BEFORE = "ours, live, before (whole trace judged per case)"
ST = "`st run` (same document, operations, checks)"
INPROCESS = "ours, in-process (embedded simulator)"
FLOOR = "floor: the same requests, raw MockTransport"


if __name__ == "__main__":
    main()
