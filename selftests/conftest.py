"""The selftests' order: the tests that wait on served simulators beside the
CPU-bound ones, each kind longest first, so that the CPU stays busy and xdist's
workers end together.

xdist hands tests out in collection order. Collected as written, the live
sweeps (mostly waits on served simulators' scaled clocks) came last, and the
run ended with its workers half idle. Sorted longest first, every live test
came at the head instead: four workers waited for the first minutes of CI
with the CPU a quarter busy, and the in-process sweeps came after, alone on
both cores. So the waiting tests and the CPU-bound ones form two queues, each
sorted by the seconds its tests took in CI, taken in step: each test's place
is the share of its own queue's seconds before it, and both queues end
together. The Locust runs, which time real traffic, are spread evenly over
the run. Only the order changes: every test runs, each as before. A test the
table does not name keeps its place after these.

The order holds only if each worker takes a test when it frees up: xdist's
`load` scheduler otherwise hands each worker a first chunk of a quarter of its
share (about a hundred tests here), and the first worker got all the longest,
ending the run alone. So `--maxschedchunk` is 1 unless given.
"""

from __future__ import annotations

import pytest

#: Seconds per test in CI (`.ci/run --durations`), by node id prefix; the
#: longest prefix that matches wins. Roughly kept: it only orders the run.
_VARIANT = "selftests/test_served_variants.py::test_served_variant_passes_with_every_rule_verified"
SECONDS = {
    f"{_VARIANT}[specstep": 72,
    "selftests/test_live_mode.py::test_fault_is_caught_live[answers-accepted-twice]": 70,
    "selftests/test_live_mode.py::test_fault_is_caught_live[requeued-after-pause]": 63,
    f"{_VARIANT}[jobs": 61,
    "selftests/test_jobs_suite.py::test_fault_is_caught_live[slot-fill-lost]": 41,
    "selftests/test_document_sample.py::": 33,
    "selftests/test_live_mode.py::test_fault_is_caught_live[turn-unfinishes]": 30,
    "selftests/test_live_mode.py::test_fault_is_caught_live[progress-regresses]": 29,
    "selftests/test_live_mode.py::test_fault_is_caught_live[eta-negative]": 27,
    "selftests/test_hostile_servers.py::test_hostile_server_fails_rules_cleanly[silent]": 26,
    "selftests/test_jobs_suite.py::test_conforming_server_passes_the_issue_budget_live": 25,
    "selftests/test_served_variants.py::": 18,
    "selftests/test_jobs_suite.py::test_budget_zero": 16,
    "selftests/test_load.py::": 12,
    "selftests/test_jobs_suite.py::test_fault_is_caught_live": 12,
    "selftests/test_offline.py::test_a_live_run_recorded": 11,
    "selftests/test_live_mode.py::test_rate_limit_probe": 11,
    "selftests/test_reports.py::test_violations_in_the_html_report_survive_xdist": 11,
    "selftests/test_diff_drifts.py::test_all_drifts_at_once": 11,
    "selftests/test_fault_detection.py::test_conforming_simulators": 10,
    "selftests/test_live_mode.py::test_fault_is_caught_live": 10,
    "selftests/test_diff_drifts.py::test_a_longer_retry_after": 10,
    "selftests/test_reports.py::test_the_seed_fixes": 10,
    "selftests/test_live_mode.py::test_conforming": 8,
    "selftests/test_live_mode.py::test_interrogation_fault_is_caught_live": 8,
    "selftests/test_live_mode.py::test_budget_zero": 7,
    "selftests/test_reports.py::": 8,
    "selftests/test_diff_drifts.py::test_compare_exits_0": 8,
    "selftests/test_diff_drifts.py::test_two_conforming": 7,
    "selftests/test_progress.py::test_a_served_generation": 8,
    "selftests/test_jobs_suite.py::test_fault_is_caught_by_its_rules": 5,
    "selftests/test_hostile_streams.py::test_a_stream_that_does_not_end": 5,
    "selftests/test_fault_detection.py::test_fault_is_caught_by_its_rule": 3.5,
    "selftests/test_fault_detection.py::test_each_probe_of_a_second_batch": 4,
    "selftests/test_live_mode.py::test_pos_fault_is_caught_live": 2.6,
    "selftests/test_jobs_suite.py::test_conforming_simulator": 2.5,
    "selftests/test_offline.py::test_workers_": 2.3,
    "selftests/test_hostile_servers.py::": 2,
    "selftests/test_offline.py::test_a_fault": 2,
}
_BY_LENGTH = sorted(SECONDS, key=len, reverse=True)

#: Tests that mostly wait: suite runs against a simulator served on its
#: scaled clock (live mode), by node id prefix.
WAITING = (
    "selftests/test_live_mode.py::", "selftests/test_served_variants.py::",
    "selftests/test_document_sample.py::", "selftests/test_hostile_servers.py::",
    "selftests/test_diff_drifts.py::", "selftests/test_browser_eventsource.py::",
    "selftests/test_jobs_suite.py::test_fault_is_caught_live",
    "selftests/test_jobs_suite.py::test_conforming_server_passes_the_issue_budget_live",
    "selftests/test_jobs_suite.py::test_budget_zero",
    "selftests/test_jobs_suite.py::test_rate_limit",
    "selftests/test_offline.py::test_a_live_run", "selftests/test_offline.py::test_a_fault",
    "selftests/test_progress.py::test_a_served", "selftests/test_hostile_streams.py::",
)


def expected_seconds(nodeid: str) -> float:
    return next((SECONDS[p] for p in _BY_LENGTH if nodeid.startswith(p)), 0.0)


#: Tests that time real traffic (Locust runs of a few seconds): two at once,
#: or one at the head of the run beside every other kind, starve each other's
#: samples. They are spread evenly over the run instead.
SPREAD = ("selftests/test_load.py::",)


def interleaved(nodeids: list[str]) -> list[str]:
    """The waiting and the CPU-bound tests each longest first, merged by the
    share of their own queue's expected seconds that comes before each; the
    SPREAD tests evenly between them."""
    spread = [n for n in nodeids if n.startswith(SPREAD)]
    place = {nodeid: (i + 0.5) / len(spread) for i, nodeid in enumerate(spread)}
    for waits in (True, False):
        queue = sorted((n for n in nodeids if n.startswith(WAITING) == waits
                        and n not in place), key=lambda n: -expected_seconds(n))
        total = sum(map(expected_seconds, queue))
        before = 0.0
        for nodeid in queue:
            place[nodeid] = before / total if total and expected_seconds(nodeid) else 1.0
            before += expected_seconds(nodeid)
    return sorted(nodeids, key=place.__getitem__)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "maxschedchunk", "no xdist") is None:
        config.option.maxschedchunk = 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {nodeid: i for i, nodeid in enumerate(interleaved([item.nodeid for item in items]))}
    items.sort(key=lambda item: order[item.nodeid])
