"""The selftests' order: longest first, so that xdist's workers end together.

xdist hands tests out in collection order. Collected as written, the live
sweeps (mostly waits on served simulators' scaled clocks) came last, and the
run ended with its workers half idle. Sorted by the seconds each took in CI,
the waits of the live tests overlap the in-process sweeps' CPU from the start,
and the short tests fill the end. Only the order changes: every test runs,
each as before. A test the table does not name keeps its place after these.

The order holds only if each worker takes a test when it frees up: xdist's
`load` scheduler otherwise hands each worker a first chunk of a quarter of its
share (about a hundred tests here), and the first worker got all the longest,
ending the run alone. So `--maxschedchunk` is 1 unless given.
"""

from __future__ import annotations

import pytest

#: Seconds per test in CI (`.ci/run --durations`), by node id prefix; the
#: longest prefix that matches wins. Roughly kept: it only orders the run.
SECONDS = {
    "selftests/test_live_mode.py::test_fault_is_caught_live[requeued-after-pause]": 62,
    "selftests/test_live_mode.py::test_fault_is_caught_live[answers-accepted-twice]": 62,
    "selftests/test_served_variants.py::": 50,
    "selftests/test_jobs_suite.py::test_fault_is_caught_live[slot-fill-lost]": 35,
    "selftests/test_document_sample.py::": 34,
    "selftests/test_live_mode.py::test_fault_is_caught_live[eta-negative]": 26,
    "selftests/test_live_mode.py::test_fault_is_caught_live[progress-regresses]": 26,
    "selftests/test_live_mode.py::test_fault_is_caught_live[turn-unfinishes]": 26,
    "selftests/test_jobs_suite.py::test_conforming_server_passes_the_issue_budget_live": 26,
    "selftests/test_hostile_servers.py::test_hostile_server_fails_rules_cleanly[silent]": 27,
    "selftests/test_diff_drifts.py::": 15,
    "selftests/test_jobs_suite.py::test_fault_is_caught_live": 14,
    "selftests/test_jobs_suite.py::test_budget_zero": 17,
    "selftests/test_live_mode.py::test_fault_is_caught_live": 12,
    "selftests/test_load.py::": 12,
    "selftests/test_fault_detection.py::test_conforming_simulators": 11,
    "selftests/test_live_mode.py::test_interrogation_fault_is_caught_live": 10,
    "selftests/test_live_mode.py::test_conforming": 10,
    "selftests/test_reports.py::": 8,
    "selftests/test_hostile_servers.py::": 8,
    "selftests/test_fault_detection.py::test_fault_is_caught_by_its_rule": 5.5,
    "selftests/test_jobs_suite.py::test_fault_is_caught_by_its_rules": 5.5,
    "selftests/test_live_mode.py::test_pos_fault_is_caught_live": 4,
}
_BY_LENGTH = sorted(SECONDS, key=len, reverse=True)


def expected_seconds(nodeid: str) -> float:
    return next((SECONDS[p] for p in _BY_LENGTH if nodeid.startswith(p)), 0.0)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "maxschedchunk", "no xdist") is None:
        config.option.maxschedchunk = 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -expected_seconds(item.nodeid))
