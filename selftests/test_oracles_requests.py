"""Self-tests of the request rule kinds (jobcontracts.oracles.requests,
idempotency, batches).

Each kind runs alone, with the params of a real `contracts/specstep.yaml`
check, over a hand-built trace: once satisfied, once violated, once with
nothing to judge.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobcontracts.oracles.batches import ANSWERED
from jobcontracts.trace import Exchange

from .oracle_kit import Traffic as BaseTraffic
from .oracle_kit import broken, check, ok

PAUSED = "PausedAwaitingClarification"
ERROR = {"error": {"code": "NOPE", "message": "no"}}


class Traffic(BaseTraffic):
    def interview(self, iid: str = "i1", user_turns: int = 1, **fields: Any) -> Exchange:
        turns = [{"role": "user", "text": f"t{n}"} for n in range(user_turns)]
        return self("GET", f"/v1/interviews/{iid}", 200,
                    {"id": iid, "status": "InProgress", "turns": turns,
                     "intake_artifact_id": None, **fields})

    def post_turn(self, status: int, iid: str = "i1", key: str | None = "k1",
                  text: str = "hello", body: Any = None, **kw: Any) -> Exchange:
        return self("POST", f"/v1/interviews/{iid}/turns", status,
                    body if body is not None else {"job_id": "j1"}, req={"message": text},
                    key=key, **kw)

    def turn_job(self, status: str, job: str = "j1", snapshot: Any = None) -> Exchange:
        return self("GET", f"/v1/interviews/turns/{job}", 200,
                    {"job_id": job, "interview_id": "i1", "status": status,
                     "snapshot": snapshot, "error_code": None, "is_retryable": None})

    def gen(self, state: str, wait: float = 1.0, **fields: Any) -> Exchange:
        return self("GET", "/v1/generations/g1", 200, {"id": "g1", "state": state, **fields},
                    wait=wait)

    def clar(self, state: str = PAUSED, questions: tuple[str, ...] = ("Q1", "Q2"),
             wait: float = 1.0) -> Exchange:
        return self("GET", "/v1/generations/g1/clarifications", 200,
                    {"state": state, "clarifications": [{"question": q} for q in questions]},
                    wait=wait)

    def answer(self, status: int, *questions: str, **kw: Any) -> Exchange:
        batch = {"answers": [{"question": q, "answer": "yes"} for q in questions]}
        return self("POST", "/v1/generations/g1/clarifications/answers", status,
                    {} if status == 200 else ERROR, req=batch, **kw)




# ---- status_for ----------------------------------------------------------------------


def test_status_for_credentials() -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})  # a valid key: not this check's business
    ok(check("SS-AUTH-1", "status_for", t), reached=0)
    t("GET", "/v1/me", 401, ERROR, credential="missing")
    t("POST", "/v1/interviews", 401, ERROR, credential="invalid")
    t("GET", "/v1/me", 429, ERROR, credential="missing")  # 429s are the rate rules'
    ok(check("SS-AUTH-1", "status_for", t), reached=2)
    t("POST", "/v1/interviews", 201, {"id": "i9"}, credential="invalid")
    broken(check("SS-AUTH-1", "status_for", t), 5, says="expected 401, got 201")


def test_status_for_after() -> None:
    t = Traffic()
    t.post_turn(202, key="k0")  # before completion: not selected
    t("POST", "/v1/interviews/i1/complete", 200, {"id": "i1", "status": "Completed"})
    t.post_turn(202, iid="i2", key="k0")  # another interview: not selected
    t.post_turn(409, key="k1")
    ok(check("SS-INT-3", "status_for", t), reached=1)
    t.post_turn(202, key="k2")
    broken(check("SS-INT-3", "status_for", t), 5, says="expected 409, got 202")


@pytest.mark.parametrize(("key", "selected"), [
    ("has space", True), ("", True), ("x" * 129, True), ("é", True),
    ("ok-Key_1.2:3", False), ("x" * 128, False), (None, False),
])
def test_status_for_invalid_idempotency_key(key: str | None, selected: bool) -> None:
    t = Traffic()
    t.interview()
    t.post_turn(400, key=key, body=ERROR)
    ok(check("SS-IDEM-1", "status_for", t), reached=int(selected))
    t.post_turn(202, key=key)
    v = check("SS-IDEM-1", "status_for", t)
    if selected:
        broken(v, 3, says="expected 400, got 202")
    else:
        ok(v, reached=0)


def test_status_for_leaves_an_interview_nobody_showed_alone() -> None:
    """An invalid key on an interview no answer showed: a 404 is lawful."""
    t = Traffic()
    t.post_turn(404, iid="made-up", key="has space", body=ERROR)
    ok(check("SS-IDEM-1", "status_for", t), reached=0)


def test_status_for_body_and_known_values() -> None:
    t = Traffic()
    t.interview(intake_artifact_id="in-1")
    for profile, status in [("Standard", 202), (0, 202), ("fast", 400), (True, 400), (3, 400)]:
        t("POST", "/v1/generations", status, {"id": "g"},
          req={"intake_id": "in-1", "review_profile": profile})
    # An unknown intake id that is not a UUID may as lawfully get 400: not judged.
    t("POST", "/v1/generations", 404, ERROR, req={"intake_id": "in-9", "review_profile": 1})
    t("POST", "/v1/generations", 404, ERROR,
      req={"intake_id": "00000000-0000-4000-8000-000000000009", "review_profile": 1})
    ok(check("SS-GEN-1", "status_for", t), reached=2)
    ok(check("SS-GEN-2", "status_for", t), reached=3)  # true is not 1 as JSON
    ok(check("SS-GEN-3", "status_for", t), reached=1)
    t("POST", "/v1/generations", 202, {"id": "g"},
      req={"intake_id": "in-1", "review_profile": "THOROUGH"})
    broken(check("SS-GEN-2", "status_for", t), 9, says="expected 400, got 202")


def test_status_for_known_means_seen_before() -> None:
    t = Traffic()
    t("POST", "/v1/generations", 404, ERROR, req={"intake_id": "in-1", "review_profile": 1})
    t.interview(intake_artifact_id="in-1")
    ok(check("SS-GEN-1", "status_for", t), reached=0)


# ---- no_side_effect ------------------------------------------------------------------


def test_no_side_effect_not_increased() -> None:
    t = Traffic()
    t.interview(user_turns=1)
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=1)
    ok(check("SS-RATE-2", "no_side_effect", t), reached=1)
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=2)
    broken(check("SS-RATE-2", "no_side_effect", t), 3, 4, 5,
           says="refused with 429 but turns grew from 1 to 2")


def test_unchanged_is_not_judged_after_an_accepted_write() -> None:
    """An accepted batch resumes the run at the next tick: a later 422 cannot be
    blamed for the change the tick brings."""
    t = Traffic()
    t.clar()
    t.answer(422, "Q1")
    t.clar()
    ok(check("SS-CLAR-3", "no_side_effect", t), reached=1)
    t.answer(200, "Q1", "Q2")
    t.clar()
    t.answer(422, "Q1")
    t.clar(state="Running", questions=())
    ok(check("SS-CLAR-3", "no_side_effect", t), reached=1)


def test_no_side_effect_allows_accepted_writes_in_between() -> None:
    t = Traffic()
    t.interview(user_turns=1)
    t.post_turn(429, body=ERROR)
    t.post_turn(202, key="k2")
    t.interview(user_turns=2)
    ok(check("SS-RATE-2", "no_side_effect", t), reached=1)


def test_a_change_with_two_refused_suspects_is_not_pinned_on_either_rule() -> None:
    """A 429 that committed inside a keyed 409's window: the turn may be either
    request's, so SS-IDEM-3 does not blame its 409, while a window of 429s
    alone is still SS-RATE-2's."""
    t = Traffic()
    t.interview(user_turns=1)
    t.post_turn(409, body=ERROR, key="k1")
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=2)
    ok(check("SS-IDEM-3", "no_side_effect", t), reached=0)
    ok(check("SS-RATE-2", "no_side_effect", t), reached=0)
    t.post_turn(409, body=ERROR, key="k1")
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=2)  # no change clears both suspects
    ok(check("SS-IDEM-3", "no_side_effect", t), reached=1)
    ok(check("SS-RATE-2", "no_side_effect", t), reached=1)
    t.post_turn(429, body=ERROR)
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=3)
    broken(check("SS-RATE-2", "no_side_effect", t), 7, 8, 9, 10, says="turns grew from 2 to 3")


