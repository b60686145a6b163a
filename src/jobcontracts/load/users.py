"""The Locust users of a load run, and how their traffic reaches the master.

Each user holds one recording `Client` (the suite's, on the run's shared
clock: `Retry-After`, budgets and timeouts as in any run) and runs one
scenario per task. Each exchange is recorded into the scenario's trace and
reported to Locust as a request event (so Locust's own statistics and UI
show the run); when the scenario ends, however it ends, its trace goes to
the master as a `jobcontracts:trace` message (a local runner delivers it to
itself). Importing this module imports Locust: load processes only.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, ClassVar

from locust import User, constant
from locust.exception import StopUser
from locust.runners import WorkerRunner

from ..apis import api_support
from ..budget import BudgetExceeded
from ..client import Client
from ..contract import Contract
from ..progress import NO_PROGRESS
from ..session import RunOptions
from ..trace import Exchange, Trace
from .clock import SharedClock
from .config import LoadConfig
from .scenarios import SCENARIO_ENDS, Stage, pick, scenarios_for
from .wire import to_wire

TRACE_MESSAGE = "jobcontracts:trace"
DONE_MESSAGE = "jobcontracts:done"
_users = itertools.count(1)


class LocustTrace(Trace):
    """A trace that also reports each exchange to Locust's statistics."""

    def __init__(self, events: Any, name_of: Any) -> None:
        super().__init__()
        self._events, self._name_of = events, name_of

    def append(self, exchange: Exchange) -> None:
        super().append(exchange)
        failure = None
        if exchange.status == 0:
            failure = RuntimeError(exchange.error or "no answer")
        elif exchange.status >= 500:
            failure = RuntimeError(f"server error {exchange.status}")
        self._events.request.fire(
            request_type=exchange.method, name=self._name_of(exchange),
            response_time=max(0.0, exchange.finished_at - exchange.started_at) * 1000,
            response_length=len(exchange.response_body), exception=failure, context={},
            response=None)


_CONTRACTS: dict[str, Contract] = {}


def _contract(config: LoadConfig) -> Contract:
    """Loaded once per process."""
    key = config.to_env()
    if key not in _CONTRACTS:
        _CONTRACTS[key] = config.contract().contract
    return _CONTRACTS[key]


class ContractUser(User):
    """Runs the API's scenarios (`scenarios.py`), one per task."""

    abstract = True
    wait_time = constant(0)
    config: ClassVar[LoadConfig]

    def on_start(self) -> None:
        config = self.config
        self.contract = _contract(config)
        self.speed = config.speed
        self.index = next(_users)
        self.iterations = 0
        self.rng = random.Random(f"{config.seed}:{self.index}:{random.random()}")
        self.paid, self.requests_budget = config.allowances()
        self.clock = SharedClock(config.speed, config.epoch)
        target = self.contract.target
        self.client = Client(
            base_url=config.base_url, api_key=config.api_key, clock=self.clock, trace=Trace(),
            auth_header=target.auth_header if target.authenticated else None,
            auth_scheme=target.auth_scheme, timeout=config.request_timeout,
            max_429_tries=int(self.contract.settings.get("rate_limit_max_tries", 5)),
            max_429_wait=float(self.contract.settings.get("deadline_seconds", 2700)),
            requests=self.requests_budget if config.max_requests is not None else None)
        self.options = RunOptions(self.paid, self.requests_budget, rate_limit_probe=0,
                                  timeout=config.request_timeout, progress=NO_PROGRESS)
        endpoints = [(name, spec) for name, spec in self.contract.endpoints.items()]

        def name_of(ex: Exchange) -> str:
            for name, spec in endpoints:
                if spec.method == ex.method and spec.template.match(ex.path) is not None:
                    return name
            return ex.path

        self.name_of = name_of
        runner = self.environment.runner
        self.worker = runner.client_id if isinstance(runner, WorkerRunner) else "local"

    def on_stop(self) -> None:
        self.client.close()

    def _stage(self) -> Stage:
        settings = self.contract.settings
        burst = int(settings.get("burst", 0)) if not self.config.live else int(
            settings.get("live_burst", 0))
        only = settings.get("scenarios") or ()
        return Stage(racers=int(settings.get("racers", 6)), burst=burst, rng=self.rng,
                     paid=self.paid, only=tuple(str(s) for s in only), user=self.index,
                     turn=self.iterations)

    def run_scenario(self) -> None:
        stage = self._stage()
        scenario = pick(scenarios_for(self.config.api), stage)
        if scenario is None:
            raise StopUser()  # nothing this run's budgets allow
        self.iterations += 1
        trace = LocustTrace(self.environment.events, self.name_of)
        self.client.trace, self.client.waited = trace, 0.0
        driver = api_support(self.config.api).driver(self.client, self.contract)
        driver.configure(self.options)
        stop, ended = False, False
        try:
            scenario.run(driver, stage)
            ended = True
        except SCENARIO_ENDS:
            ended = True
        except BudgetExceeded:
            # Refused before sending (racers too are joined first): nothing in flight.
            ended = True
            stop = self.requests_budget.limit is not None and (
                self.requests_budget.spent() >= self.requests_budget.limit)
        finally:
            # Not ended: the run stopped this user (GreenletExit) mid-scenario.
            self._ship(scenario.name, trace, cut_short=not ended)
        if stop:
            raise StopUser()

    def _ship(self, scenario: str, trace: Trace, *, cut_short: bool) -> None:
        if not len(trace):
            return
        self.environment.runner.send_message(TRACE_MESSAGE, {
            "group": f"{self.worker}/{self.index}/{self.iterations}", "scenario": scenario,
            "exchanges": [to_wire(ex) for ex in trace], "cut_short": cut_short})


def user_class(config: LoadConfig) -> type[ContractUser]:
    """The API's user class, the same name in every process (Locust dispatches by name)."""
    name = f"{config.api.capitalize()}ContractUser"

    def task(user: ContractUser) -> None:
        user.run_scenario()

    return type(name, (ContractUser,), {"config": config, "tasks": [task],
                                        "__module__": __name__})
