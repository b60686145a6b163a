"""Garbage from a server is a failed rule, never an engine traceback, and a
server that never answers hits a deadline, never a hung CI job."""

from __future__ import annotations

import re

import pytest

from .hostile_server import MODES, hostile
from .suite_runner import run_suite

SOME_TESTS = "test_interview_lifecycle or test_keyless_requests_are_refused or test_unknown_intake"
ENGINE_ERRORS = re.compile(r"\b(KeyError|TypeError|AttributeError|IndexError|JSONDecodeError|"
                           r"ValueError|INTERNALERROR|UnicodeDecodeError)\b")


@pytest.mark.parametrize("mode", MODES)
def test_hostile_server_fails_rules_cleanly(tmp_path, mode):
    with hostile(mode) as url:
        run = run_suite(tmp_path, "--api", "specstep", "-k", SOME_TESTS,
                        "--request-timeout", "1", "--live-deadline", "3",
                        env={"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": "sf_hostile"},
                        timeout=240)
    assert run.returncode == 1, run.output[-3000:]
    # A server that answers 200 to everything also breaks SS-AUTH-1, and one that
    # creates no interview SS-INT-0: true findings.
    assert "SS-HTTP-1" in run.with_status("violated") <= {"SS-HTTP-1", "SS-AUTH-1", "SS-INT-0"}
    failed = int(re.search(r"(\d+) failed", run.output).group(1))
    failures = re.findall(r"^E\s+jobcontracts\.session\.ContractFailure: (SS-[A-Z]+-\d+) ",
                          run.output, re.MULTILINE)
    assert len(failures) == failed, run.output[-3000:]
    assert not ENGINE_ERRORS.search(run.output), ENGINE_ERRORS.search(run.output)