def test_no_side_effect_not_reached() -> None:
    t = Traffic()
    t.post_turn(429, body=ERROR)
    t.interview(user_turns=5)  # nothing before the refusal to compare with
    t.post_turn(429, body=ERROR, iid="i2")
    ok(check("SS-RATE-2", "no_side_effect", t), reached=0)


def test_no_side_effect_unchanged() -> None:
    t = Traffic()
    t.clar()
    t.answer(422, "Q1")
    t.clar()
    ok(check("SS-CLAR-3", "no_side_effect", t), reached=1)
    t.answer(422, "Q1")
    t.clar(questions=("Q2",))
    broken(check("SS-CLAR-3", "no_side_effect", t), 3, 4, 5,
           says="refused with 422 but ['state', 'clarifications'] changed")


# ---- state_after ---------------------------------------------------------------------


def test_state_after() -> None:
    t = Traffic()
    t("POST", "/v1/interviews/i1/complete", 200, {"id": "i1", "status": "Completed"})
    ok(check("SS-INT-1", "state_after", t), reached=0)  # no later observation yet
    t.interview(status="Completed", intake_artifact_id="in-1")
    ok(check("SS-INT-1", "state_after", t), reached=1)
    t("POST", "/v1/interviews/i2/complete", 200, {"id": "i2", "status": "Completed"})
    t.interview("i2", status="Completed", intake_artifact_id=None)
    broken(check("SS-INT-1", "state_after", t), 3, 4, says="does not hold")


