"""`jobcontracts compare`: record the suite against the release twice and the
candidate once, with one seed, then diff (the one command a release pipeline adds).

Each recording is `pytest tests --api API --record DIR --hypothesis-seed SEED`
in a subprocess, with the API's URL and key variables set (see the contract's
`target:`). By default the first baseline run and the candidate run side by
side, then the second baseline run (`--schedule paired`): the release's two
recordings never share its server at once. Two at once would share what the
server holds for all its clients (a key's rate limit, its queue, the order
in which a seeded simulator draws its outcomes) and differ from the
candidate, which has a server to itself, in a way no deployment does: a
turn job that fails retryably in the candidate's run and in neither
baseline's was a false report, once in a CI run. `parallel` runs all three
at once (about one suite run's time, on a machine with the cores) where the
runs share nothing; `serial` runs one at a time.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..apis import API_NAMES
from ..loader import ContractError, load_contract
from ..recordings.recorded import RecordingError
from ..recordings.verify import contract_path
from .run import add_settings, diff_recordings, finish, settings_of

SCHEDULES = ("paired", "serial", "parallel")


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    key: str | None


@dataclass(frozen=True)
class Recorded:
    target: Target
    directory: Path
    returncode: int
    seconds: float
    summary: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", required=True, choices=API_NAMES)
    parser.add_argument("--baseline-url", required=True, metavar="URL",
                        help="the release the candidate replaces")
    parser.add_argument("--candidate-url", required=True, metavar="URL")
    parser.add_argument("--baseline-key", default=None, metavar="KEY",
                        help="default: the API's key variable (e.g. SPECSTEP_API_KEY)")
    parser.add_argument("--candidate-key", default=None, metavar="KEY")
    parser.add_argument("--seed", default=None, metavar="SEED",
                        help="the hypothesis seed of all three runs (default: drawn, printed)")
    parser.add_argument("--record-dir", default=None, metavar="DIR",
                        help="keep the three recordings here (default: a temporary directory)")
    parser.add_argument("--schedule", choices=SCHEDULES, default="paired",
                        help="paired (default): baseline and candidate side by side, then the "
                             "baseline again, so the release's two runs never share its "
                             "server; parallel: all three at once; serial: one at a time")
    parser.add_argument("--tests", default="tests", metavar="PATH",
                        help="the contract suite (default: %(default)s)")
    add_settings(parser)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS",
                        help="passed to each pytest run (budgets, --poll-interval, -k …)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        contract = load_contract(contract_path(args.api, args.contracts_dir))
    except ContractError as exc:
        print(f"jobcontracts compare: {exc}", file=sys.stderr)
        return 2
    env_key = os.environ.get(contract.target.key_env or "") if contract.target.key_env else None
    targets = [Target("baseline", args.baseline_url, args.baseline_key or env_key),
               Target("candidate", args.candidate_url, args.candidate_key or env_key),
               Target("baseline-again", args.baseline_url, args.baseline_key or env_key)]
    seed = str(args.seed or random.randrange(10**6))
    extra = list(args.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    root = Path(args.record_dir) if args.record_dir else Path(
        tempfile.mkdtemp(prefix="jobcontracts-compare-"))
    print(f"jobcontracts compare ({args.api}): seed {seed}, recordings in {root}", flush=True)
    started = time.perf_counter()
    recorded = record_all(args.api, targets, seed, root, extra, args.schedule, args.tests,
                          url_env=contract.target.url_env, key_env=contract.target.key_env)
    for item in recorded:
        print(f"  {item.target.name:<15} {item.target.url}: {item.summary} "
              f"({item.seconds:.1f} s)", flush=True)
    broken = [r for r in recorded if r.returncode not in (0, 1)]
    if broken:
        for item in broken:
            print(f"jobcontracts compare: the {item.target.name} run failed to run "
                  f"(pytest exit {item.returncode}); see {item.directory}.log", file=sys.stderr)
        return 2
    runs = {r.target.name: r.directory for r in recorded}
    try:
        result = diff_recordings(runs["baseline"], runs["candidate"], runs["baseline-again"],
                                 settings=settings_of(args), contract=args.api,
                                 contracts_dir=args.contracts_dir, judge=not args.no_rules,
                                 judge_baseline=args.judge_baseline)
    except RecordingError as exc:
        print(f"jobcontracts compare: {exc}", file=sys.stderr)
        return 2
    code = finish(result, args)
    print(f"jobcontracts compare: {time.perf_counter() - started:.1f} s in all", flush=True)
    return code


def record_all(api: str, targets: list[Target], seed: str, root: Path, extra: list[str],
               schedule: str, tests: str, *, url_env: str, key_env: str | None) -> list[Recorded]:
    """Run the three recordings as the schedule says; return them in `targets` order."""
    waves = {"serial": [[0], [1], [2]], "parallel": [[0, 1, 2]], "paired": [[0, 1], [2]]}
    done: dict[int, Recorded] = {}
    for wave in waves[schedule]:
        started = {i: _start(api, targets[i], seed, root, extra, tests, url_env, key_env)
                   for i in wave}
        for i, (process, directory, t0, log) in started.items():
            returncode = process.wait()
            log.close()
            done[i] = Recorded(targets[i], directory, returncode, time.perf_counter() - t0,
                               _last_line(Path(f"{directory}.log")))
    return [done[i] for i in range(len(targets))]


Started = tuple[subprocess.Popen[bytes], Path, float, IO[bytes]]


def _start(api: str, target: Target, seed: str, root: Path, extra: list[str], tests: str,
           url_env: str, key_env: str | None) -> Started:
    directory = root / target.name
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS",)}
    env[url_env] = target.url
    if key_env:
        if target.key:
            env[key_env] = target.key
        else:
            env.pop(key_env, None)
    command = [sys.executable, "-m", "pytest", tests, "--api", api, "--record", str(directory),
               f"--hypothesis-seed={seed}", "-q", "-p", "no:cacheprovider", *extra]
    log = Path(f"{directory}.log").open("wb")  # noqa: SIM115 (closed once the run ends)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, directory, time.perf_counter(), log


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip("= ") for line in log.read_text(errors="replace").splitlines()
                 if line.strip()]
    except OSError:
        return "no output"
    return lines[-1] if lines else "no output"
