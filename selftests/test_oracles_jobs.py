"""Self-tests of the rule kinds the convert/goal jobs contract adds for its
models, lifecycles, slots and files (jobcontracts.oracles.models, lifecycle,
slots, files; the marketplace and billing kinds: test_oracles_jobs_market.py).

Each kind runs alone, with the params of a real `contracts/jobs.yaml` check,
over a hand-built trace: a lawful trace passes, each way of breaking it is
caught with a message that names the field, and garbage is a violation (or
not judged), never an exception.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobcontracts.oracles.files import multipart_parts
from jobcontracts.oracles.models import offset_problem
from jobcontracts.oracles.slots import value_verdict

from .jobs_oracle_kit import (
    ERROR,
    T0,
    T1,
    JobsTraffic,
    check,
    convert_body,
    event,
    file_body,
    goal_body,
    quota_body,
    result_file,
    slot,
    workflow_body,
)
from .oracle_kit import broken, ok

# ---- model_conformance (JOB-MODEL-1) ------------------------------------------------------


def test_every_lawful_model_passes() -> None:
    t = JobsTraffic()
    t("POST", "/v1/files", 201, file_body())
    t("GET", "/v1/files/f1", 200, file_body(job_id="c1"))
    t("POST", "/v1/convert", 202, convert_body(), req={"file_ids": ["f1"],
                                                       "processor_type": "ocr"})
    for status in ("processing", "completed", "failed"):
        t.convert(status)
    t.goal("slots_pending")
    t.action("confirm", 200, status="confirmed")
    t("GET", "/v1/workflows", 200, {"items": [{"workflow_id": "w1", "name": "x"}],
                                    "cursor": None})
    t.workflow(extra_open_field=True)            # open: more keys are fine
    t.like(True, 8)
    t("GET", "/v1/account/plan", 200, {"tier": "pro", "since": T0})
    t.quota("tools=web_search&max_iterations=1", quota_body())
    t.ws([event("status", 1, data={"status": "executing"}), event("completed", 2, extra=1)])
    ok(check("JOB-MODEL-1", "model_conformance", t), reached=15)


@pytest.mark.parametrize(("body", "says"), [
    (convert_body("completed", result_files=[{k: v for k, v in result_file().items()
                                              if k != "url"}]),
     "ConvertJob.result_files[0].url: missing"),
    (convert_body(status="done"), "ConvertJob.status: 'done' is not one of"),
    (convert_body(object="convert_job"), "ConvertJob.object: unexpected key"),
    (convert_body("failed", error={"code": "x", "message": "y", "hint": "z"}),
     "ConvertJob.error.hint: unexpected key"),
    (convert_body(error="oops"), "ConvertJob.error: 'oops' is not JobError or null"),
    (convert_body(progress="10"), "ConvertJob.progress: '10' is not an integer"),
    (convert_body(started_at=5), "ConvertJob.started_at: 5 is not a string or null"),
    ({k: v for k, v in convert_body().items() if k != "estimated_duration"},
     "ConvertJob.estimated_duration: missing"),
    ([1, 2], "ConvertJob: [1, 2] is not an object"),
])
def test_a_convert_job_off_its_model_names_the_field(body: Any, says: str) -> None:
    t = JobsTraffic()
    t.convert()
    t("GET", "/v1/convert/c1", 200, body)
    broken(check("JOB-MODEL-1", "model_conformance", t), 2, says=says)


def test_a_strict_nested_model_names_the_item() -> None:
    t = JobsTraffic()
    slots = [slot(), slot("name", None, extra="x"), slot("size", ["s", {"value": 3}])]
    t.goal("slots_pending", pending_slots=slots)
    v = check("JOB-MODEL-1", "model_conformance", t)
    broken(v, 1, says="GoalJob.pending_slots[1].extra: unexpected key")
    broken(v, 1, says="GoalJob.pending_slots[2].options[1].value: 3 is not a string")


def test_open_models_still_need_their_fields_and_literals() -> None:
    t = JobsTraffic()
    body = workflow_body(visibility="hidden")
    del body["stats"]["like_count"]
    t("GET", "/v1/workflows/w1", 200, body)
    t("GET", "/v1/account/plan", 200, {"tier": "enterprise"})
    v = check("JOB-MODEL-1", "model_conformance", t)
    broken(v, 1, 2, says="Workflow.stats.like_count: missing")
    broken(v, 1, 2, says="Workflow.visibility: 'hidden' is not one of")
    broken(v, 1, 2, says="Plan.tier: 'enterprise' is not one of ['free', 'pro']")


def test_garbage_bodies_and_messages_are_violations() -> None:
    t = JobsTraffic()
    t("GET", "/v1/convert/c1", 200, raw=b"<html>oops</html>", ctype="text/html")
    t("POST", "/v1/files", 201, raw=b"")
    t.ws(["not json", event(seq="one")])
    v = check("JOB-MODEL-1", "model_conformance", t)
    broken(v, 1, 2, 3, says="ConvertJob: the 200 answer is not JSON")
    broken(v, 1, 2, 3, says="GoalEvent: message 1 is not JSON")
    broken(v, 1, 2, 3, says="message 2 is not a valid GoalEvent: GoalEvent.seq: 'one'")


def test_unnamed_answers_are_not_judged() -> None:
    t = JobsTraffic()
    t("GET", "/v1/convert/c1", 404, ERROR)        # an error is JOB-ERR-1's
    t("GET", "/v1/convert/c1", 200, convert_body(), credential="invalid")
    ok(check("JOB-MODEL-1", "model_conformance", t), reached=1)


# ---- datetime_offsets (JOB-MODEL-2) -------------------------------------------------------


def test_utc_offsets_pass_and_others_are_named() -> None:
    t = JobsTraffic()
    t.convert("completed")                        # Z, +00:00, fractions, nulls
    t.ws([event(emitted_at="2026-01-05T09:00:00.5+00:00")])
    ok(check("JOB-MODEL-2", "datetime_offsets", t), reached=2)
    t.convert(created_at="2026-01-05T09:00:00")
    t.goal(started_at="2026-01-05T10:00:00+01:00")
    t.ws([event(emitted_at=1767600000)])
    t("POST", "/v1/files", 201, file_body(created_at="yesterday"))
    v = check("JOB-MODEL-2", "datetime_offsets", t)
    broken(v, 3, 4, 5, 6, says="ConvertJob.created_at: '2026-01-05T09:00:00' has no UTC offset")
    broken(v, 3, 4, 5, 6, says="GoalJob.started_at: '2026-01-05T10:00:00+01:00': its offset "
                               "is not UTC")
    broken(v, 3, 4, 5, 6, says="GoalEvent.emitted_at: 1767600000 is not an ISO 8601 string")
    broken(v, 3, 4, 5, 6, says="File.created_at: 'yesterday' is not ISO 8601")


def test_nested_datetimes_and_garbage() -> None:
    t = JobsTraffic()
    t("GET", "/v1/convert/c1", 200, raw=b"garbage")          # the model rule's finding
    ok(check("JOB-MODEL-2", "datetime_offsets", t), reached=0)
    t("GET", "/v1/convert/c1", 200, {"created_at": None, "started_at": [T0]})
    broken(check("JOB-MODEL-2", "datetime_offsets", t), 2,
           says="ConvertJob.started_at: ['2026-01-05T09:00:00Z'] is not an ISO 8601 string")
    assert offset_problem("2026-01-05T09:00:00-00:00", ["Z", "+00:00"]) == (
        "'2026-01-05T09:00:00-00:00': its offset writes UTC another way (expected Z or +00:00)")
    assert offset_problem("2026-01-05", ["Z"]) is not None


# ---- gated_action (JOB-GOAL-2 confirm/cancel, JOB-SLOT-3) ---------------------------------


def test_confirm_is_lawful_only_when_ready() -> None:
    t = JobsTraffic()
    t.goal("ready")
    t.action("confirm", 200, status="confirmed")
    t.goal("ready_with_preview")
    t.action("confirm", 200, status="confirmed")
    t.goal("executing")
    t.action("confirm", 409)
    t.goal("executing")                           # still executing after: it was refused right
    ok(check("JOB-GOAL-2", "gated_action", t), reached=3)
    t.goal("ready")
    t.action("confirm", 409)
    broken(check("JOB-GOAL-2", "gated_action", t), 8, 9,
           says="confirm_goal with status 'ready': expected 200, got 409")


def test_a_state_that_may_have_moved_is_not_judged() -> None:
    t = JobsTraffic()
    t.goal("analyzing")
    t.action("confirm", 409)                      # it may not have been ready yet
    t.goal("ready")
    ok(check("JOB-GOAL-2", "gated_action", t), reached=0)
    t.goal("queued")
    t.action("confirm", 200, status="queued")     # queued is past every ready state
    broken(check("JOB-GOAL-2", "gated_action", t), 4, 5,
           says="confirm_goal with status 'queued': expected 409, got 200")


def test_cancel_is_refused_only_on_a_terminal_job() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.action("cancel", 200, status="cancelled")
    t.action("cancel", 409)                       # the cancel's own answer showed cancelled
    t.goal("cancelled")
    t.action("cancel", 409)
    ok(check("JOB-GOAL-2", "gated_action", t, nth=1), reached=3)
    ok(check("JOB-GOAL-2", "no_side_effect", t, nth=1), reached=1)
    ok(check("JOB-GOAL-2", "enum", t), reached=1)
    t.goal("completed")
    t.action("cancel", 200, status="completed")
    v = check("JOB-GOAL-2", "gated_action", t, nth=1)
    broken(v, 6, 7, says="cancel_goal with status 'completed': expected 409, got 200")
    broken(check("JOB-GOAL-2", "enum", t), 7, says="status='completed' is not one of")


def test_an_unanswered_mover_unsettles_a_stable_state() -> None:
    t = JobsTraffic()
    t.goal("ready")
    t("POST", "/v1/goals/g1/cancel", 0, error="timeout")
    t.action("confirm", 409)                      # the cancel may have landed
    ok(check("JOB-GOAL-2", "gated_action", t), reached=0)


def test_a_fill_outside_the_pause_gets_409() -> None:
    t = JobsTraffic()
    t.goal("ready")
    t.fill("tone", "formal", 409)
    t.goal("slots_pending")
    t.fill("tone", "formal", 200, goal_body("slots_pending"))   # lawful: not this check's
    ok(check("JOB-SLOT-3", "gated_action", t), reached=1)
    t.goal("completed")
    t.fill("tone", "formal", 404)
    broken(check("JOB-SLOT-3", "gated_action", t), 5, 6,
           says="fill_slot with status 'completed': expected 409, got 404")


# ---- slot_fill (JOB-SLOT-1, -2, -3) ---------------------------------------------------------


def filled(value: Any, left: list[dict[str, Any]] | None = None, **fields: Any) -> Any:
    pending = [slot("name", None)] if left is None else left
    return goal_body("slots_pending", pending_slots=pending,
                     filled_slots={"tone": value}, **fields)


def test_a_lawful_fill_shows_the_slot_filled() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("tone", "casual", 200, filled("casual"))               # a {"value"} option
    t.fill("name", "Ada", 200, goal_body("analyzing", filled_slots={"tone": "casual",
                                                                      "name": "Ada"}))
    ok(check("JOB-SLOT-1", "slot_fill", t), reached=5)   # each: status, slot filled; a resume


def test_a_fill_the_answer_does_not_show_is_caught() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("tone", "formal", 200, filled("casual", left=[slot(), slot("name", None)]))
    broken(check("JOB-SLOT-1", "slot_fill", t), 2, says="'tone' with 'formal', but it is "
                                                        "still pending")
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("tone", "formal", 200, filled("casual"))
    broken(check("JOB-SLOT-1", "slot_fill", t), 2,
           says="filled_slots['tone'] is 'casual'")


def test_a_lawful_fill_refused_is_caught() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("name", "Ada", 422)
    broken(check("JOB-SLOT-1", "slot_fill", t), 1, 2,
           says="slot 'name' = 'Ada': expected 200, got 422")


def test_the_job_resumes_once_no_required_slot_is_left() -> None:
    t = JobsTraffic()
    t.goal("slots_pending", pending_slots=[slot()])
    t.fill("tone", "formal", 200, filled("formal", left=[]))
    t.goal("slots_pending", pending_slots=[], filled_slots={"tone": "formal"}, wait=30)
    ok(check("JOB-SLOT-1", "slot_fill", t), reached=2)
    t.goal("slots_pending", pending_slots=[], filled_slots={"tone": "formal"}, wait=60)
    broken(check("JOB-SLOT-1", "slot_fill", t), 2, 4, says="still slots_pending 90 s later")


@pytest.mark.parametrize(("slot_id", "value"), [
    ("tone", "Formal"), ("tone", None), ("tone", {"value": "casual"}), ("name", ""),
    ("name", None)])
def test_a_value_outside_the_options_or_empty_gets_422(slot_id: str, value: Any) -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill(slot_id, value, 422)
    t.goal("slots_pending")
    ok(check("JOB-SLOT-2", "slot_fill", t), reached=1)
    ok(check("JOB-SLOT-2", "no_side_effect", t), reached=1)
    t.fill(slot_id, value, 200, goal_body("slots_pending"))
    broken(check("JOB-SLOT-2", "slot_fill", t), 3, 4, says="expected 422, got 200")


def test_a_refused_fill_that_changed_the_job_is_caught() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("tone", "nope", 422)
    t.goal("slots_pending", item_version=2)
    broken(check("JOB-SLOT-2", "no_side_effect", t), 1, 2, 3, says="refused with 422")


def test_an_unknown_or_filled_slot_gets_404() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("colour", "red", 404)
    t.goal("slots_pending")
    ok(check("JOB-SLOT-3", "slot_fill", t), reached=1)
    ok(check("JOB-SLOT-3", "no_side_effect", t, nth=1), reached=1)
    t.fill("colour", "red", 422)
    broken(check("JOB-SLOT-3", "slot_fill", t), 3, 4,
           says="slot 'colour' is not pending: expected 404, got 422")


def test_slot_fill_ignores_what_no_rule_covers() -> None:
    t = JobsTraffic()
    t.goal("slots_pending")
    t.fill("name", 42, 422)                                          # a number for free text
    t("POST", "/v1/goals/g1/slots/name", 400, ERROR, req={"value": "x", "extra": 1})
    t("POST", "/v1/goals/g1/slots/name", 400, ERROR)                # no body at all
    t.goal("slots_pending", pending_slots=[slot(required=False)])   # only optional left
    t.fill("tone", "formal", 409)                                   # it may have resumed
    for rule in ("JOB-SLOT-1", "JOB-SLOT-2", "JOB-SLOT-3"):
        ok(check(rule, "slot_fill", t), reached=0)


def test_value_verdicts() -> None:
    assert value_verdict(slot(), "formal") == "lawful"
    assert value_verdict(slot(), "casual") == "lawful"
    assert value_verdict(slot(), "informal") == "refused"
    assert value_verdict(slot(options=["", "a"]), "") is None       # an option, yet empty
    assert value_verdict(slot("n", None, required=False), "") is None
    assert value_verdict(slot("n", None), "  ") is None
    assert value_verdict({**slot(), "options": "garbage"}, "x") is None


# ---- upload_echo (JOB-FILE-1) ---------------------------------------------------------------


def test_an_upload_is_echoed_as_its_file() -> None:
    t = JobsTraffic()
    t.upload(201, file_body(filename="naïve résumé.pdf", size=4, content_type="application/pdf"),
             files={"file": ("naïve résumé.pdf", b"%PDF", "application/pdf")})
    t("GET", "/v1/files/f1", 200, file_body(filename="naïve résumé.pdf", size=4,
                                            content_type="application/pdf", job_id="c1"))
    t.upload(400, ERROR, files={"other": (None, b"x")})
    ok(check("JOB-FILE-1", "upload_echo", t), reached=4)


def test_an_upload_echoed_wrong_names_the_fields() -> None:
    t = JobsTraffic()
    t.upload(201, file_body(size=6, is_input=False), files={"file": ("a.txt", b"hello",
                                                                    "text/plain")})
    broken(check("JOB-FILE-1", "upload_echo", t), 1, says="size: 5 sent, 6 answered; "
                                                          "is_input: True sent, False")
    t = JobsTraffic()
    t.upload(201, file_body(), files={"file": ("a.txt", b"hello", "text/plain")})
    t("GET", "/v1/files/f1", 200, file_body(filename="b.txt"))
    broken(check("JOB-FILE-1", "upload_echo", t), 1, 2, says="shows other ['filename']")


def test_an_upload_without_the_file_part_gets_400() -> None:
    t = JobsTraffic()
    t.upload(201, file_body(), files={"other": (None, b"x")})
    broken(check("JOB-FILE-1", "upload_echo", t), 1,
           says="no part named 'file': expected 400, got 201")


def test_an_upload_with_no_body_at_all_gets_400() -> None:
    """No body has no file part either (schemathesis's coverage phase sends one)."""
    t = JobsTraffic()
    t("POST", "/v1/files", 400, ERROR)
    ok(check("JOB-FILE-1", "upload_echo", t), reached=1)
    t("POST", "/v1/files", 201, file_body())
    broken(check("JOB-FILE-1", "upload_echo", t), 2,
           says="no part named 'file': expected 400, got 201")


def test_upload_garbage() -> None:
    t = JobsTraffic()
    t.upload(201, None, files={"file": ("a.txt", b"hello", "text/plain")})
    t.replace_last(response_body=b"not json")
    t("POST", "/v1/files", 400, ERROR, req={"file": "not multipart"})
    broken(check("JOB-FILE-1", "upload_echo", t), 1, says="not a JSON object")


def test_multipart_parts() -> None:
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\\\"b.txt\"\r\n"
            b"\r\nbody\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; "
            b"filename*=utf-8''%E2%82%AC.txt\r\nContent-Type: text/x\r\n\r\n\r\n--XX--\r\n")
    parts = multipart_parts("multipart/form-data; boundary=XX", body)
    assert parts is not None
    assert [(p.name, p.filename, p.content_type, p.content) for p in parts] == [
        ("file", None, None, b"body\r\n"), ("f", "€.txt", "text/x", b"")]
    assert multipart_parts("application/json", body) is None
    assert multipart_parts("multipart/form-data; boundary=XX", b"--XX\r\ncut") is None
    assert multipart_parts(None, b"") is None


