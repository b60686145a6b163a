"""The `LOAD-*` rule kinds (oracles/load.py) and the load run's judging
(load/judging.py) on hand-built concurrent traces: each finds the race it
is for, and no lawful interleaving (a 409 while the original runs, a
replay, a lawful 429, a re-commit after a failed job) is flagged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobcontracts.trace import Exchange, Trace


def ex(seq: int, method: str, path: str, status: int, start: float, end: float,
       body: Any = None, req: Any = None, key: str | None = None,
       headers: dict[str, str] | None = None) -> Exchange:
    return Exchange(seq=seq, method=method, url="https://api.test" + path,
                    request_headers={} if key is None else {"Idempotency-Key": key},
                    request_body=b"" if req is None else json.dumps(req).encode(),
                    status=status, response_headers={"Content-Type": "application/json",
                                                     **(headers or {})},
                    response_body=b"" if body is None else json.dumps(body).encode(),
                    started_at=start, finished_at=end)


def judged(api: str, trace: list[Exchange], **settings: Any) -> dict[str, str]:
    from jobcontracts.load.contract import load_for
    from jobcontracts.load.judging import Recorded, judge
    from jobcontracts.load.wire import to_wire

    contract = load_for(api, overrides=settings)
    result = judge(contract, [Recorded("w/1/1", "test", tuple(to_wire(e) for e in trace))])
    return {rule_id: tally.status for rule_id, tally in result.ledger.rules.items()
            if rule_id.startswith("LOAD-")}


TURNS = "/v1/interviews/i1/turns"
MSG = {"message": "hello"}


def test_racing_keys_one_commit_and_409s_is_lawful() -> None:
    got = judged("specstep", [
        ex(1, "POST", TURNS, 202, 0.0, 0.05, {"job_id": "j1"}, MSG, "k"),
        ex(2, "POST", TURNS, 409, 0.01, 0.06, {"error": {"code": "IN_FLIGHT"}}, MSG, "k"),
        ex(3, "POST", TURNS, 429, 0.01, 0.07, None, MSG, "k", {"Retry-After": "1"}),
        ex(4, "POST", TURNS, 200, 0.02, 0.08, {"job_id": None}, MSG, "k"),
    ])
    assert got["LOAD-IDEM-1"] == "verified"


def test_racing_keys_two_commits_are_a_violation() -> None:
    got = judged("specstep", [
        ex(1, "POST", TURNS, 202, 0.0, 0.05, {"job_id": "j1"}, MSG, "k"),
        ex(2, "POST", TURNS, 202, 0.01, 0.06, {"job_id": "j2"}, MSG, "k"),
    ])
    assert got["LOAD-IDEM-1"] == "violated"


def test_a_recommit_after_the_first_job_failed_is_lawful() -> None:
    got = judged("specstep", [
        ex(1, "POST", TURNS, 202, 0.0, 0.05, {"job_id": "j1"}, MSG, "k"),
        ex(2, "POST", TURNS, 202, 0.01, 0.09, {"job_id": "j2"}, MSG, "k"),
        ex(3, "GET", "/v1/interviews/turns/j1", 200, 0.1, 0.11,
           {"job_id": "j1", "status": "failed", "error_code": "INTERVIEW_TURN_TIMEOUT"}),
    ])
    assert got["LOAD-IDEM-1"] == "verified"


ANSWERS = "/v1/generations/g1/clarifications/answers"
BATCH = {"answers": [{"question": "Q?", "answer": "A"}]}


@pytest.mark.parametrize(("second", "status"), [(409, "verified"), (200, "violated"),
                                                (500, "violated")])
def test_racing_batches(second: int, status: str) -> None:
    got = judged("specstep", [
        ex(1, "POST", ANSWERS, 200, 0.0, 0.05, {"state": "Running"}, BATCH),
        ex(2, "POST", ANSWERS, second, 0.01, 0.06, {"error": {"code": "X"}}, BATCH),
    ])
    assert got["LOAD-BATCH-1"] == status


def test_batches_that_did_not_overlap_are_not_a_race() -> None:
    got = judged("specstep", [
        ex(1, "POST", ANSWERS, 200, 0.0, 0.05, {"state": "Running"}, BATCH),
        ex(2, "POST", ANSWERS, 200, 30.0, 30.05, {"state": "Running"}, BATCH),
    ])
    assert got["LOAD-BATCH-1"] == "not_reached"


@pytest.mark.parametrize(("ids", "status"), [(("1", "2"), "verified"),
                                             (("1", "1"), "violated")])
def test_concurrently_created_ids(ids: tuple[str, str], status: str) -> None:
    got = judged("pos", [
        ex(1, "POST", "/api/v1/adapter-scripts/generate", 202, 0.0, 0.05,
           {"jobId": int(ids[0])}, {"provider": "Square", "topic": "t"}),
        ex(2, "POST", "/api/v1/adapter-scripts/generate", 202, 0.01, 0.06,
           {"jobId": int(ids[1])}, {"provider": "Square", "topic": "t"}),
    ])
    assert got["LOAD-CREATE-1"] == status


def test_under_load_needs_a_429_to_be_verified_and_fails_on_a_5xx() -> None:
    ok = [ex(1, "GET", "/api/stakeholders", 200, 0.0, 0.05, {"stakeholders": []})]
    limited = [*ok, ex(2, "GET", "/api/stakeholders", 429, 0.01, 0.02, {},
                       headers={"Retry-After": "1"})]
    assert judged("interrogation", ok)["LOAD-RATE-1"] == "partial"
    assert judged("interrogation", limited)["LOAD-RATE-1"] == "verified"
    bare = [*ok, ex(2, "GET", "/api/stakeholders", 429, 0.01, 0.02, {})]
    assert judged("interrogation", bare)["LOAD-RATE-1"] == "violated"
    crashed = [*limited, ex(3, "GET", "/api/stakeholders", 500, 0.01, 0.03, {})]
    assert judged("interrogation", crashed)["LOAD-RATE-1"] == "violated"


def test_latency_is_judged_only_with_a_budget() -> None:
    slow = [ex(i, "GET", "/api/stakeholders", 200, i, i + 0.3, {"stakeholders": []})
            for i in range(1, 25)]
    assert judged("interrogation", slow)["LOAD-LAT-1"] == "not_reached"
    assert judged("interrogation", slow, p95_ms=500)["LOAD-LAT-1"] == "verified"
    assert judged("interrogation", slow, p95_ms=200)["LOAD-LAT-1"] == "violated"
    # On a served simulator's clock (60x), 0.3 s is 5 wall milliseconds.
    assert judged("interrogation", slow, p95_ms=200, clock_speed=60)["LOAD-LAT-1"] == "verified"


def test_the_api_rules_judge_the_race_without_its_losers() -> None:
    from jobcontracts.load.judging import serialized

    trace = Trace([
        ex(1, "POST", ANSWERS, 200, 0.0, 0.05, {"state": "Running"}, BATCH),
        ex(2, "POST", ANSWERS, 409, 0.01, 0.06, {"error": {"code": "X"}}, BATCH),
        ex(3, "POST", ANSWERS, 429, 0.01, 0.07, {}, BATCH, headers={"Retry-After": "1"}),
        ex(4, "POST", ANSWERS, 409, 9.0, 9.05, {"error": {"code": "X"}}, BATCH),
        ex(5, "POST", ANSWERS, 200, 10.0, 10.05, {"state": "Running"}, BATCH, key="k"),
        ex(6, "POST", ANSWERS, 409, 11.0, 11.05, {"error": {"code": "X"}}, BATCH, key="k"),
    ])
    # 2 raced the winner, 4 came after it: both lost to it. A keyed retry after
    # a win (6) must replay: it stays, for the idempotency rules to judge.
    assert [e.seq for e in serialized(trace)] == [1, 3, 5, 6]


CLARIFICATIONS = "/v1/generations/g1/clarifications"
PAUSED = {"state": "PausedAwaitingClarification", "clarifications": [{"question": "Q?"}]}


@pytest.mark.parametrize(("cut_short", "status"), [(False, "violated"), (True, "verified")])
def test_a_scenario_cut_short_is_not_judged_on_answers_it_never_read(
        cut_short: bool, status: str) -> None:
    """The run's end killed the racer whose batch won (the server applied it;
    its answer was never read): the trace shows an exact batch refused. Whole,
    that is SS-CLAR-2's violation; cut short, the rules that compare answers
    leave it alone, and those reading one answer still judge it."""
    from jobcontracts.load.contract import load_for
    from jobcontracts.load.judging import Recorded, judge
    from jobcontracts.load.wire import to_wire

    trace = [ex(1, "GET", CLARIFICATIONS, 200, 0.0, 0.01, PAUSED),
             ex(2, "POST", ANSWERS, 409, 0.02, 0.05,
                {"error": {"code": "CLARIFICATIONS_ALREADY_ANSWERED", "message": "m"}}, BATCH)]
    result = judge(load_for("specstep"), [Recorded("w/1/1", "racing-batches",
                                                   tuple(to_wire(e) for e in trace), cut_short)])
    rules = result.ledger.rules
    assert (rules["SS-CLAR-2"].status == "violated") == (status == "violated"), result.violations
    assert rules["SS-ERR-1"].status == "verified"  # one answer alone: judged either way


def test_a_load_contract_error_names_its_file_and_line(tmp_path: Path) -> None:
    from jobcontracts.load.contract import load_for
    from jobcontracts.loader import PROJECT_CONTRACTS, ContractError

    for name in ("specstep.yaml", "pos_adapter_scripts.yaml", "interrogation.yaml"):
        (tmp_path / name).write_text((PROJECT_CONTRACTS / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    text = (PROJECT_CONTRACTS / "load.yaml").read_text(encoding="utf-8")
    broken = text.replace("request: post_turn", "request: post_turns", 1)
    (tmp_path / "load.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_for("specstep", str(tmp_path))
    line = broken.splitlines().index("            request: post_turns") + 1
    assert f"load.yaml:{line}" in str(caught.value)
    assert "unknown endpoint 'post_turns'" in str(caught.value)


def test_run_time_forms() -> None:
    from jobcontracts.load.cli import run_time_seconds

    assert [run_time_seconds(t) for t in ("15", "2.5", "15s", "1m", "1h30m")] == [
        15.0, 2.5, 15.0, 60.0, 5400.0]
    with pytest.raises(ValueError):
        run_time_seconds("soon")
