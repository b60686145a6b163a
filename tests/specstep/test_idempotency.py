"""Idempotency-Key on turns: SS-IDEM-1..5."""

import pytest
from hypothesis import example, given

from jobcontracts.drivers.specstep import accepted, body_of, new_key
from jobcontracts.strategies import idempotency_keys, turn_messages

pytestmark = pytest.mark.api("specstep")


@given(key=idempotency_keys(valid=False))
@example(key="")
@example(key="k" * 129)
@example(key="has space")
@example(key="a/b")
def test_invalid_keys_are_refused_and_commit_nothing(specstep, key):
    with specstep.example() as run:
        d = run.driver
        interview_id = d.create_interview()
        d.get_interview(interview_id)
        d.post_turn(interview_id, "Hello", key=key, note="invalid key")
        d.get_interview(interview_id)


def completed_turn(d, interview_id, message, key):
    """Post under `key` (then fresh keys after retryable failures) until a job
    completes; returns the key of the completed job."""
    for attempt in range(6):
        this_key = key if attempt == 0 else f"{key[:100]}.{attempt}"
        job_id = accepted(d.post_turn(interview_id, message, key=this_key), 202)["job_id"]
        if d.poll_turn(job_id)["status"] == "completed":
            return this_key
    pytest.fail("no turn completed in 6 attempts")


@given(key=idempotency_keys(valid=True), message=turn_messages())
@example(key="a", message="hello")
@example(key="Z" * 128, message="hello")
def test_retries_replay_refuse_or_start_anew(specstep, key, message):
    """One key through its life: replay after completion (200, the original
    snapshot), 409 while in flight, 422 with another body, new on another interview."""
    with specstep.example() as run:
        d = run.driver
        first = d.create_interview()
        d.get_interview(first)
        used = completed_turn(d, first, message, key)
        d.get_interview(first)
        d.post_turn(first, message, key=used, note="replay after completion")
        d.get_interview(first)

        in_flight = new_key()
        job = body_of(d.post_turn(first, "second", key=in_flight), 202)["job_id"]
        d.post_turn(first, "second", key=in_flight, note="retry while in flight")
        d.client.request("GET", f"/v1/interviews/turns/{job}")
        d.get_interview(first)
        d.poll_turn(job)

        d.post_turn(first, message + " (changed)", key=used, note="same key, other body")
        d.get_interview(first)

        second = d.create_interview()
        d.get_interview(second)
        d.post_turn(second, message, key=used, note="same key, other interview")
        d.get_interview(second)