# ---- leaves_state_within -------------------------------------------------------------


def test_leaves_state_within() -> None:
    t = Traffic()
    t.answer(200, "Q1", "Q2")
    t.gen(PAUSED, wait=30)
    t.gen("Running", wait=30)
    ok(check("SS-CLAR-2", "leaves_state_within", t), reached=1)


def test_leaves_state_within_violated() -> None:
    t = Traffic()
    t.answer(422, "Q1")  # refused: not selected
    t.answer(200, "Q1", "Q2")
    t.gen(PAUSED, wait=30)
    t.gen(PAUSED, wait=150)
    broken(check("SS-CLAR-2", "leaves_state_within", t), 2, 4,
           says=f"still {PAUSED} 180 s after a 200 (allowed 120 s)")


def test_leaves_state_within_not_reached_when_polls_stop_early() -> None:
    t = Traffic()
    t.answer(200, "Q1", "Q2")
    t.gen(PAUSED, wait=30)
    t.gen(PAUSED, wait=60)
    ok(check("SS-CLAR-2", "leaves_state_within", t), reached=0)


def test_a_new_pause_between_two_polls_shows_the_answered_one_was_left() -> None:
    """The document's `Running ⇄ PausedAwaitingClarification`: a resume and a
    new pause may both fall between two polls. A pause asking a question the
    answered one did not is a new one; a list that only drops answered
    questions is not, nor is the same list again."""
    t = Traffic()
    t.clar()
    t.answer(200, "Q1", "Q2")
    t.gen(PAUSED, wait=60)
    t.clar(questions=("Q3",), wait=100)
    t.gen(PAUSED, wait=100)
    ok(check("SS-CLAR-2", "leaves_state_within", t), reached=1)
    late = Traffic()  # the new pause first listed after a poll past the deadline
    late.clar()
    late.answer(200, "Q1", "Q2")
    late.gen(PAUSED, wait=900)
    late.clar(questions=("Q3",))
    ok(check("SS-CLAR-2", "leaves_state_within", late), reached=0)
    for shown in (("Q2",), ("Q1", "Q2")):
        same = Traffic()
        same.clar()
        same.answer(200, "Q1", "Q2")
        same.gen(PAUSED, wait=60)
        same.clar(questions=shown, wait=100)
        same.gen(PAUSED, wait=100)
        broken(check("SS-CLAR-2", "leaves_state_within", same), 2, 5,
               says=f"still {PAUSED} 260 s after a 200")