# ---- presigned_files (JOB-CONV-3) -------------------------------------------------------------


def test_presigned_result_files_serve_what_they_say() -> None:
    t = JobsTraffic()
    t.convert("completed")
    t("GET", "/r/a.md", 200, raw=b"# x", ctype="text/markdown; charset=utf-8",
      url="https://files.test/r/a.md?sig=x", credential="none", origin="external")
    t.convert("completed")                                           # the same file: once
    ok(check("JOB-CONV-3", "presigned_files", t), reached=1)


@pytest.mark.parametrize(("status", "raw", "ctype", "says"), [
    (403, b"", "text/plain", "fetched with no credential, got 403"),
    (200, b"#", "text/markdown", "1 bytes, but size says 3"),
    (200, b"# x", "application/octet-stream", "Content-Type 'application/octet-stream'"),
])
def test_presigned_result_files_that_lie(status: int, raw: bytes, ctype: str,
                                         says: str) -> None:
    t = JobsTraffic()
    t.convert("completed")
    t("GET", "/r/a.md", status, raw=raw, ctype=ctype, url="https://files.test/r/a.md?sig=x",
      credential="none", origin="external")
    broken(check("JOB-CONV-3", "presigned_files", t), 1, 2, says=says)


# ---- the lifecycle helpers (JOB-CONV-1, JOB-GOAL-1, JOB-BILL-1) -------------------------------


