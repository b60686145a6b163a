"""Self-tests of the status-projection rule kinds (jobcontracts.oracles.projection).

Each kind runs alone, with the params of a real `contracts/specstep.yaml`
check, over a hand-built trace: once satisfied, once violated, once with
nothing to judge.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobcontracts.oracles import judge_trace
from jobcontracts.oracles.projection import type_problem
from jobcontracts.trace import Exchange

from .oracle_kit import CONTRACT, broken, check, ok
from .oracle_kit import Traffic as BaseTraffic

PKG = "5f0c6b1e-8a53-4b8e-9d6a-0c2a1b3c4d5e"


class Traffic(BaseTraffic):
    def gen(self, state: str = "Running", **fields: Any) -> Exchange:
        """A poll of a generation (`id` defaults to g1) showing `state` and `fields`."""
        body = gen_body(state, **fields)
        return self("GET", f"/v1/generations/{body['id']}", 200, body)

    def done(self, **fields: Any) -> Exchange:
        fields = {"package_id": PKG, "progress_percent": 100,
                  "estimated_time_remaining_seconds": 0, **fields}
        return self.gen("Complete", **fields)

    def turn(self, status: str = "completed", **fields: Any) -> Exchange:
        body = {"job_id": "j1", "interview_id": "i1", "status": status, "snapshot": None,
                "error_code": None, "is_retryable": None, **fields}
        return self("GET", f"/v1/interviews/turns/{body['job_id']}", 200, body)


def gen_body(state: str = "Running", **fields: Any) -> dict[str, Any]:
    return {"id": "g1", "state": state, "package_id": None, "progress_percent": 10,
            "phase_detail": None, "progress_explanation": None, "running_cost_usd": 0.5,
            "billing_state": "Accruing", "estimated_time_remaining_seconds": 60,
            "estimated_completion_at": None, "retry_count": 0,
            "recoverable_error_category": None, "next_retry_at": None,
            "host_restart_resume_count": 0, **fields}




# ---- required_keys -------------------------------------------------------------------


def test_required_keys() -> None:
    t = Traffic()
    t("POST", "/v1/generations", 202, gen_body("Queued"), req={"intake_id": "x"})
    t.gen(next_retry_at=None)
    ok(check("SS-PROJ-0", "required_keys", t), reached=2)
    body = gen_body()
    del body["next_retry_at"]
    t("GET", "/v1/generations/g1", 200, body)
    broken(check("SS-PROJ-0", "required_keys", t), 3, says="lacks keys ['next_retry_at']")


def test_required_keys_reads_only_the_record_sources() -> None:
    t = Traffic()
    t("GET", "/v1/generations/g1", 404, {"error": {"code": "NOT_FOUND", "message": "no"}})
    t("POST", "/v1/generations", 201, {"id": "g1"})  # the source is create_generation@202
    t("GET", "/v1/generations/g1", 200, gen_body(), credential="invalid")
    ok(check("SS-PROJ-0", "required_keys", t), reached=0)


# ---- enum ----------------------------------------------------------------------------


def test_enum_accepts_every_documented_state() -> None:
    t = Traffic()
    for state in ["Queued", "Running", "PausedAwaitingClarification", "Failed", "Cancelled"]:
        t.gen(state)
    t.done()
    ok(check("SS-PROJ-1", "enum", t), reached=6)


@pytest.mark.parametrize("state", ["running", "Done", 1, None, ["Running"]])
def test_enum_violated(state: Any) -> None:
    t = Traffic()
    t.gen()
    t.gen(state)
    broken(check("SS-PROJ-1", "enum", t), 2, says=f"state={state!r} is not one of")


def test_enum_not_reached() -> None:
    ok(check("SS-PROJ-1", "enum", Traffic()), reached=0)


# ---- field_type ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kind", "good"), [
    (3, "integer", True), (3.0, "integer", False), (True, "integer", False),
    ("3", "integer", False), (2.5, "number", True), (False, "number", False),
    ("x", "string", True), (None, "string", False), (True, "boolean", True),
    (0, "boolean", False), ([], "list", True), ({}, "object", True), ([], "object", False),
    (PKG, "uuid", True), (PKG.upper(), "uuid", True), (PKG.replace("-", ""), "uuid", True),
    ("not-a-uuid", "uuid", False), ("{" + PKG + "}", "uuid", False), (7, "uuid", False),
    ("2024-05-01T10:00:00Z", "datetime", True), ("2024-05-01T10:00:00.5+02:00", "datetime", True),
    ("2024-05-01T10:00:00", "datetime", False), ("2024-05-01", "datetime", False),
    ("yesterday", "datetime", False), (1714557600, "datetime", False),
])
def test_type_problem(value: Any, kind: Any, good: bool) -> None:
    assert (type_problem(value, kind) is None) == good


def test_field_type_range() -> None:
    t = Traffic()
    t.gen(progress_percent=0)
    t.gen(progress_percent=100)
    ok(check("SS-PROJ-3", "field_type", t), reached=2)
    t.gen(progress_percent=101)
    t.gen(progress_percent=-1)
    broken(check("SS-PROJ-3", "field_type", t), 3, 4, says="101 is above 100")
    assert "-1 is below 0" in check("SS-PROJ-3", "field_type", t).violations[1].why


@pytest.mark.parametrize("value", ["50", 50.5, None, True])
def test_field_type_violated(value: Any) -> None:
    t = Traffic()
    t.gen(progress_percent=value)
    broken(check("SS-PROJ-3", "field_type", t), 1, says=f"{value!r} is not a integer")


def test_field_type_nullable_and_absent() -> None:
    t = Traffic()
    t.gen(running_cost_usd=None)
    ok(check("SS-PROJ-4", "field_type", t, nth=2))  # running_cost_usd is nullable
    body = gen_body()
    del body["retry_count"]
    t("GET", "/v1/generations/g1", 200, body)
    broken(check("SS-PROJ-4", "field_type", t, nth=0), 2, says="retry_count: the key is absent")
    body = gen_body()
    del body["estimated_time_remaining_seconds"]  # absent: SS-PROJ-0's finding, not SS-PROJ-5's
    t("GET", "/v1/generations/g1", 200, body)
    ok(check("SS-PROJ-5", "field_type", t))
    broken(check("SS-PROJ-0", "required_keys", t), 2, 3, says="estimated_time_remaining_seconds")


def test_field_type_when_filters_observations() -> None:
    t = Traffic()
    t.gen(package_id="not-a-uuid")  # Running: SS-PROJ-2's field_type only judges Complete
    ok(check("SS-PROJ-2", "field_type", t), reached=0)
    t.done(package_id="pkg-1")
    broken(check("SS-PROJ-2", "field_type", t), 2, says="'pkg-1' is not a uuid")


# ---- present_iff ---------------------------------------------------------------------


def test_present_iff() -> None:
    t = Traffic()
    t.gen()
    t.done()
    ok(check("SS-PROJ-2", "present_iff", t), reached=2)
    t.done(package_id=None)
    t.gen(package_id=PKG)
    v = check("SS-PROJ-2", "present_iff", t)
    broken(v, 3, 4, says="package_id is missing but the condition {'state': 'Complete'} holds")
    assert "package_id is set but the condition" in v.violations[1].why
    assert "does not hold" in v.violations[1].why


def test_present_only_if() -> None:
    t = Traffic()
    t.gen(recoverable_error_category="Transient", next_retry_at=None)  # only_if: fine
    t.gen(recoverable_error_category="Transient", next_retry_at="2024-05-01T10:00:00Z")
    ok(check("SS-PROJ-6", "present_iff", t), reached=2)
    t.gen(next_retry_at="2024-05-01T10:00:00Z")
    broken(check("SS-PROJ-6", "present_iff", t), 3, says="next_retry_at is set")


def test_present_iff_non_empty() -> None:
    t = Traffic()
    clar = "/v1/generations/g1/clarifications"
    t("GET", clar, 200, {"state": "Running", "clarifications": []})
    t("GET", clar, 200, {"state": "PausedAwaitingClarification",
                         "clarifications": [{"question": "Q1"}]})
    ok(check("SS-CLAR-1", "present_iff", t), reached=2)
    t("GET", clar, 200, {"state": "PausedAwaitingClarification", "clarifications": []})
    broken(check("SS-CLAR-1", "present_iff", t), 3, says="clarifications is missing")


def test_present_iff_not_reached() -> None:
    ok(check("SS-TURN-2", "present_iff", Traffic()), reached=0)


# ---- value_when ----------------------------------------------------------------------


def test_value_when() -> None:
    t = Traffic()
    t.gen(progress_percent=50)
    ok(check("SS-PROJ-3", "value_when", t), reached=0)  # not Complete: nothing to judge
    t.done()
    ok(check("SS-PROJ-3", "value_when", t), reached=1)
    t.done(progress_percent=99)
    broken(check("SS-PROJ-3", "value_when", t), 3, says="progress_percent=99 when")


@pytest.mark.parametrize(("eta", "good"), [(None, True), (0, True), (0.0, True), (5, False),
                                           (False, False)])
def test_value_when_terminal_eta(eta: Any, good: bool) -> None:
    t = Traffic()
    t.gen("Failed", estimated_time_remaining_seconds=eta)
    v = check("SS-PROJ-5", "value_when", t)
    if good:
        ok(v, reached=1)
    else:
        broken(v, 1, says="estimated_time_remaining_seconds=")


# ---- non_decreasing ------------------------------------------------------------------


def test_non_decreasing() -> None:
    t = Traffic()
    for pct in (10, 20, 20):
        t.gen(progress_percent=pct)
    ok(check("SS-PROJ-3", "non_decreasing", t), reached=2)
    t.gen(progress_percent="x")  # not a number: skipped, not compared
    t.gen(progress_percent=15)
    broken(check("SS-PROJ-3", "non_decreasing", t), 3, 5,
           says="progress_percent went down from 20 to 15 across polls of g1")


def test_non_decreasing_compares_one_resource_only() -> None:
    t = Traffic()
    t.gen(id="g1", progress_percent=50)
    t.gen(id="g2", progress_percent=10)
    ok(check("SS-PROJ-3", "non_decreasing", t), reached=0)


# ---- terminal_absorbing --------------------------------------------------------------


def test_terminal_absorbing() -> None:
    t = Traffic()
    t.gen()
    t.done()
    t.done()
    ok(check("SS-PROJ-1", "terminal_absorbing", t), reached=1)


def test_terminal_absorbing_violated_by_state_and_kept_field() -> None:
    t = Traffic()
    t.done()
    t.gen("Running")
    broken(check("SS-PROJ-1", "terminal_absorbing", t), 1, 2,
           says="['state', 'package_id'] changed after state became terminal ('Complete')")
    t2 = Traffic()
    t2.done()
    t2.done(package_id="6f0c6b1e-8a53-4b8e-9d6a-0c2a1b3c4d5e")
    broken(check("SS-PROJ-1", "terminal_absorbing", t2), 1, 2, says="['package_id'] changed")


def test_terminal_absorbing_not_reached() -> None:
    t = Traffic()
    t.gen()
    t.gen()
    t.done()  # terminal once, never seen again
    ok(check("SS-PROJ-1", "terminal_absorbing", t), reached=0)


# ---- transitions ---------------------------------------------------------------------


def test_transitions_lawful_including_missed_states() -> None:
    t = Traffic()
    for state in ["Queued", "Running", "PausedAwaitingClarification", "Running", "Running"]:
        t.gen(state)
    t.done()
    ok(check("SS-PROJ-7", "transitions", t), reached=5)
    t2 = Traffic()
    t2.gen("Queued")
    t2.done()  # Running was missed between polls: still lawful
    ok(check("SS-PROJ-7", "transitions", t2), reached=1)


@pytest.mark.parametrize(("first", "then"), [
    ("Complete", "Running"), ("PausedAwaitingClarification", "Queued"), ("Failed", "Cancelled"),
])
def test_transitions_violated(first: str, then: str) -> None:
    t = Traffic()
    t.gen("Queued")
    t.gen(first)
    t.gen(then)
    broken(check("SS-PROJ-7", "transitions", t), 2, 3, says=f"moved {first!r} → {then!r}")


def test_transitions_skips_unknown_and_garbage_states() -> None:
    t = Traffic()
    t.gen("Queued")
    t.gen("Done")
    t.gen(["Running"])
    t.gen({"name": "Running"})
    t.gen("Running")
    ok(check("SS-PROJ-7", "transitions", t), reached=1)
    outcome = judge_trace(CONTRACT, t.trace)["SS-PROJ-7"]
    assert not outcome.violations, [x.why for x in outcome.violations]


def test_transitions_not_reached() -> None:
    t = Traffic()
    t.gen("Running")
    ok(check("SS-PROJ-7", "transitions", t), reached=0)


# ---- fields_equal --------------------------------------------------------------------


def test_fields_equal() -> None:
    t = Traffic()
    t.turn("running")  # snapshot null: not judged
    ok(check("SS-TURN-1", "fields_equal", t), reached=0)
    t.turn(snapshot={"id": "i1", "turns": []})
    ok(check("SS-TURN-1", "fields_equal", t), reached=1)
    t.turn(snapshot={"id": "i2", "turns": []})
    broken(check("SS-TURN-1", "fields_equal", t), 3, says="snapshot.id='i2' but interview_id='i1'")
