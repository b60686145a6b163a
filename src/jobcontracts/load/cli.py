"""`jobcontracts load API`: the options, the target, and the processes.

This process never imports Locust: it picks the target (the API's
environment variables, as the suite does; else the embedded simulator,
served on loopback in a process of its own, `server.py`), counts the
budgets in a directory every process of this machine shares, and runs the
Locust side (`python -m jobcontracts.load`, `run.py`) in a fresh process,
whose exit status it returns: 0 clean, 1 on any violation, 2 on a usage
or start-up error.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from ..apis import api_support

LOAD_APIS = ("specstep", "pos", "interrogation", "jobs")
#: The served simulator's default speed: a Fast SpecStep generation (~5
#: simulated minutes) in ~5 s, a POS job in ~2 s.
DEFAULT_SPEED = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("api", choices=LOAD_APIS)
    parser.add_argument("--users", type=int, default=8, help="concurrent Locust users")
    parser.add_argument("--spawn-rate", type=float, default=8.0, help="users started per second")
    parser.add_argument("--run-time", default="15", metavar="TIME",
                        help="how long to run: seconds, or Locust's 15s / 1m / 1h30m")
    parser.add_argument("--processes", type=int, default=0, metavar="N",
                        help="a Locust master on this machine and N worker processes")
    parser.add_argument("--master", action="store_true",
                        help="be the master of workers started elsewhere (--expect-workers)")
    parser.add_argument("--expect-workers", type=int, default=1, metavar="N")
    parser.add_argument("--worker", action="store_true",
                        help="be a worker of the master at --master-host")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--report", default=None, metavar="PATH",
                        help="write every rule's status and the load figures as JSON")
    parser.add_argument("--max-generations", type=int, default=None, metavar="N",
                        help="paid operations (generations, POS jobs, simulations, convert "
                             "and goal jobs) the run may create; default none against a "
                             "live target")
    parser.add_argument("--max-requests", type=int, default=None, metavar="N",
                        help="requests the run may send (default 2000 against a live target)")
    parser.add_argument("--request-timeout", type=float, default=30.0, metavar="S")
    parser.add_argument("--p95-ms", type=float, default=None, metavar="MS",
                        help="judge LOAD-LAT-1: each endpoint's p95 latency at most MS")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override a contract setting (racers, burst, live_burst, ...)")
    parser.add_argument("--contracts-dir", default=None, metavar="DIR")
    parser.add_argument("--sim-fault", action="append", default=[], metavar="NAME",
                        help="the embedded simulator's fault (its own, or a load-only one)")
    parser.add_argument("--sim-variant", type=int, default=0, metavar="N")
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                        help="the embedded simulator's clock speed (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)


def run_time_seconds(text: str) -> float:
    """`15`, `2.5`, `15s`, `1m`, `1h30m` → seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text.strip())
    if not text.strip() or parts is None or not any(parts.groups()):
        raise ValueError(f"--run-time {text!r}: seconds, or a span like 15s, 1m, 1h30m")
    h, m, s = (int(g or 0) for g in parts.groups())
    return float(h * 3600 + m * 60 + s)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..loader import ContractError
    from .config import LoadConfig, default_budgets, live_target
    from .racing import load_faults

    try:
        seconds = run_time_seconds(args.run_time)
    except ValueError as exc:
        parser.error(str(exc))
    settings = {}
    for item in args.setting:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            parser.error(f"--setting {item!r}: expected NAME=VALUE")
        settings[name] = yaml.safe_load(raw)
    if args.p95_ms is not None:
        settings["p95_ms"] = args.p95_ms
    support = api_support(args.api)
    known = {**support.faults, **load_faults(args.api)}
    unknown = [f for f in args.sim_fault if f not in known]
    if unknown:
        parser.error(f"unknown fault(s) {unknown} for {args.api}; known: "
                     f"{', '.join(sorted(known))}")
    try:
        probe = LoadConfig(args.api, "", "", False, settings=settings,
                           contracts_dir=args.contracts_dir).contract()
    except (ContractError, ValueError) as exc:
        print(f"jobcontracts load: {exc}", file=sys.stderr)
        return 2
    live = live_target(args.api, probe.contract.target)
    if args.worker and live is None:
        parser.error(f"a --worker drives a live target: set {probe.contract.target.url_env}")
    if live is not None and args.sim_fault:
        parser.error("--sim-fault needs the embedded simulator: unset "
                     f"{probe.contract.target.url_env}")
    generations, requests = default_budgets(live is not None, args.max_generations,
                                            args.max_requests)
    with (tempfile.TemporaryDirectory(prefix="jobcontracts-load-") as budgets,
          _target(args, live) as (base_url, api_key, speed, epoch)):
        config = LoadConfig(
            args.api, base_url, api_key, live is not None, speed=speed, epoch=epoch,
            max_generations=generations, max_requests=requests,
            request_timeout=args.request_timeout, budget_dir=budgets, settings=settings,
            contracts_dir=args.contracts_dir, seed=args.seed)
        where = "live server" if live else "embedded simulator"
        faults = f" with fault(s) {', '.join(args.sim_fault)}" if args.sim_fault else ""
        spend = (f"; budgets: {generations} paid, {requests} requests" if live else "")
        print(f"jobcontracts load: {args.api} on the {where} {base_url}{faults}, "
              f"{args.users} users, {seconds:g} s{spend}", file=sys.stderr, flush=True)
        return _locust(args, config, seconds)


def _locust(args: argparse.Namespace, config: object, seconds: float) -> int:
    from .config import CONFIG_ENV, LoadConfig

    assert isinstance(config, LoadConfig)
    role = "worker" if args.worker else "master" if args.master else "local"
    command = [sys.executable, "-m", "jobcontracts.load", "--role", role,
               "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
               "--run-time", str(seconds), "--processes", str(args.processes),
               "--master-host", args.master_host, "--master-port", str(args.master_port),
               "--expect-workers", str(args.expect_workers if args.master else 0)]
    if args.report:
        command += ["--report", str(Path(args.report).resolve())]
    if args.processes and not args.master and not args.worker:
        command[command.index("--master-port") + 1] = str(_free_port())
    env = {**os.environ, CONFIG_ENV: config.to_env()}
    return subprocess.call(command, env=env)


@contextmanager
def _target(args: argparse.Namespace,
            live: tuple[str, str] | None) -> Iterator[tuple[str, str, float, float]]:
    """(base URL, key, clock speed, clock epoch): the live server's, or the
    embedded simulator's, served until the run ends."""
    if live is not None:
        yield live[0], live[1], 1.0, 0.0
        return
    from ..serve import free_port

    port, epoch = free_port(), time.time()
    command = [sys.executable, "-m", "jobcontracts.load.server", args.api, "--port", str(port),
               "--speed", str(args.speed), "--epoch", repr(epoch), "--seed", str(args.seed),
               "--variant", str(args.sim_variant)]
    for fault in args.sim_fault:
        command += ["--fault", fault]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the {args.api} simulator did not start (exit {server.poll()}, "
                               f"said {line!r})")
        yield f"http://127.0.0.1:{port}", api_support(args.api).api_key, args.speed, epoch
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _free_port() -> int:
    from ..serve import free_port

    return free_port()
