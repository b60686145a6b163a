"""Contracts, targets and budgets of a run, as the command line and the
environment set them: the simulator, a live deployment, or a replay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from .. import reporting
from ..apis import CONTRACT_FILES, api_support
from ..budget import DEFAULT_LIVE_REQUESTS, Allowance
from ..contract import Contract
from ..loader import ContractError, find_contract, load_contract
from ..recordings.scrub import REDACTED
from ..report import Ledger
from ..session import RunOptions, Target

LEDGER = pytest.StashKey[Ledger]()

CONTRACTS = pytest.StashKey[dict[str, Contract]]()

SEED_ENV = "JOBCONTRACTS_SEED"

BUDGET_DIR_ENV = "JOBCONTRACTS_BUDGET_DIR"

MANIFEST_KEY = pytest.StashKey[dict[str, Any]]()


def contract_for(config: pytest.Config, api: str) -> Contract:
    contracts = config.stash[CONTRACTS]
    if api not in contracts:
        try:
            file = find_contract(CONTRACT_FILES[api], config.getoption("contracts_dir"),
                                 config.rootpath / "contracts")
            contracts[api] = load_contract(file, setting_overrides(config))
        except ContractError as exc:
            raise pytest.UsageError(str(exc)) from None
        ledger = config.stash[LEDGER]
        if api in config.getoption("api"):  # else: when a collected test names it
            ledger.register(contracts[api])
        if os.environ.get(contracts[api].target.url_env):
            for option, rule_ids in contracts[api].reached_with.items():
                dest = option.lstrip("-").replace("-", "_")
                value = (live_probe(config, contracts[api]) if dest == "rate_limit_probe"
                         else config.getoption(dest) or 0)
                for rule_id in rule_ids:
                    ledger.reachable(rule_id, option, value)
    return contracts[api]


def live_probe(config: pytest.Config, contract: Contract) -> int:
    """Requests a live run may spend provoking a 429: `--rate-limit-probe`, else
    the contract's `live_rate_limit_probe` setting (an API whose probe spends
    nothing paid may set one), else 0."""
    probe: int | None = config.getoption("rate_limit_probe")
    return int(contract.settings.get("live_rate_limit_probe", 0)) if probe is None else probe


def setting_overrides(config: pytest.Config) -> dict[str, Any]:
    overrides = {}
    for item in config.getoption("contract_setting"):
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            raise pytest.UsageError(f"--contract-setting {item!r}: expected NAME=VALUE")
        overrides[name] = yaml.safe_load(raw)
    return overrides


def target_for(config: pytest.Config, contract: Contract) -> Target:
    fault = config.getoption("sim_fault")
    support = api_support(contract.api)
    if MANIFEST_KEY in config.stash:
        recorded = config.stash[MANIFEST_KEY]["targets"].get(contract.api)
        if recorded is None:
            raise pytest.UsageError(f"--replay: nothing was recorded for {contract.api}")
        return Target(contract.api, "replay", recorded["base_url"], REDACTED,
                      replay_of=recorded.get("replay_of") or recorded["kind"])
    url = os.environ.get(contract.target.url_env)
    if url:
        key = os.environ.get(contract.target.key_env, "") if contract.target.authenticated else ""
        if contract.target.authenticated and not key:
            raise pytest.UsageError(f"{contract.target.url_env} is set but "
                                    f"{contract.target.key_env} is not: a live run needs a key")
        if fault or config.getoption("sim_variant"):
            raise pytest.UsageError(f"--sim-fault and --sim-variant need the embedded "
                                    f"simulator; unset {contract.target.url_env} to use it")
        return Target(contract.api, "live", url.rstrip("/"), key)
    if fault and fault not in support.faults:
        raise pytest.UsageError(f"--sim-fault {fault!r} is not a fault of the {contract.api} "
                                f"simulator; known: {', '.join(sorted(support.faults))}")
    variant = config.getoption("sim_variant")
    if variant < 0:
        raise pytest.UsageError(f"--sim-variant {variant}: a variant is a whole number >= 0")
    return Target(contract.api, "simulator", support.base_url, support.api_key, fault, variant)


def options_for(config: pytest.Config, target: Target) -> RunOptions:
    """The run's budgets: cautious for a live server, unlimited for the simulator."""
    live = target.live
    shared = Path(os.environ[BUDGET_DIR_ENV])
    generations = config.getoption("max_generations")
    probe = config.getoption("rate_limit_probe")
    probe = live_probe(config, contract_for(config, target.api)) if live else probe
    return RunOptions(
        generations=Allowance(
            "paid generations", (generations or 0) if live else None,
            shared / f"{target.api}-generations",
            "raise --max-generations to reach the rules that need one"),
        requests=Allowance("requests", _request_limit(config, live),
                           shared / f"{target.api}-requests", "raise --max-requests"),
        rate_limit_probe=probe if live else (60 if probe is None else probe),
        poll_interval=config.getoption("poll_interval"),
        deadline=config.getoption("live_deadline"),
        timeout=config.getoption("request_timeout"),
        progress=reporting.progress_for(config, target))


def _request_limit(config: pytest.Config, live: bool) -> int | None:
    limit: int | None = config.getoption("max_requests")
    return DEFAULT_LIVE_REQUESTS if limit is None and live else limit
