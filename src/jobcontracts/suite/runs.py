"""The per-API fixtures, and judging: each test's API runs are judged once
its body is done, however it ended."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from .. import reporting
from ..apis import api_support
from ..budget import BudgetExceeded
from ..recordings.cassette import write_cassette
from ..recordings.recording import (
    cassette_path,
)
from ..recordings.replay import CassetteReplay
from ..session import ApiRun, ContractFailure, InputRefused
from .printer import real_printer
from .targets import LEDGER, SEED_ENV, contract_for, options_for, target_for


def make_run(request: pytest.FixtureRequest, api: str) -> Iterator[ApiRun]:
    config = request.config
    contract = contract_for(config, api)
    config.stash[LEDGER].register(contract)
    target = target_for(config, contract)
    support = api_support(api)
    seed = os.environ[SEED_ENV]
    test_id = _test_id(request.node)
    reproduce = f"pytest '{request.node.nodeid}' --hypothesis-seed={seed}"
    if target.fault:
        reproduce += f" --sim-fault {target.fault}"
    if target.variant:
        reproduce += f" --sim-variant {target.variant}"
    if target.kind == "live":
        reproduce = f"{contract.target.url_env}={target.base_url} {reproduce}"
        if contract.target.authenticated:
            reproduce += f" (with {contract.target.key_env} set)"
    replay = None
    if target.kind == "replay":
        cassette = cassette_path(Path(config.getoption("replay")), api, test_id)
        if not cassette.is_file():
            pytest.skip(f"--replay: no cassette was recorded for this test ({cassette})")
        reproduce += f" --replay {config.getoption('replay')}"
        replay = CassetteReplay(cassette)
    record = config.getoption("record")
    recorder = reporting.RunRecorder(config, request.node, config.stash[LEDGER].record)
    run = ApiRun(contract, target, seed=int(seed) if seed.isdigit() else hash(seed),
                 reproduce=reproduce, record=recorder,
                 driver_factory=support.driver, simulator_factory=support.simulator,
                 options=options_for(config, target), replay=replay,
                 keep_traces=bool(record))
    recorder.run = run
    runs = request.node.stash.setdefault(RUNS, [])
    runs.append(run)
    try:
        yield run
    finally:
        run.close()
        if record and any(len(t) for t in run.traces):
            write_cassette(cassette_path(Path(record), api, test_id), run.traces,
                           {"api": api, "test": test_id, "target": target.kind,
                            "fault": target.fault, "base_url": target.base_url,
                            "seed": seed}, run.scrub)

RUNS = pytest.StashKey[list[ApiRun]]()


def _test_id(node: pytest.Item) -> str:
    """The node id, and for a schemathesis test (one item per API operation,
    all with the same node id) the operation too: `…::test_x[GET /v1/me]`."""
    label = getattr(node, "operation_label", None)
    return f"{node.nodeid}[{label}]" if label else node.nodeid


@pytest.fixture
def specstep(request: pytest.FixtureRequest) -> Iterator[ApiRun]:
    """A SpecStep connection (simulator or live) whose traffic the contract judges."""
    yield from make_run(request, "specstep")


@pytest.fixture
def interrogation(request: pytest.FixtureRequest) -> Iterator[ApiRun]:
    """An Interrogation Agent connection (simulator or live) whose traffic the contract judges."""
    yield from make_run(request, "interrogation")


@pytest.fixture
def pos(request: pytest.FixtureRequest) -> Iterator[ApiRun]:
    """A POS adapter-scripts connection (simulator or live) whose traffic the contract judges."""
    yield from make_run(request, "pos")


@pytest.fixture
def jobs(request: pytest.FixtureRequest) -> Iterator[ApiRun]:
    """A convert/goal jobs connection (simulator or live) whose traffic the contract judges."""
    yield from make_run(request, "jobs")


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Judge each API run's last trace once the test body is done, however it
    ended: schemathesis reports its failures as a `BaseExceptionGroup`, and a
    violation among them must reach the ledger like any other."""
    try:
        with real_printer(pyfuncitem):
            result = yield
    except ContractFailure:
        raise
    except InputRefused:
        _judge_runs(pyfuncitem, cause=None)
        return None
    except BudgetExceeded as exc:
        _judge_runs(pyfuncitem, cause=exc)
        pytest.skip(str(exc))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        _judge_runs(pyfuncitem, cause=exc)
        raise
    _judge_runs(pyfuncitem, cause=None)
    return result


def _judge_runs(item: pytest.Function, cause: BaseException | None) -> None:
    for run in item.stash.get(RUNS, []):
        if run.pending:
            run.check(cause=cause)