# ---- agrees_with ---------------------------------------------------------------------


def test_agrees_with() -> None:
    t = Traffic()
    t.gen(PAUSED)
    t.clar()
    t.gen(PAUSED)
    ok(check("SS-CLAR-1", "agrees_with", t), reached=1)
    t.clar("Running")
    t.gen(PAUSED)
    broken(check("SS-CLAR-1", "agrees_with", t), 3, 4, 5,
           says=f"state='Running' but the generation shows {PAUSED!r} before and after")


def test_agrees_with_not_reached_when_the_other_moved() -> None:
    t = Traffic()
    t.gen(PAUSED)
    t.clar("Running", questions=())
    t.gen("Running")
    t.clar("Running", questions=())  # nothing after it
    ok(check("SS-CLAR-1", "agrees_with", t), reached=0)


def test_agrees_with_not_reached_across_a_resume_and_a_new_pause() -> None:
    """Paused, then Running and paused again between two polls: progress
    that moved shows it, and the listing read in between judges nothing."""
    t = Traffic()
    t.gen(PAUSED, progress_percent=55)
    t.clar("Running", questions=())
    t.gen(PAUSED, progress_percent=65)
    ok(check("SS-CLAR-1", "agrees_with", t), reached=0)
    t.clar("Running", questions=())
    t.gen(PAUSED, progress_percent=65)
    broken(check("SS-CLAR-1", "agrees_with", t), 3, 4, 5, says="state='Running'")


# ---- idempotent_replay ---------------------------------------------------------------

SNAP = {"id": "i1", "turns": [{"role": "user", "text": "hello"}]}


def test_replay_after_completion() -> None:
    t = Traffic()
    t.post_turn(202)
    t.turn_job("completed", snapshot=SNAP)
    t.post_turn(200, body={"job_id": None, "snapshot": SNAP})
    ok(check("SS-IDEM-2", "idempotent_replay", t), reached=1)


@pytest.mark.parametrize(("status", "body", "seqs", "says"), [
    (202, {"job_id": "j2"}, (3,), "expected 200 (original job j1 was 'completed' before it)"),
    (200, {"job_id": "j1", "snapshot": SNAP}, (1, 2, 3), "must carry job_id: null"),
    (200, {"job_id": None, "snapshot": {"id": "i1", "turns": []}}, (1, 2, 3),
     "the replayed snapshot differs"),
])
def test_replay_after_completion_violated(status: int, body: Any, seqs: tuple[int, ...],
                                          says: str) -> None:
    t = Traffic()
    t.post_turn(202)
    t.turn_job("completed", snapshot=SNAP)
    t.post_turn(status, body=body)
    broken(check("SS-IDEM-2", "idempotent_replay", t), *seqs, says=says)


def test_replay_not_reached() -> None:
    t = Traffic()
    t.post_turn(202)
    t.turn_job("completed", snapshot=SNAP)
    t.post_turn(202, key="k2", body={"job_id": "j2"})  # another key
    t.post_turn(429, body=ERROR)  # throttled: not judged
    t.post_turn(200, key="bad key", body={"job_id": "j1"})  # not a valid key
    for rule in ("SS-IDEM-2", "SS-IDEM-3", "SS-IDEM-4", "SS-IDEM-5"):
        ok(check(rule, "idempotent_replay", t), reached=0)


