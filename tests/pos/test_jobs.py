"""Jobs from creation to the end: POS-SCHEMA-1 (unknown ids), every POS-PROJ-*
rule on every poll, and POS-RESP-1 (answers the job is not waiting for).

Topic words steer the embedded simulator (`clarify`, `flaky`, `fail`,
`fail-early`, `smooth`: see `jobcontracts.sims.pos.jobs`); a live server
takes them as ordinary topics."""

import pytest

from jobcontracts.drivers.pos import unknown_job_id

pytestmark = pytest.mark.api("pos")

PROVIDER = "Square"
ANSWER = "Use the v2 API, every location, amounts in minor units."


def lifecycle(pos, topic, *, keep=0):
    """Create a job, probe respond while it is not paused, answer its question
    when it asks one, poll it to the end, and probe respond again."""
    d = pos.driver
    job_id = d.create_job(PROVIDER, topic, keep=keep)
    d.probe_respond(job_id, note="respond before any question")

    def answer(job_id, job):
        d.respond(job_id, ANSWER, note="answer the clarification")
        d.job(job_id)

    d.poll(job_id, on_paused=answer)
    d.probe_respond(job_id, note="respond after the end")
    return job_id


def test_unknown_job_ids_are_not_found(pos):
    d = pos.driver
    for _ in range(2):
        d.job(unknown_job_id(pos.unknown_id()), note="unknown job id")


def test_full_job(pos):
    """One paid job that reaches every POS rule on the simulator: it asks a
    question, and two test attempts fail before the third passes. (A
    `retries` that also counts the last failed attempt shows only on a job
    whose every attempt fails: `fail` comes first below for that reason.)"""
    lifecycle(pos, "daily sales clarify flaky")


@pytest.mark.parametrize("topic", ["fail", "flaky", "clarify", "fail-early", "smooth"])
def test_job_lifecycle(pos, topic):
    """Each fate once. Live, each is a paid job taken only from budget beyond
    the one `test_full_job` needs."""
    lifecycle(pos, f"orders {topic}", keep=1 if pos.live else 0)
