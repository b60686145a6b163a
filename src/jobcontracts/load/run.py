"""Run the Locust side of a load run: a local runner, or a master and its
workers (started here with `--processes N`, or anywhere with `--worker`).

The master (or the local runner) collects every scenario's trace as the
workers send it, stops the users at the end of `--run-time`, waits for each
worker to say it has sent everything (`jobcontracts:done`), then judges
(`judging.py`), prints the bug report and the figures, writes `--report`
and returns the exit status: 1 on any violation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust.env import Environment
from locust.runners import MasterRunner, Runner

from ..recordings.scrub import Scrubber
from .config import CONFIG_ENV, LoadConfig
from .judging import Collector, Recorded, judge, print_summary, write_report
from .users import DONE_MESSAGE, TRACE_MESSAGE, user_class

#: How long the master waits for the workers' last traces after stopping them.
FLUSH_SECONDS = 20.0


@dataclass(frozen=True)
class Plan:
    users: int
    spawn_rate: float
    run_time: float
    processes: int = 0
    role: str = "local"
    """`local`, `master` or `worker`."""
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    expect_workers: int = 0
    report: str | None = None


def listen(runner: Runner, collector: Collector) -> None:
    def on_trace(environment: Environment, msg: Any, **_: Any) -> None:
        collector.add(msg.data)

    def on_done(environment: Environment, msg: Any, **_: Any) -> None:
        collector.workers_done.add(str(msg.node_id))

    runner.register_message(TRACE_MESSAGE, on_trace)
    runner.register_message(DONE_MESSAGE, on_done)


def worker(config: LoadConfig, plan: Plan) -> int:
    env = Environment(user_classes=[user_class(config)])
    runner = env.create_worker_runner(plan.master_host, plan.master_port)

    def on_test_stop(environment: Environment, **_: Any) -> None:
        runner.send_message(DONE_MESSAGE, {})

    env.events.test_stop.add_listener(on_test_stop)  # type: ignore[no-untyped-call]
    assert runner.greenlet is not None
    runner.greenlet.join()
    return 0


def drive(config: LoadConfig, plan: Plan) -> int:
    """Local runner or master: run, collect, judge, report."""
    env = Environment(user_classes=[user_class(config)])
    collector = Collector()
    children: list[subprocess.Popen[bytes]] = []
    if plan.role == "local" and not plan.processes:
        runner: Runner = env.create_local_runner()
        expected = 0
    else:
        runner = env.create_master_runner(master_bind_host=plan.master_host,
                                          master_bind_port=plan.master_port)
        expected = plan.processes or plan.expect_workers
        children = [_start_worker(config, plan) for _ in range(plan.processes)]
    listen(runner, collector)
    try:
        if isinstance(runner, MasterRunner):
            _await_workers(runner, expected, children)
        started = time.monotonic()
        runner.start(plan.users, plan.spawn_rate)
        gevent.sleep(plan.run_time)
        runner.stop()
        wall = time.monotonic() - started
        if isinstance(runner, MasterRunner):
            deadline = time.monotonic() + FLUSH_SECONDS
            while len(collector.workers_done) < expected and time.monotonic() < deadline:
                gevent.sleep(0.1)
    finally:
        runner.quit()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return report(config, plan, collector.recorded, wall, len(collector.workers_done), expected)


def report(config: LoadConfig, plan: Plan, recorded: list[Recorded], wall: float,
           done: int, expected: int) -> int:
    load = config.contract()
    judging = time.monotonic()
    judged = judge(load, recorded, clock_speed=config.speed, wall_seconds=wall)
    judging = time.monotonic() - judging
    scrub = Scrubber([config.api_key] if config.api_key else [])
    print_summary(judged, sys.stdout, config.api, scrub)
    if expected and done < expected:
        print(f"jobcontracts load: only {done} of {expected} worker(s) reported their "
              "last traces in time; what they sent is judged", file=sys.stderr)
    run = {"api": config.api, "target": "live" if config.live else "simulator",
           "base_url": config.base_url, "users": plan.users, "spawn_rate": plan.spawn_rate,
           "run_time_s": plan.run_time, "wall_s": round(wall, 2),
           "judge_s": round(judging, 2),
           "processes": plan.processes or plan.expect_workers, "clock_speed": config.speed,
           "settings": config.settings}
    if plan.report:
        write_report(judged, Path(plan.report), run, scrub)
    sys.stdout.flush()
    return judged.exit_code


def _start_worker(config: LoadConfig, plan: Plan) -> subprocess.Popen[bytes]:
    env = {**os.environ, CONFIG_ENV: config.to_env()}
    return subprocess.Popen(
        [sys.executable, "-m", "jobcontracts.load", "--role", "worker",
         "--master-host", plan.master_host, "--master-port", str(plan.master_port)],
        env=env)


def _await_workers(runner: MasterRunner, expected: int,
                   children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while runner.worker_count < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {runner.worker_count} of {expected} Locust worker(s) "
                               "connected within 60 s")
        if children and any(c.poll() is not None for c in children):
            raise RuntimeError("a Locust worker process exited before it connected")
        gevent.sleep(0.1)