def test_replay_in_flight() -> None:
    t = Traffic()
    t.post_turn(202)
    t.turn_job("running")
    t.post_turn(409, body=ERROR)
    t.turn_job("running")
    ok(check("SS-IDEM-3", "idempotent_replay", t), reached=1)
    t.post_turn(202, body={"job_id": "j2"})
    t.turn_job("queued")
    broken(check("SS-IDEM-3", "idempotent_replay", t), 5,
           says="expected 409 (original job j1 still 'queued' after it), got 202")


def test_replay_in_flight_not_reached_once_done() -> None:
    t = Traffic()
    t.post_turn(202)
    t.turn_job("running")
    t.post_turn(202, body={"job_id": "j2"})
    t.turn_job("completed", snapshot=SNAP)  # it may have finished in between
    ok(check("SS-IDEM-3", "idempotent_replay", t), reached=0)


def test_replay_body_mismatch() -> None:
    t = Traffic()
    t.post_turn(202)
    t.post_turn(422, text="another", body=ERROR)
    ok(check("SS-IDEM-4", "idempotent_replay", t), reached=1)
    t.post_turn(202, text="a third", body={"job_id": "j3"})
    broken(check("SS-IDEM-4", "idempotent_replay", t), 3,
           says="expected 422 (same key as #1 with another body), got 202")


def test_replay_of_an_invalid_body_is_not_judged() -> None:
    """A retry whose body is invalid may be refused as invalid first (400)."""
    t = Traffic()
    t.post_turn(202)
    t("POST", "/v1/interviews/i1/turns", 400, ERROR, req={"message": 7}, key="k1")
    ok(check("SS-IDEM-4", "idempotent_replay", t), reached=0)


def test_replay_new_scope_unknown_interview_is_not_judged() -> None:
    t = Traffic()
    t.post_turn(202)
    t.post_turn(404, iid="made-up", body=ERROR)
    ok(check("SS-IDEM-5", "idempotent_replay", t), reached=0)


def test_replay_new_scope() -> None:
    t = Traffic()
    t.post_turn(202)
    t.post_turn(202, iid="i2", body={"job_id": "j2"})
    ok(check("SS-IDEM-5", "idempotent_replay", t), reached=1)
    t.post_turn(409, iid="i3", body=ERROR)
    broken(check("SS-IDEM-5", "idempotent_replay", t), 3,
           says="expected 202 (the key was used under another scope only), got 409")


# ---- all_or_nothing_batch ------------------------------------------------------------


def test_batch_exact() -> None:
    t = Traffic()
    t.clar()
    t.answer(200, "Q2", "Q1")  # order does not matter
    ok(check("SS-CLAR-2", "all_or_nothing_batch", t), reached=1)
    ok(check("SS-CLAR-3", "all_or_nothing_batch", t), reached=0)
    fresh = Traffic()
    fresh.clar()
    fresh.answer(422, "Q1", "Q2")
    broken(check("SS-CLAR-2", "all_or_nothing_batch", fresh), 1, 2,
           says="expected 200 (exact batch), got 422")


def test_batch_after_an_accepted_one_is_not_judged() -> None:
    """Until the resume, the documents do not say what a further batch gets."""
    t = Traffic()
    t.clar()
    t.answer(200, "Q1", "Q2")
    t.clar()
    t.answer(409, "Q1", "Q2")
    ok(check("SS-CLAR-2", "all_or_nothing_batch", t), reached=1)


