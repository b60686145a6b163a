"""What a run says: its header (seed, targets, budgets), the tests `--api`
keeps, the terminal summary and `--contract-report`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

from .. import reporting
from ..apis import API_NAMES
from ..recordings.scrub import Scrubber
from .targets import LEDGER, SEED_ENV, contract_for, options_for, target_for


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"jobcontracts: seed {os.environ[SEED_ENV]} (reproduce with "
             f"--hypothesis-seed={os.environ[SEED_ENV]})"]
    for api in config.getoption("api") or API_NAMES:
        target = target_for(config, contract_for(config, api))
        lines.append("jobcontracts target " + target.describe())
        if target.live:
            o = options_for(config, target)
            shrink = ("shrinking on" if Phase.shrink in settings().phases
                      else "no shrinking: a failure is reported as found, with its seed")
            lines.append(f"jobcontracts budget {api}: {o.requests.limit} requests, "
                         f"{o.generations.limit} paid operation(s), rate-limit probe "
                         f"{o.rate_limit_probe}; {shrink}")
    return lines


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With `--api`, do not even collect the other APIs' folders of the suite
    (`tests/<api>/`): building their schemathesis tests alone takes seconds."""
    wanted = config.getoption("api")
    if (wanted and collection_path.name in API_NAMES and collection_path.name not in wanted
            and collection_path.parent.name == "tests" and collection_path.is_dir()):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the `--api` tests; the report then covers the APIs the kept tests name."""
    _select_apis(config, items)
    for api in sorted({m.args[0] for item in items for m in item.iter_markers("api")}):
        if api in API_NAMES:
            config.stash[LEDGER].register(contract_for(config, api))


def _select_apis(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("api"))
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("api")
        (keep if marker and marker.args[0] in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    ledger = config.stash[LEDGER]
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["jobcontracts"] = {"apis": list(ledger.apis), "rules": ledger.to_wire(),
                                        "used": ledger.used}
        return
    path = config.getoption("contract_report")
    if path:
        keys = [os.environ.get(c.target.key_env, "") for c in ledger.apis.values()
                if c.target.authenticated]
        if str(path).lower().endswith((".html", ".htm")):
            targets = [target_for(config, c).describe() for c in ledger.apis.values()]
            reporting.write_html(config, ledger, Path(path), targets, Scrubber(keys).text)
        else:
            ledger.write(Path(path), Scrubber(keys).text)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    ledger = config.stash[LEDGER]
    if getattr(config, "workeroutput", None) is not None or not ledger.used:
        return
    terminalreporter.section("jobcontracts")
    for api in ledger.apis:
        target = target_for(config, ledger.apis[api])
        if target.kind == "live":
            options = options_for(config, target)
            terminalreporter.write_line(
                f"{api} live spend: {options.requests.spent()} HTTP requests, "
                f"{options.generations.spent()} paid generation(s) "
                f"(budget {options.generations.limit})")
    terminalreporter.write_line(ledger.summary())
    for contract in ledger.apis.values():
        for note in contract.notes:
            terminalreporter.write_line(f"  note ({contract.api}): {note}")
    for entry in ledger.report()["rules"]:
        if entry["status"] != "verified":
            terminalreporter.write_line(f"  {entry['status']:<11} {entry['id']}: "
                                        f"{entry['detail']}")
