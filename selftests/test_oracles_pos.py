"""Self-tests of the POS contract's checks built from the general rule kinds,
and of what those kinds gained for it: `value_when`'s `forbidden`, the
`type` condition, and `status_for`'s `unknown_resource` and `around`
selections. Each runs a real `contracts/pos_adapter_scripts.yaml` check alone
over a hand-built trace: satisfied, violated, nothing to judge.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jobcontracts.oracles.context import holds
from jobcontracts.oracles.projection import ValueWhen

from .oracle_kit import JOBS, POS, PosTraffic, broken, check, error, ok


def pos(rule: str, kind: str, t: PosTraffic, nth: int = 0):
    return check(rule, kind, t, nth, contract=POS)


# ---- conditions and params -------------------------------------------------------------


@pytest.mark.parametrize(("value", "kind", "expected"), [
    ("x", "string", True), ("", "string", True), (None, "string", False), (1, "string", False),
    (1, "integer", True), (True, "integer", False), (1.5, "number", True),
    ([], "array", True), ({}, "object", True), (None, "null", True), (False, "boolean", True),
])
def test_the_type_condition(value: Any, kind: str, expected: bool) -> None:
    assert holds({"v": value}, {"v": {"type": kind}}) is expected
    assert holds({}, {"v": {"type": kind}}) is False


def test_value_when_takes_exactly_one_of_allowed_and_forbidden() -> None:
    with pytest.raises(ValidationError, match="exactly one of allowed, forbidden"):
        ValueWhen(record="job", field="f", condition={}, allowed=[1], forbidden=[2])
    with pytest.raises(ValidationError, match="exactly one of allowed, forbidden"):
        ValueWhen(record="job", field="f", condition={})


# ---- POS-AUTH-1 ------------------------------------------------------------------------


def test_keyless_requests_get_401() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/7", 401, error(401), credential="missing")
    t("POST", "/api/v1/adapter-scripts/generate", 401, error(401), credential="invalid")
    t.job()
    ok(pos("POS-AUTH-1", "status_for", t), reached=2)
    t("GET", f"{JOBS}/7", 200, {"code": 200}, credential="invalid")
    broken(pos("POS-AUTH-1", "status_for", t), 4, says="expected 401, got 200")


# ---- POS-SCHEMA-1: unknown ids ---------------------------------------------------------


def test_an_id_no_answer_showed_gets_404() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/999999", 404, error(404))
    t.job(job_id="7")
    t("GET", f"{JOBS}/7", 404, error(404))  # a known job: not this check's business
    ok(pos("POS-SCHEMA-1", "status_for", t), reached=1)
    t("GET", f"{JOBS}/888888", 410, error(410))
    broken(pos("POS-SCHEMA-1", "status_for", t), 4, says="expected 404, got 410")


def test_a_5xx_for_an_unknown_id_is_not_the_404_demanded() -> None:
    """A rule that demands a status judges a 5xx too (no_server_error also
    reports it); only a 429 and a missing answer are left out."""
    t = PosTraffic()
    t.job(job_id="123456789")
    t("GET", f"{JOBS}/6", 429, error(429))
    ok(pos("POS-SCHEMA-1", "status_for", t), reached=0)
    t("GET", f"{JOBS}/5", 500, error(500))
    broken(pos("POS-SCHEMA-1", "status_for", t), 3, says="expected 404, got 500")


# ---- POS-PROJ-1 ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "stage", "nth_value_when"), [
    ("pending", "queued", 0), ("pending", "queued", 1), ("running", "testing", 2),
    ("completed", "done", 3), ("failed", "done", 3),
])
def test_status_and_stage_agree(status: str, stage: str, nth_value_when: int) -> None:
    t = PosTraffic()
    t.job(status, stage, resultScriptId=9 if status == "completed" else 0)
    ok(pos("POS-PROJ-1", "value_when", t, nth_value_when), reached=1)


@pytest.mark.parametrize(("status", "stage", "nth_value_when", "says"), [
    ("pending", "gathering", 0, "job.stage='gathering' when {'job.status': 'pending'}"),
    ("running", "queued", 1, "job.status='running' when {'job.stage': 'queued'}"),
    ("running", "done", 2, "job.stage='done' when {'job.status': 'running'}"),
    ("failed", "testing", 3, "job.stage='testing' when"),
])
def test_status_and_stage_disagree(status: str, stage: str, nth_value_when: int,
                                   says: str) -> None:
    t = PosTraffic()
    t.job(status, stage)
    broken(pos("POS-PROJ-1", "value_when", t, nth_value_when), 1, says=says)


def test_a_paused_job_shows_its_question_and_keeps_it_after() -> None:
    t = PosTraffic()
    t.job("needs_clarification", "gathering", clarification="Which API version?")
    t.job("running", "generating", clarification="Which API version?", humanResponse="v2")
    t.job("running", "generating")
    ok(pos("POS-PROJ-1", "present_iff", t), reached=1)
    t.job("needs_clarification", "gathering", clarification="")
    broken(pos("POS-PROJ-1", "present_iff", t), 4, says="job.clarification is missing")


def test_a_paused_job_may_show_any_stage() -> None:
    t = PosTraffic()
    t.job("needs_clarification", "generating", clarification="Cursors or pages?")
    for nth in range(4):
        ok(pos("POS-PROJ-1", "value_when", t, nth), reached=0)


# ---- POS-PROJ-2 ------------------------------------------------------------------------


def test_a_script_id_exactly_when_completed() -> None:
    t = PosTraffic()
    t.job("completed", "done", resultScriptId=812)
    t.job("running", "testing", resultScriptId=0)
    t.job("failed", "done", resultScriptId=0)
    ok(pos("POS-PROJ-2", "value_when", t, 0), reached=1)
    ok(pos("POS-PROJ-2", "value_when", t, 1), reached=2)
    t.job("completed", "done", resultScriptId=0)
    t.job("running", "testing", resultScriptId=812)
    broken(pos("POS-PROJ-2", "value_when", t, 0), 4, says="job.resultScriptId=0 when "
           "{'job.status': 'completed'}; forbidden [0]")
    broken(pos("POS-PROJ-2", "value_when", t, 1), 5, says="allowed [0, None]")


# ---- POS-SCHEMA-3: field_type over each item of a list ----------------------------------


def test_every_item_timestamp_has_a_zone() -> None:
    t = PosTraffic()
    t.job(testResults=[], logs=[])
    t.job(logs=[{"stage": "gathering", "message": "m", "timestamp": "2026-05-29T10:00:00Z"},
                {"stage": "gathering", "message": "n",
                 "timestamp": "2026-05-29T10:00:01.5+00:00"}])
    ok(pos("POS-SCHEMA-3", "field_type", t, 1), reached=2)
    ok(pos("POS-SCHEMA-3", "field_type", t, 0), reached=0)  # no attempt yet: nothing to judge
    t.job(logs=[{"stage": "gathering", "message": "m", "timestamp": "2026-05-29T10:00:00Z"},
                {"stage": "gathering", "message": "n", "timestamp": "2026-05-29 10:00:01"}])
    broken(pos("POS-SCHEMA-3", "field_type", t, 1), 3,
           says="job.logs.*.timestamp: '2026-05-29 10:00:01' has no time zone")
    t.job(testResults=[{"attempt": 1, "timestamp": 1780000000}], logs=[])
    broken(pos("POS-SCHEMA-3", "field_type", t, 0), 4, says="is not an ISO 8601 string")


# ---- POS-PROJ-4 ------------------------------------------------------------------------


def test_a_200_envelope_says_success() -> None:
    t = PosTraffic()
    t.job()
    t.respond(200, body={"code": 200, "isSuccess": True, "message": "ok", "job": {}})
    ok(pos("POS-PROJ-4", "enum", t, 0), reached=2)
    ok(pos("POS-PROJ-4", "enum", t, 1), reached=2)
    t.job(envelope={"isSuccess": False, "code": "200"})
    broken(pos("POS-PROJ-4", "enum", t, 0), 3, says="isSuccess=False is not one of [True]")
    broken(pos("POS-PROJ-4", "enum", t, 1), 3, says="code='200' is not one of [200]")


# ---- POS-RESP-1 ------------------------------------------------------------------------


def test_an_answer_nobody_asked_for_gets_409_and_changes_nothing() -> None:
    t = PosTraffic()
    t.job("pending", "queued")
    t.respond(409)
    t.job("pending", "queued")
    t.job("completed", "done", resultScriptId=9)
    t.respond(409)
    t.job("completed", "done", resultScriptId=9)
    ok(pos("POS-RESP-1", "status_for", t), reached=2)
    ok(pos("POS-RESP-1", "no_side_effect", t), reached=2)


def test_an_answer_nobody_asked_for_accepted_is_wrong() -> None:
    t = PosTraffic()
    t.job("completed", "done", resultScriptId=9)
    t.respond(200, body={"code": 200, "isSuccess": True, "message": "ok", "job": {}})
    t.job("completed", "done", resultScriptId=9, humanResponse="Use v2.")
    broken(pos("POS-RESP-1", "status_for", t), 2, says="expected 409, got 200")


def test_a_refused_answer_that_is_recorded_anyway_is_wrong() -> None:
    t = PosTraffic()
    t.job("running", "generating")
    t.respond(409)
    t.job("running", "generating", humanResponse="Use v2.")
    broken(pos("POS-RESP-1", "no_side_effect", t), 1, 2, 3,
           says="refused with 409 but ['job.humanResponse'] changed")


@pytest.mark.parametrize("text", ["", None, 42, ["v2"]])
def test_a_malformed_answer_is_left_to_the_generic_rules(text: Any) -> None:
    t = PosTraffic()
    t.job("running", "generating")
    t.respond(400, text)
    t.job("running", "generating")
    ok(pos("POS-RESP-1", "status_for", t), reached=0)


@pytest.mark.parametrize("req", [
    {"humanResponse": "Use v2.", "extra": 1},  # an extra field
    {"humanResponse": "   "},  # blank
    {"humanResponse": "x" * 201},  # long
    {"humanResponse": "Use\u0000v2"},  # a control character
    {"humanResponse": "Use v2 \ud800"},  # a lone surrogate
])
def test_an_answer_a_server_may_refuse_for_its_own_sake_is_not_judged(req: Any) -> None:
    """A 400 or 422 there is lawful whichever check the server makes first."""
    t = PosTraffic()
    t.job("running", "generating")
    t("POST", f"{JOBS}/7/respond", 422, error(422), req=req)
    t.job("running", "generating")
    ok(pos("POS-RESP-1", "status_for", t), reached=0)


@pytest.mark.parametrize("status", [400, 422])
def test_a_plain_answer_refused_for_its_body_is_still_wrong(status: int) -> None:
    t = PosTraffic()
    t.job("running", "generating")
    t.respond(status, "Nobody asked, but: use the v2 API.")
    t.job("running", "generating")
    broken(pos("POS-RESP-1", "status_for", t), 2, says=f"expected 409, got {status}")


def test_an_accepted_answer_right_after_a_refused_one_is_its_own_effect() -> None:
    """The observation after a 409 may be an accepted respond's own 200: the
    change it shows is that answer's, not the refused one's."""
    t = PosTraffic()
    t.job("running", "gathering")
    t.respond(409)
    t.respond(200, body={"code": 200, "isSuccess": True, "message": "ok", "job": {
        "status": "running", "humanResponse": "Use v2."}})
    ok(pos("POS-RESP-1", "no_side_effect", t), reached=0)


def test_an_answer_to_a_waiting_job_or_one_not_bracketed_by_polls_is_not_judged() -> None:
    t = PosTraffic()
    t.respond(200, body={"code": 200})  # no poll before it
    t.job("needs_clarification", "gathering", clarification="Which version?")
    t.respond(200, body={"code": 200})
    t.job("running", "gathering", clarification="Which version?", humanResponse="Use v2.")
    t.job("needs_clarification", "gathering", clarification="Again?", job_id="8")
    t.respond(409, job_id="8")  # no poll after it
    ok(pos("POS-RESP-1", "status_for", t), reached=0)


def test_the_contract_has_every_pos_rule_of_the_defaults_document() -> None:
    defaults = Path(__file__).resolve().parents[1] / "specs" / "CONTRACT-DEFAULTS.md"
    documented = set(re.findall(r"POS-[A-Z]+-\d+", defaults.read_text(encoding="utf-8")))
    assert len(documented) == 7
    ids = {rule.id for rule in POS.rules}
    # Beyond CONTRACT-DEFAULTS: rules of sentences of the document itself.
    assert ids >= documented
    assert all(POS.rule(rule_id).source == "document" for rule_id in ids - documented)
    assumed = {name for name, e in POS.endpoints.items() if e.source == "assumed"}
    assert assumed == {"generate", "respond"}
    assert POS.endpoints["generate"].paid