def test_time_non_decreasing() -> None:
    t = JobsTraffic()
    t.convert("processing", updated_at=T1)
    t.convert("processing", updated_at="2026-01-05T10:00:05+01:00")   # the same instant
    t.convert("processing", updated_at="garbage")                    # the model rules'
    ok(check("JOB-CONV-1", "time_non_decreasing", t), reached=1)
    t.convert("processing", updated_at=T0)
    broken(check("JOB-CONV-1", "time_non_decreasing", t), 2, 4, says="updated_at went back")


def test_non_null_after() -> None:
    t = JobsTraffic()
    t.goal("analyzing")
    t.goal("cancelled", started_at=None)           # cancelled before executing: may be null
    ok(check("JOB-GOAL-1", "non_null_after", t), reached=0)
    t = JobsTraffic()
    t.goal("executing")
    t.goal("failed", started_at=None)
    broken(check("JOB-GOAL-1", "non_null_after", t), 1, 2, says="['started_at'] null after")


def test_field_compare() -> None:
    t = JobsTraffic()
    t.quota("tools=web_search&max_iterations=1", quota_body(state="quota_exceeded",
                                                            estimated_micro_u=1001))
    t.quota("tools=web_search&max_iterations=1", quota_body(state="soft_limit"))
    ok(check("JOB-BILL-1", "field_compare", t), reached=1)
    ok(check("JOB-BILL-1", "field_compare", t, nth=1), reached=1)
    t.quota("tools=web_search&max_iterations=1", quota_body(state="quota_exceeded",
                                                            estimated_micro_u=1000))
    t.quota("tools=web_search&max_iterations=1", quota_body(estimated_micro_u="lots"))
    broken(check("JOB-BILL-1", "field_compare", t), 3,
           says="quota_check.estimated_micro_u=1000 > quota_check.threshold_micro_u=1000 "
                "does not hold")
    broken(check("JOB-BILL-1", "field_compare", t, nth=1), 4, says="'lots' is not a number")
