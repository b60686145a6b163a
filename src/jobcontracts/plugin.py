"""The pytest plugin's entry point: the options, then, once pytest configures,
the suite's hooks and fixtures (`jobcontracts.suite`).

A test asks for an API by fixture name (`specstep`) and drives traffic; when
the test body returns (or the server's answer stopped it), the plugin judges
the trace with every rule of that API's contract and fails the test with the
violations, each naming its rule id, the exchanges, and how to reproduce.

This module imports nothing heavy, not even pytest (its hooks are marked with
pluggy's marker, which is what `pytest.hookimpl` is): every pytest start loads
it, in this project or any other that has jobcontracts installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pluggy import HookimplMarker

from .apis import API_NAMES
from .budget import DEFAULT_LIVE_REQUESTS

if TYPE_CHECKING:
    import pytest

hookimpl = HookimplMarker("pytest")


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
                   help="requests a run may spend provoking a 429 (live default: the "
                        "contract's live_rate_limit_probe, else 0: off)")
    live.addoption("--request-timeout", type=float, default=30.0, metavar="S",
                   help="seconds before an unanswered request is a failed rule")
    live.addoption("--pos-job-id", action="append", default=[], metavar="ID",
                   help="an existing POS job that read-only tests poll and judge (repeatable)")


@hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    from .suite import hooks

    config.pluginmanager.register(hooks, "jobcontracts-suite")
