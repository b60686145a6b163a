"""Self-tests of the order-inside-one-answer rule kinds
(jobcontracts.oracles.sequences), each with the params of a real POS-PROJ-3
check over hand-built traces: satisfied, violated, nothing to judge.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobcontracts.oracles.sequences import ordinal

from .oracle_kit import POS, PosTraffic, broken, check, ok


def proj3(kind: str, t: PosTraffic, nth: int = 0):
    return check("POS-PROJ-3", kind, t, nth, contract=POS)


def attempt(n: Any, passed: bool = False, at: str = "2026-01-05T09:01:00Z") -> dict[str, Any]:
    return {"attempt": n, "passed": passed, "error": "" if passed else "KeyError",
            "outputPreview": "", "outputCount": 0, "timestamp": at}


def log(at: str, stage: str = "gathering") -> dict[str, Any]:
    return {"stage": stage, "message": "step", "timestamp": at}


# ---- sequence --------------------------------------------------------------------------


def test_attempts_count_one_two_three() -> None:
    t = PosTraffic()
    t.job(testResults=[attempt(1)])
    t.job(testResults=[attempt(1), attempt(2), attempt(3, True)])
    ok(proj3("sequence", t), reached=2)


@pytest.mark.parametrize(("numbers", "says"), [
    ([1, 3], "reads [1, 3], not [1, 2]"),
    ([0, 1], "reads [0, 1], not [1, 2]"),
    ([1, 1], "reads [1, 1], not [1, 2]"),
    ([2, 1], "reads [2, 1], not [1, 2]"),
])
def test_a_gap_a_repeat_or_a_wrong_start_breaks_the_count(numbers, says) -> None:
    t = PosTraffic()
    t.job(testResults=[attempt(n) for n in numbers])
    broken(proj3("sequence", t), 1, says=says)


def test_no_attempt_or_an_unreadable_one_is_not_judged() -> None:
    t = PosTraffic()
    t.job(testResults=[])
    t.job(testResults=[attempt("1"), attempt(2)])  # the schema's finding
    t.job(testResults=None)
    ok(proj3("sequence", t), reached=0)


# ---- list_count ------------------------------------------------------------------------


def test_retries_are_the_failed_attempts_before_the_last() -> None:
    t = PosTraffic()
    t.job("completed", "done", resultScriptId=9, retries=2,
          testResults=[attempt(1), attempt(2), attempt(3, True)])
    t.job("failed", "done", retries=2, testResults=[attempt(1), attempt(2), attempt(3)])
    t.job("completed", "done", resultScriptId=9, retries=0, testResults=[attempt(1, True)])
    t.job("failed", "done", retries=0, testResults=[])
    ok(proj3("list_count", t), reached=4)


def test_counting_the_last_failed_attempt_too_is_wrong() -> None:
    t = PosTraffic()
    t.job("failed", "done", retries=3, testResults=[attempt(1), attempt(2), attempt(3)])
    broken(proj3("list_count", t), 1,
           says="job.retries is 3, but 2 of the 2 job.testResults items before the last 1 match")


def test_retries_of_a_running_job_are_not_judged() -> None:
    """While a retry is under way, "the last" attempt is not the job's last yet."""
    t = PosTraffic()
    t.job("running", "retrying", retries=1, testResults=[attempt(1)])
    t.job("completed", "done", resultScriptId=9, retries="2", testResults=[attempt(1, True)])
    ok(proj3("list_count", t), reached=0)


# ---- list_order ------------------------------------------------------------------------


def test_timestamps_along_a_list_never_go_down() -> None:
    t = PosTraffic()
    t.job(logs=[log("2026-01-05T09:00:00Z"), log("2026-01-05T09:00:00Z"),
                log("2026-01-05T10:00:01+01:00"), log("2026-01-05T09:00:02.5Z")])
    ok(proj3("list_order", t, nth=1), reached=1)
    t.job(testResults=[attempt(1, at="2026-01-05T09:02:00Z"),
                       attempt(2, at="2026-01-05T09:03:00.123456789Z")])
    ok(proj3("list_order", t, nth=0), reached=1)


def test_a_timestamp_going_back_breaks_the_order() -> None:
    t = PosTraffic()
    t.job(logs=[log("2026-01-05T09:00:42Z"), log("2026-01-05T09:00:02Z", "generating")])
    broken(proj3("list_order", t, nth=1), 1,
           says="job.logs[1].timestamp='2026-01-05T09:00:02Z' goes back from "
                "job.logs[0].timestamp='2026-01-05T09:00:42Z'")


def test_a_zone_counts_when_ordering() -> None:
    t = PosTraffic()
    t.job(testResults=[attempt(1, at="2026-01-05T09:30:00Z"),
                       attempt(2, at="2026-01-05T10:00:00+02:00")])  # 08:00Z
    broken(proj3("list_order", t), 1, says="goes back")


def test_lists_with_fewer_than_two_readable_stamps_are_not_judged() -> None:
    t = PosTraffic()
    t.job(logs=[log("2026-01-05T09:00:00Z")])
    t.job(logs=[log("yesterday"), log("2026-01-05T09:00:00Z")])
    ok(proj3("list_order", t, nth=1), reached=0)


# ---- fields_ordered --------------------------------------------------------------------


def test_created_at_is_not_after_updated_at() -> None:
    t = PosTraffic()
    t.job(createdAt="2026-01-05T09:00:00Z", updatedAt="2026-01-05T09:00:00Z")
    t.job(createdAt="2026-01-05T09:00:00Z", updatedAt="2026-01-05T09:05:00.001Z")
    ok(proj3("fields_ordered", t), reached=2)
    t.job(createdAt="2026-01-05T09:00:00Z", updatedAt="2026-01-05T08:59:59Z")
    broken(proj3("fields_ordered", t), 3,
           says="job.updatedAt='2026-01-05T08:59:59Z' is before job.createdAt=")


def test_unreadable_stamps_are_not_ordered() -> None:
    t = PosTraffic()
    t.job(createdAt=None, updatedAt="2026-01-05T09:00:00Z")
    t.job(createdAt="soon", updatedAt="2026-01-05T09:00:00Z")
    ok(proj3("fields_ordered", t), reached=0)


@pytest.mark.parametrize(("value", "kind", "expected"), [
    ("2026-01-05T09:00:00Z", "datetime", 1767603600.0),
    ("2026-01-05T10:00:00+01:00", "datetime", 1767603600.0),
    ("2026-01-05T09:00:00", "datetime", 1767603600.0),
    ("not a time", "datetime", None),
    (5, "datetime", None),
    (2.5, "number", 2.5),
    (True, "number", None),
    ("3", "number", None),
])
def test_ordinal(value, kind, expected) -> None:
    assert ordinal(value, kind) == expected
