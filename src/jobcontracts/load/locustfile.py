"""A locustfile for teams that already run Locust:

    SPECSTEP_API_URL=https://staging.example.com SPECSTEP_API_KEY=sf_... \
        locust -f src/jobcontracts/load/locustfile.py --headless -u 16 -r 16 -t 1m

(`JOBCONTRACTS_LOAD_API=pos` or `interrogation` for the other APIs; the
budgets are those of a live run: nothing paid unless
`JOBCONTRACTS_LOAD_MAX_GENERATIONS` says so.) Locust's own master and
workers work as usual (`--master`, `--worker`, `--processes`): every worker
sends its scenarios' traces to the master, which judges them all when the
run ends, prints the bug report, writes `JOBCONTRACTS_LOAD_REPORT` if set,
and makes Locust exit 1 on any violation. `jobcontracts load` does the same
and also serves the embedded simulator when no target is set.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from jobcontracts.load.config import LoadConfig, config_from_environment
from jobcontracts.load.judging import Collector
from jobcontracts.load.run import FLUSH_SECONDS, Plan, listen, report
from jobcontracts.load.users import DONE_MESSAGE, user_class

CONFIG = LoadConfig.from_env() or config_from_environment()
ContractUser = user_class(CONFIG)
_collector = Collector()
_started: list[float] = []


def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        def on_test_stop(environment: Environment, **_: Any) -> None:
            runner.send_message(DONE_MESSAGE, {})

        environment.events.test_stop.add_listener(on_test_stop)  # type: ignore[no-untyped-call]
    elif runner is not None:
        listen(runner, _collector)


def _on_test_start(environment: Environment, **_: Any) -> None:
    _started.append(time.monotonic())


def _on_quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return
    expected = runner.worker_count if isinstance(runner, MasterRunner) else 0
    deadline = time.monotonic() + FLUSH_SECONDS
    while len(_collector.workers_done) < expected and time.monotonic() < deadline:
        gevent.sleep(0.1)
    wall = time.monotonic() - _started[0] if _started else 0.0
    options = environment.parsed_options
    plan = Plan(users=int(getattr(options, "num_users", 0) or 0),
                spawn_rate=float(getattr(options, "spawn_rate", 0) or 0),
                run_time=float(getattr(options, "run_time", 0) or 0),
                expect_workers=expected, report=os.environ.get("JOBCONTRACTS_LOAD_REPORT"))
    if report(CONFIG, plan, _collector.recorded, wall, len(_collector.workers_done),
              expected):
        environment.process_exit_code = 1


events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_on_quitting)  # type: ignore[no-untyped-call]
