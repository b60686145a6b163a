"""What every process of a load run must agree on, as one JSON-able record.

The command line builds it (target, clock, budgets, settings) and hands it
to the Locust processes it starts through `JOBCONTRACTS_LOAD_CONFIG`; a
process started by hand (`locust -f`, a `--worker` on another machine)
builds its own from the API's environment variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..apis import api_support
from ..budget import DEFAULT_LIVE_REQUESTS, Allowance
from .contract import LoadContract, load_for

CONFIG_ENV = "JOBCONTRACTS_LOAD_CONFIG"


@dataclass(frozen=True)
class LoadConfig:
    api: str
    base_url: str
    api_key: str
    live: bool
    speed: float = 1.0
    epoch: float = 0.0
    max_generations: int | None = None
    max_requests: int | None = None
    request_timeout: float = 30.0
    budget_dir: str | None = None
    """Where the budgets are counted across this machine's processes."""
    settings: dict[str, Any] = field(default_factory=dict)
    contracts_dir: str | None = None
    seed: int = 0

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> LoadConfig | None:
        raw = os.environ.get(CONFIG_ENV)
        return cls(**json.loads(raw)) if raw else None

    def contract(self) -> LoadContract:
        return load_for(self.api, self.contracts_dir,
                        {**self.settings, "clock_speed": self.speed})

    def allowances(self) -> tuple[Allowance, Allowance]:
        """The paid-operation and request budgets, shared by this machine's processes."""
        where = Path(self.budget_dir) if self.budget_dir else None
        paid = Allowance("paid operations", self.max_generations,
                         where / f"{self.api}.paid" if where else None,
                         "raise --max-generations to create more")
        requests = Allowance("requests", self.max_requests,
                             where / f"{self.api}.requests" if where else None,
                             "raise --max-requests to send more")
        return paid, requests


def live_target(api: str, contract_target: Any) -> tuple[str, str] | None:
    """The API's URL and key from its environment variables, if the URL is set."""
    url = os.environ.get(contract_target.url_env)
    if not url:
        return None
    key = os.environ.get(contract_target.key_env, "") if contract_target.key_env else ""
    return url, key


def default_budgets(live: bool, max_generations: int | None,
                    max_requests: int | None) -> tuple[int | None, int | None]:
    """A live run is cautious: nothing paid and `DEFAULT_LIVE_REQUESTS`
    requests unless the user says otherwise; a simulator has no budget."""
    if not live:
        return max_generations, max_requests
    return (0 if max_generations is None else max_generations,
            DEFAULT_LIVE_REQUESTS if max_requests is None else max_requests)


def simulator_key(api: str) -> str:
    return api_support(api).api_key


API_ENV = "JOBCONTRACTS_LOAD_API"


def config_from_environment() -> LoadConfig:
    """For a process started by hand (`locust -f`): the API named by
    `JOBCONTRACTS_LOAD_API` (default specstep), its live target from its own
    environment variables, cautious budgets (`JOBCONTRACTS_LOAD_MAX_GENERATIONS`,
    `JOBCONTRACTS_LOAD_MAX_REQUESTS` raise them)."""
    api = os.environ.get(API_ENV, "specstep")
    probe = load_for(api)
    target = live_target(api, probe.contract.target)
    if target is None:
        raise SystemExit(f"jobcontracts locustfile: set {probe.contract.target.url_env} (and "
                         "its key) to the target, or run `jobcontracts load "
                         f"{api}`, which serves the embedded simulator itself")
    generations, requests = default_budgets(
        True, _int_env("JOBCONTRACTS_LOAD_MAX_GENERATIONS"),
        _int_env("JOBCONTRACTS_LOAD_MAX_REQUESTS"))
    return LoadConfig(api, target[0], target[1], True, max_generations=generations,
                      max_requests=requests, budget_dir=os.environ.get(
                          "JOBCONTRACTS_LOAD_BUDGET_DIR"))


def _int_env(name: str) -> int | None:
    raw = os.environ.get(name)
    return int(raw) if raw else None
