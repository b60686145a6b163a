"""Configure a run: its seed, the hypothesis profiles, the ledger, replay and
record manifests, and the merge of xdist workers' verdicts."""

from __future__ import annotations

import dataclasses
import gc
import os
import random
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from .. import reporting, reproducible
from ..apis import API_NAMES
from ..recordings.recording import (
    TRAFFIC_OPTIONS,
    ReplayError,
    read_manifest,
    write_manifest,
)
from ..report import Ledger
from .targets import (
    BUDGET_DIR_ENV,
    CONTRACTS,
    LEDGER,
    MANIFEST_KEY,
    SEED_ENV,
    contract_for,
    target_for,
)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what imports and collection built (modules, schemas, thousands of
    items) out of the garbage collector's reach: it lives as long as the run,
    and every full collection after this one would scan it again for nothing
    (a fifth of a jobs run went to collections, 3 s of 13 s, before this).
    The objects the tests make are collected as usual."""
    gc.freeze()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "api(name): a contract test of the named API")
    seed = config.getoption("hypothesis_seed", None) or os.environ.get(SEED_ENV)
    if seed is None:
        seed = str(random.randrange(10**6))
        config.option.hypothesis_seed = seed
    seed = _replay_configure(config, str(seed))
    os.environ[SEED_ENV] = str(seed)
    config.option.hypothesis_seed = str(seed)
    _force_hypothesis_seed(str(seed))
    # derandomize=False: under `CI` hypothesis's default profile derandomizes,
    # and every seed would draw the same examples, the printed one included.
    settings.register_profile(
        "jobcontracts", database=None, deadline=None, derandomize=False, max_examples=25,
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    # Live: few examples and no shrinking. A failure is reported as found, with
    # its seed; shrinking it would spend thousands of requests on a live server.
    settings.register_profile("jobcontracts-live", parent=settings.get_profile("jobcontracts"),
                              max_examples=5,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    # Fault-detection selftests: the explicit examples and deterministic
    # scenarios catch every fault; shrinking a known fault only costs time.
    settings.register_profile("jobcontracts-selftest",
                              parent=settings.get_profile("jobcontracts"), max_examples=10,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    # Recorded fixtures: only the explicit @example cases, which no hypothesis
    # release draws differently, so a committed cassette keeps replaying.
    settings.register_profile("jobcontracts-explicit",
                              parent=settings.get_profile("jobcontracts"),
                              phases=[Phase.explicit])
    settings.register_profile("jobcontracts-live-selftest",
                              parent=settings.get_profile("jobcontracts-selftest"),
                              max_examples=5)
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("jobcontracts")
    _collect_the_suite_without_config(config)
    config.stash[LEDGER] = Ledger()
    config.stash[CONTRACTS] = {}
    reporting.install(config)
    if BUDGET_DIR_ENV not in os.environ:
        _share_budgets(config)
    live = any(os.environ.get(contract_for(config, api).target.url_env) for api in API_NAMES)
    if live and not config.getoption("hypothesis_profile", None):
        settings.load_profile("jobcontracts-live")
    if MANIFEST_KEY in config.stash:
        settings.load_profile(config.stash[MANIFEST_KEY].get("profile", "jobcontracts"))
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistMerge(config), "jobcontracts-xdist")
    record = config.getoption("record")
    if record and not hasattr(config, "workerinput"):
        targets = {api: dataclasses.asdict(target_for(config, contract_for(config, api)))
                   for api in API_NAMES}
        for target in targets.values():
            del target["api_key"]
        write_manifest(Path(record), str(seed), targets,
                       {name: config.getoption(name) for name in TRAFFIC_OPTIONS},
                       config.getoption("hypothesis_profile", None)
                       or settings.get_current_profile_name())


def _collect_the_suite_without_config(config: pytest.Config) -> None:
    """`pytest --contract-report /tmp/r.json` with /tmp/r.json existing: pytest
    settles its rootdir before it knows this plugin's options, takes the path
    as a test path, finds no configuration there, and would collect the whole
    checkout. Run from a project that configures `testpaths`, and given no
    test path, collect those, as pytest would with its configuration found."""
    if config.inipath is not None or config.args_source != pytest.Config.ArgsSource.INVOCATION_DIR:
        return
    here = config.invocation_params.dir
    try:
        pyproject = tomllib.loads((here / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return
    testpaths = pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {}).get(
        "testpaths", [])
    found = [str(here / p) for p in testpaths if (here / p).exists()]
    if found:
        config.args[:] = found


def _share_budgets(config: pytest.Config) -> None:
    """A directory for the budgets this run's processes (xdist workers) share,
    removed when the run that made it ends."""
    shared = tempfile.mkdtemp(prefix="jobcontracts-budget-")
    os.environ[BUDGET_DIR_ENV] = shared

    def remove() -> None:
        shutil.rmtree(shared, ignore_errors=True)
        if os.environ.get(BUDGET_DIR_ENV) == shared:
            del os.environ[BUDGET_DIR_ENV]

    config.add_cleanup(remove)


def _force_hypothesis_seed(seed: str) -> None:
    """What `--hypothesis-seed` does, done here too: hypothesis's own plugin may
    configure before this one (it does in xdist workers, which inherit the seed
    only through the environment), and a replay needs the recorded examples."""
    from hypothesis import core

    reproducible.install()
    core.global_force_seed = int(seed) if seed.isdigit() else seed  # type: ignore[assignment]


def _replay_configure(config: pytest.Config, seed: str) -> str:
    """With --replay, take the seed and traffic options the cassettes were recorded with."""
    replay = config.getoption("replay")
    if not replay:
        return seed
    if config.getoption("record"):
        raise pytest.UsageError("--record and --replay cannot be used together")
    try:
        manifest = read_manifest(Path(replay))
    except ReplayError as exc:
        raise pytest.UsageError(str(exc)) from None
    given = config.getoption("hypothesis_seed", None)
    if os.environ.get(SEED_ENV) and os.environ[SEED_ENV] != str(manifest["seed"]):
        given = os.environ[SEED_ENV]
    config.stash[MANIFEST_KEY] = manifest
    for name, value in manifest["options"].items():
        if name in TRAFFIC_OPTIONS:
            setattr(config.option, name, value)
    recorded = str(manifest["seed"])
    if given is not None and str(given) != recorded and given != seed:
        raise pytest.UsageError(f"--replay {replay} was recorded with seed {recorded}; "
                                f"drop --hypothesis-seed {given} (a replay needs the same one)")
    return recorded


class _XdistMerge:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        wire = getattr(node, "workeroutput", {}).get("jobcontracts")
        if wire and wire["used"]:
            ledger = self.config.stash[LEDGER]
            ledger.used = True
            for api in wire["apis"]:
                ledger.register(contract_for(self.config, api))
            ledger.merge_wire(wire["rules"])
