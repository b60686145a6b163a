"""The run's reports beyond the ledger's tally, for people and for CI.

- Progress: one `ProgressLog` per run, writing through pytest's terminal
  reporter (capture suspended while it writes, since a test is running) and
  through `logging`. An xdist worker has no terminal: it only logs.
- JUnit: each test's rules and verdicts as properties of its testcase
  (`jobcontracts.rule.SS-PROJ-3` = `violated`), which `--junitxml` writes
  in every `junit_family`, the default `xunit2` included.
- Evidence: each violation with its exchanges and the polls of its resource,
  carried from xdist workers to the controller, for `--contract-report
  PATH.html` (`html_report.py`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import html_report
from .evidence import Evidence, TestVerdicts
from .oracles.judge import RuleOutcome
from .progress import Progress, ProgressLog

if TYPE_CHECKING:
    from .report import Ledger
    from .session import ApiRun, Recorder, Target

EVIDENCE = pytest.StashKey[Evidence]()
PROGRESS = pytest.StashKey[ProgressLog]()
VERDICTS = pytest.StashKey[TestVerdicts]()
WIRE_KEY = "jobcontracts-evidence"
PROPERTY = "jobcontracts.rule."


def install(config: pytest.Config) -> None:
    """Called from the plugin's `pytest_configure`."""
    config.stash[EVIDENCE] = Evidence()
    write = None if hasattr(config, "workerinput") else _terminal_writer(config)
    config.stash[PROGRESS] = ProgressLog(write, _verbosity(config))
    config.pluginmanager.register(_Hooks(config), "jobcontracts-reporting")


def progress_for(config: pytest.Config, target: Target) -> Progress:
    """The run's progress, one verbosity lower against a target on a virtual
    clock (the simulator, a replay), where a generation passes in milliseconds."""
    progress = config.stash.get(PROGRESS, None)
    if progress is None:
        return Progress()
    return progress.view(progress.level if target.kind == "live" else progress.level - 1)


class RunRecorder:
    """What `ApiRun.judge` records each trace's outcomes through: the ledger,
    the test's own verdicts and, for each violation, its evidence."""

    def __init__(self, config: pytest.Config, item: pytest.Item, ledger: Recorder) -> None:
        self.ledger, self.evidence = ledger, config.stash[EVIDENCE]
        self.verdicts = item.stash.setdefault(VERDICTS, TestVerdicts())
        self.test = item.nodeid
        self.run: ApiRun | None = None

    def __call__(self, outcomes: dict[str, RuleOutcome]) -> None:
        self.ledger(outcomes)
        self.verdicts.add(outcomes)
        if self.run is not None and any(o.violations for o in outcomes.values()):
            self.evidence.add(outcomes, self.run.trace, self.run.scrub.text, test=self.test,
                              reproduce=self.run.reproduce)


def write_html(config: pytest.Config, ledger: Ledger, path: Path, targets: list[str],
               scrub: Callable[[str], str] = str) -> None:
    """The report as one HTML page (`targets`: each API's target, described);
    `scrub` takes secrets out of its text."""
    meta = [f"seed {os.environ.get('JOBCONTRACTS_SEED', '?')}", *targets]
    meta.append(time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    descriptions = {rule_id: str(getattr(tally, "description", ""))
                    for rule_id, tally in ledger.rules.items()}
    page = html_report.render(ledger.report(), config.stash[EVIDENCE].violations,
                              descriptions=descriptions, meta=meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub(page), encoding="utf-8")


class _Hooks:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        """Before the teardown report is made: JUnit takes its properties from it."""
        verdicts = item.stash.get(VERDICTS, None)
        if call.when != "teardown" or verdicts is None:
            return
        for rule_id, verdict in verdicts.verdicts().items():
            item.user_properties.append((PROPERTY + rule_id, verdict))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        wire = getattr(node, "workeroutput", {}).get(WIRE_KEY)
        if wire:
            self.config.stash[EVIDENCE].merge_wire(wire)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WIRE_KEY] = session.config.stash[EVIDENCE].to_wire()


def _verbosity(config: pytest.Config) -> int:
    return int(config.getoption("verbose", 0) or 0)


def _terminal_writer(config: pytest.Config) -> Callable[[str], None]:
    """Write a line through the terminal reporter (looked up when first
    needed: it registers after this plugin configures), with pytest's
    capture suspended, or the line would land in the test's captured output."""

    def write(line: str) -> None:
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        if capture is None:
            terminal.write_line(line)
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(line)

    return write