@pytest.mark.parametrize(("asked", "says"), [
    (("Q1",), "leaves out ['Q2']"), (("Q1", "Q2", "Q3"), "names unknown ['Q3']"),
    (("Q1", "Q1", "Q2"), "repeats ['Q1']"), (("q1", "Q2"), "names unknown ['q1']"),
])
def test_batch_inexact(asked: tuple[str, ...], says: str) -> None:
    t = Traffic()
    t.clar()
    t.answer(422, *asked)
    ok(check("SS-CLAR-3", "all_or_nothing_batch", t), reached=1)
    t.clar()
    t.answer(200, *asked)
    broken(check("SS-CLAR-3", "all_or_nothing_batch", t), 3, 4, says=says)


def test_batch_not_paused() -> None:
    t = Traffic()
    t.clar("Running", questions=())
    t.answer(409, "Q1")
    t.clar("Running", questions=())
    ok(check("SS-CLAR-4", "all_or_nothing_batch", t), reached=1)
    t.answer(200, "Q9")
    t.clar("Running", questions=())
    broken(check("SS-CLAR-4", "all_or_nothing_batch", t), 3, 4,
           says="expected 409 (not paused before or after it), got 200")


def test_batch_after_an_accepted_one_gets_409() -> None:
    """SS-CLAR-4's second clause, judged only while a poll just after the
    batch still shows the pause that was answered."""
    t = Traffic()
    t.clar()
    t.answer(200, "Q1", "Q2")
    t.answer(409, "Q1", "Q2")
    t.clar()
    v = check("SS-CLAR-4", "all_or_nothing_batch", t)
    ok(v, reached=1)
    assert v.parts is not None and v.parts.judged == {ANSWERED}
    t.answer(200, "Q2", "Q1")
    t.clar()
    broken(check("SS-CLAR-4", "all_or_nothing_batch", t), 4, 5,
           says="a batch was already accepted for this pause")
    resumed = Traffic()
    resumed.clar()
    resumed.answer(200, "Q1", "Q2")
    resumed.answer(200, "Q1", "Q2")
    resumed.clar("Running", questions=())  # it may have landed after the resume
    ok(check("SS-CLAR-4", "all_or_nothing_batch", resumed), reached=0)


def test_a_batch_for_a_new_pause_is_not_a_second_batch() -> None:
    """A resume and a new pause between two polls: the batch answering the
    new pause's questions is exact, not a repeat for the answered one."""
    t = Traffic()
    t.clar()
    t.answer(200, "Q1", "Q2")
    t.clar(questions=("Q3",))
    t.answer(200, "Q3")
    t.clar(questions=("Q3",))
    ok(check("SS-CLAR-4", "all_or_nothing_batch", t), reached=0)


def test_batch_not_paused_alone_leaves_the_other_occasion_untried() -> None:
    t = Traffic()
    t.clar("Running", questions=())
    t.answer(409, "Q1")
    t.clar("Running", questions=())
    v = check("SS-CLAR-4", "all_or_nothing_batch", t)
    assert v.parts is not None and v.parts.members - v.parts.judged == {ANSWERED}


def test_batch_not_reached() -> None:
    t = Traffic()
    t.answer(200, "Q1", "Q2")  # no pending list seen before it
    t.clar()
    t("POST", "/v1/generations/g1/clarifications/answers", 422, ERROR,
      req={"answers": "Q1, Q2"})  # malformed: the generic rules judge it
    t.answer(200, "Q1", "Q2", credential="invalid")
    for rule in ("SS-CLAR-2", "SS-CLAR-3", "SS-CLAR-4"):
        ok(check(rule, "all_or_nothing_batch", t), reached=0)


def test_batch_pending_list_with_a_malformed_item_is_not_judged() -> None:
    t = Traffic()
    t("GET", "/v1/generations/g1/clarifications", 200,
      {"state": PAUSED, "clarifications": [{"question": "Q1"}, {"text": "Q2"}]})
    t.answer(422, "Q1")  # not provably exact: Q2's text is unknown
    ok(check("SS-CLAR-2", "all_or_nothing_batch", t), reached=0)
    ok(check("SS-CLAR-3", "all_or_nothing_batch", t), reached=0)
