"""The pytest plugin: options, targets, the per-API fixtures, judging, the report.

A test asks for an API by fixture name (`specstep`) and drives traffic; when
the test body returns (or the server's answer stopped it), the plugin judges
the trace with every rule of that API's contract and fails the test with the
violations, each naming its rule id, the exchanges, and how to reproduce.
"""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import tomllib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings

from . import reporting, reproducible
from .apis import API_NAMES, CONTRACT_FILES, api_support
from .budget import Allowance, BudgetExceeded
from .cassette import write_cassette
from .contract import Contract
from .loader import ContractError, find_contract, load_contract
from .recording import (
    TRAFFIC_OPTIONS,
    ReplayError,
    cassette_path,
    read_manifest,
    write_manifest,
)
from .replay import CassetteReplay
from .report import Ledger
from .scrub import REDACTED, Scrubber
from .session import ApiRun, ContractFailure, InputRefused, RunOptions, Target

LEDGER = pytest.StashKey[Ledger]()
CONTRACTS = pytest.StashKey[dict[str, Contract]]()
SEED_ENV = "JOBCONTRACTS_SEED"
#: A live run's request budget per API when the user sets none.
DEFAULT_LIVE_REQUESTS = 2000
BUDGET_DIR_ENV = "JOBCONTRACTS_BUDGET_DIR"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobcontracts", "contract tests for asynchronous job APIs")
    group.addoption("--api", action="append", default=[], choices=API_NAMES,
                    help="run only this API's contract tests (repeatable)")
    group.addoption("--sim-fault", default=None, metavar="NAME",
                    help="run against the embedded simulator with this named fault")
    group.addoption("--sim-variant", type=int, default=0, metavar="N",
                    help="run against the embedded simulator playing lawful variant N "
                         "(its free choices: check order, refusals, timing; 0 = reference)")
    group.addoption("--contract-report", default=None, metavar="PATH",
                    help="write every rule's status (verified/partial/violated/not_reached) "
                         "as JSON, or as one self-contained HTML page when PATH ends in .html")
    group.addoption("--contract-setting", action="append", default=[], metavar="NAME=VALUE",
                    help="override a contract setting, e.g. clarification_resume_seconds=30 "
                         "(the value is read as YAML)")
    group.addoption("--contracts-dir", default=None, metavar="DIR",
                    help="where the contract YAML files are (default: the contracts/ of the "
                         "project jobcontracts is installed from, else <rootdir>/contracts)")
    group.addoption("--record", default=None, metavar="DIR",
                    help="write every test's traffic, scrubbed, as VCR cassettes under DIR")
    group.addoption("--replay", default=None, metavar="DIR",
                    help="answer every test from the cassettes under DIR (no server at all)")
    live = parser.getgroup("jobcontracts live runs",
                           "budgets for a live target (set by the API's *_API_URL variable)")
    live.addoption("--max-generations", type=int, default=None, metavar="N",
                   help="paid operations (generations) a live run may create (default 0; "
                        "the simulator is unlimited)")
    live.addoption("--max-requests", type=int, default=None, metavar="N",
                   help=f"HTTP requests a live run may send to each API (default "
                        f"{DEFAULT_LIVE_REQUESTS}; the simulator is unlimited)")
    live.addoption("--poll-interval", type=float, default=None, metavar="S",
                   help="seconds between status polls (default: the document's 15)")
    live.addoption("--live-deadline", type=float, default=None, metavar="S",
                   help="longest any one wait may last (default 2700)")
    live.addoption("--rate-limit-probe", type=int, default=None, metavar="N",
                   help="requests a run may spend provoking a 429 (live default 0: off)")
    live.addoption("--request-timeout", type=float, default=30.0, metavar="S",
                   help="seconds before an unanswered request is a failed rule")
    live.addoption("--pos-job-id", action="append", default=[], metavar="ID",
                   help="an existing POS job that read-only tests poll and judge (repeatable)")


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
    settings.register_profile(
        "jobcontracts", database=None, deadline=None, max_examples=25, print_blob=True,
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
        os.environ[BUDGET_DIR_ENV] = tempfile.mkdtemp(prefix="jobcontracts-budget-")
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


MANIFEST_KEY = pytest.StashKey[dict[str, Any]]()


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
                value = config.getoption(option.lstrip("-").replace("-", "_")) or 0
                for rule_id in rule_ids:
                    ledger.reachable(rule_id, option, value)
    return contracts[api]


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
    return RunOptions(
        generations=Allowance(
            "paid generations", (generations or 0) if live else None,
            shared / f"{target.api}-generations",
            "raise --max-generations to reach the rules that need one"),
        requests=Allowance("requests", _request_limit(config, live),
                           shared / f"{target.api}-requests", "raise --max-requests"),
        rate_limit_probe=(probe or 0) if live else (60 if probe is None else probe),
        poll_interval=config.getoption("poll_interval"),
        deadline=config.getoption("live_deadline"),
        timeout=config.getoption("request_timeout"),
        progress=reporting.progress_for(config, target))


def _request_limit(config: pytest.Config, live: bool) -> int | None:
    limit: int | None = config.getoption("max_requests")
    return DEFAULT_LIVE_REQUESTS if limit is None and live else limit


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


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Judge each API run's last trace once the test body is done, however it
    ended: schemathesis reports its failures as a `BaseExceptionGroup`, and a
    violation among them must reach the ledger like any other."""
    try:
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
    for entry in ledger.report()["rules"]:
        if entry["status"] != "verified":
            terminalreporter.write_line(f"  {entry['status']:<11} {entry['id']}: "
                                        f"{entry['detail']}")
