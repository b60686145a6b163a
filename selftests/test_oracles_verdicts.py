"""Honest verdicts: clause-level reach (`partial`), 5xx judged by status
rules, and a client whose waits for a 429 end at the run's deadline."""

from __future__ import annotations

import httpx

from jobcontracts.client import Client
from jobcontracts.clock import VirtualClock
from jobcontracts.oracles import judge_trace
from jobcontracts.report import Ledger
from jobcontracts.trace import Trace

from .oracle_kit import CONTRACT, Traffic, broken, check

UUID = "6f1c7d2a-9b3e-4c5d-8e7f-0a1b2c3d4e5f"


def intake(t: Traffic) -> None:
    t("GET", "/v1/interviews/i1", 200, {"id": "i1", "status": "Completed", "turns": [],
                                        "intake_artifact_id": "in-1"})


def create(t: Traffic, profile: object, status: int = 202, intake_id: str = "in-1") -> None:
    t("POST", "/v1/generations", status, {"id": "g"},
      req={"intake_id": intake_id, "review_profile": profile})


def ledger_of(*traffic: Traffic) -> Ledger:
    ledger = Ledger()
    ledger.register(CONTRACT)
    for t in traffic:
        ledger.record(judge_trace(CONTRACT, t.trace))
    return ledger


def test_some_profiles_tried_is_partial_naming_the_untried() -> None:
    t = Traffic()
    intake(t)
    create(t, "Standard")
    create(t, 0)
    v = check("SS-GEN-1", "status_for", t)
    assert v.parts is not None and v.parts.judged == {'"Standard"', "0"}
    ledger = ledger_of(t)
    tally = ledger.rules["SS-GEN-1"]
    assert tally.status == "partial"
    assert tally.detail() == ('status_for verified for 2 of 6 review_profile values; '
                              'untried: "Fast", "Thorough", 1, 2')
    ledger.reachable("SS-GEN-1", "--max-generations", 2)
    assert tally.detail().endswith("; raise --max-generations to at least 6 to try them all")
    assert ledger.counts()["partial"] >= 1 and " partial, " in ledger.summary()
    entry = next(e for e in ledger.report()["rules"] if e["id"] == "SS-GEN-1")
    assert entry["checks"][0]["untried"] == ['"Fast"', '"Thorough"', "1", "2"]


def test_every_profile_over_several_traces_is_verified_and_survives_the_wire() -> None:
    traces = []
    for profile in ["Fast", "Standard", "Thorough", 0, 1, 2]:
        t = Traffic()
        intake(t)
        create(t, profile)
        traces.append(t)
    first, rest = ledger_of(*traces[:2]), ledger_of(*traces[2:])
    assert first.rules["SS-GEN-1"].status == rest.rules["SS-GEN-1"].status == "partial"
    first.merge_wire(rest.to_wire())
    assert first.rules["SS-GEN-1"].status == "verified"


def test_some_checks_reached_is_partial_none_is_not_reached() -> None:
    t = Traffic()
    ledger = ledger_of(t)
    assert ledger.rules["SS-CLAR-2"].status == "not_reached"
    ledger.reachable("SS-CLAR-2", "--max-generations", 0)
    assert ledger.rules["SS-CLAR-2"].detail().endswith(
        "a live run reaches it only with --max-generations > 0")
    tally = ledger.rules["SS-CLAR-2"]
    tally.reached = [3, 0]
    assert tally.status == "partial"
    assert tally.detail().startswith("not reached: leaves_state_within (check 2); "
                                     "reached: all_or_nothing_batch (check 1)")


def test_a_500_for_an_unknown_intake_breaks_the_404_rule_too() -> None:
    t = Traffic()
    intake(t)
    create(t, "Standard", status=500, intake_id=UUID)
    broken(check("SS-GEN-3", "status_for", t), 2, says="expected 404, got 500")
    t2 = Traffic()
    intake(t2)
    create(t2, "Standard", status=429, intake_id=UUID)  # the rate-limit rules' business
    assert check("SS-GEN-3", "status_for", t2).reached == 0


def always_429(retry_after: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(
        429, json={"error": {"code": "RATE_LIMITED", "message": "slow down"}},
        headers={"Retry-After": retry_after}))


def test_waits_for_a_limit_that_never_lifts_end_at_the_deadline() -> None:
    clock, trace = VirtualClock(), Trace()
    client = Client(base_url="https://api.test", api_key="k", clock=clock, trace=trace,
                    transport=always_429("10"), max_429_tries=5, max_429_wait=100)
    start = clock.now()
    assert client.request("GET", "/v1/me").status == 429
    assert len(trace) == 6 and clock.now() - start == 50  # every try, within the cap
    outcomes = judge_trace(CONTRACT, trace)
    assert [v.why for v in outcomes["SS-RATE-3"].violations] == [
        "still 429 after 5 retries that waited as Retry-After said"]
    client.request("GET", "/v1/me")  # 50 s left: 5 more waits of 10 s, then the cap
    client.request("GET", "/v1/me")
    assert clock.now() - start == 100


def test_an_hour_long_retry_after_does_not_make_the_run_sleep() -> None:
    clock, trace = VirtualClock(), Trace()
    client = Client(base_url="https://api.test", api_key="k", clock=clock, trace=trace,
                    transport=always_429("3600"), max_429_tries=5, max_429_wait=2700)
    start = clock.now()
    assert client.request("GET", "/v1/me").status == 429
    assert len(trace) == 1 and clock.now() == start
    # A lawful Retry-After (SS-RATE-1 allows 3600 s) that no wait within the
    # deadline could honour proves nothing either way: not a violation.
    outcomes = judge_trace(CONTRACT, trace)
    assert not outcomes["SS-RATE-3"].violations and not outcomes["SS-RATE-1"].violations
