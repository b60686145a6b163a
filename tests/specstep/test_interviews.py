"""Interviews and turn jobs: SS-TURN-*, SS-INT-*, and messages that trip servers up."""

import pytest

from jobcontracts.drivers.specstep import body_of
from jobcontracts.session import ScenarioError

pytestmark = pytest.mark.api("specstep")


def test_interview_lifecycle(specstep):
    """The document's flow, with re-polls of finished jobs and a double complete."""
    d = specstep.driver
    interview_id = d.create_interview()
    d.get_interview(interview_id)
    jobs = []
    for message in ["I want to build a customer-feedback portal.",
                    "Customers log in with their email.", "Admins export CSV reports."]:
        for _attempt in range(6):
            # SS-TURN-0 judges the status; a job is a job either way.
            posted = d.post_turn(interview_id, message)
            job_id = body_of(posted, 202, 200).get("job_id")
            if not isinstance(job_id, str):
                raise ScenarioError(f"#{posted.seq}: a turn answered with no job_id")
            jobs.append(job_id)
            if d.poll_turn(job_id)["status"] == "completed":
                break
        d.get_interview(interview_id)
    d.wait_a_while()
    for job_id in jobs:  # terminal jobs stay as they were
        d.get_turn(job_id, note="re-poll of a finished job")
    d.complete(interview_id)
    d.get_interview(interview_id)
    d.complete(interview_id)
    d.get_interview(interview_id)
    d.post_turn(interview_id, "One more thing after completing.")
    d.get_interview(interview_id)


@pytest.mark.parametrize("message", [
    "", "Emoji and astral plane: \U0001f389 \U0001d518 \U0002070e",
    "RTL \u202e and zero width \u200b and NUL \x00",
], ids=["empty", "astral", "controls"])
def test_awkward_messages_are_committed_or_refused_cleanly(specstep, message):
    """Messages that trip servers up: never a 5xx, always JSON; an accepted one
    runs as a job. (Any other message: `test_schemathesis.py` fuzzes them.)"""
    with specstep.example() as run:
        d = run.driver
        interview_id = d.create_interview()
        d.get_interview(interview_id)
        posted = d.post_turn(interview_id, message)
        d.get_interview(interview_id)
        if posted.status == 202 and isinstance(posted.json, dict) and posted.json.get("job_id"):
            d.poll_turn(posted.json["job_id"])
            d.get_interview(interview_id)
