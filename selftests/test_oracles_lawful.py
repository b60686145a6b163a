"""`otherwise_valid`, `fresh_header`, `not_after`: a rule that demands one status
judges only requests no other lawful refusal explains (oracles/lawful.py)."""

from __future__ import annotations

import pytest

from jobcontracts.oracles.lawful import otherwise_valid, plain_text

from .oracle_kit import CONTRACT, check, ok
from .oracle_kit import broken as broken_check
from .test_oracles_requests import ERROR, Traffic

COMPLETED = {"id": "i1", "status": "Completed", "intake_artifact_id": None, "turns": []}


@pytest.mark.parametrize(("text", "plain"), [
    ("hello", True), ("Grüße, 你好", True), ("x" * 1000, True),
    ("", False), ("   ", False), ("x" * 1001, False), ("NUL \x00", False),
    ("zero\u200bwidth", False), ("RTL \u202e", False), ("emoji \U0001f389", False),
])
def test_plain_text(text: str, plain: bool) -> None:
    assert plain_text(text) is plain


@pytest.mark.parametrize(("body", "valid"), [
    ({"message": "hello"}, True),
    ({"message": ""}, False),             # an empty message: a server may refuse it
    ({"message": "hi", "extra": 1}, False),  # a field the endpoint does not declare
    ({"message": 7}, False),              # breaks the request schema
    ({}, False),                          # a required field left out
    (["message"], False),
])
def test_otherwise_valid_body(body: object, valid: bool) -> None:
    t = Traffic()
    ex = t("POST", "/v1/interviews/i1/turns", 202, {"job_id": "j1"}, req=body)
    assert otherwise_valid(ex, CONTRACT.endpoints["post_turn"]) is valid


def test_otherwise_valid_exempts_what_the_rule_is_about() -> None:
    t = Traffic()
    bad_key = t("POST", "/v1/interviews/i1/turns", 400, ERROR, req={"message": "hi"},
                key="has space")
    endpoint = CONTRACT.endpoints["post_turn"]
    assert not otherwise_valid(bad_key, endpoint)
    assert otherwise_valid(bad_key, endpoint, exempt=["Idempotency-Key"])
    profile = t("POST", "/v1/generations", 400, ERROR,
                req={"intake_id": "x", "review_profile": "fast"})
    assert not otherwise_valid(profile, CONTRACT.endpoints["create_generation"])
    assert otherwise_valid(profile, CONTRACT.endpoints["create_generation"],
                           exempt=["review_profile"])


def completed(t: Traffic) -> None:
    t.interview()
    t.post_turn(202, key="k1")
    t("POST", "/v1/interviews/i1/complete", 200, COMPLETED)


def test_a_turn_after_complete_refused_for_its_body_is_not_judged() -> None:
    """The issue's false positive: an empty message to a completed interview
    got 400 from a server that validates the body before the state."""
    t = Traffic()
    completed(t)
    t.post_turn(400, key=None, text="", body=ERROR)
    t.post_turn(422, key=None, text="x" * 5000, body=ERROR)
    ok(check("SS-INT-3", "status_for", t), reached=0)
    t.post_turn(409, key=None, text="one more thing", body=ERROR)
    ok(check("SS-INT-3", "status_for", t), reached=1)
    t.post_turn(202, key=None, text="and another")
    broken_check(check("SS-INT-3", "status_for", t), 7, says="expected 409, got 202")


def test_a_reused_key_after_complete_may_replay() -> None:
    """fresh_header: a retry under the original's key may be answered from the
    idempotency record (SS-IDEM-2) rather than by the state (SS-INT-3)."""
    t = Traffic()
    completed(t)
    t.post_turn(200, key="k1", body={"job_id": None, "snapshot": COMPLETED})
    ok(check("SS-INT-3", "status_for", t), reached=0)


def test_an_invalid_key_on_a_completed_interview_may_get_409() -> None:
    """not_after: once the interview is completed, 409 is as lawful as 400."""
    t = Traffic()
    completed(t)
    t.post_turn(409, key="has space", body=ERROR)
    ok(check("SS-IDEM-1", "status_for", t), reached=0)
