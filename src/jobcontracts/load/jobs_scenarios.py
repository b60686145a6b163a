"""The convert/goal jobs API's load scenarios, through the suite's `JobsDriver`
(`scenarios.py` holds the other APIs' and the machinery they share).

The ordinary traffic: uploads, convert jobs polled to their end (their result
files downloaded), goal jobs polled to their end (slots filled lawfully,
confirmed) with their event WebSocket read once they have ended (the stream
is then sent whole and closed: no reader waits on a running job), the
marketplace (search, a like toggled twice) and billing (plan, quota). The
races: fills of one pending slot of one paused goal job (`LOAD-BATCH-1`),
concurrent uploads and convert and goal creates (`LOAD-CREATE-1`), and plan
reads bursting into the rate limiter (`LOAD-RATE-1`).

Creating a convert or goal job is paid: the driver spends the run's
`--max-generations` budget before each create, as the suite does, and a
scenario the budget cannot pay for is not started (`Stage.can_pay`), so a
live run with no budget only uploads, searches, likes and reads billing.
"""

from __future__ import annotations

from typing import Any

from ..drivers.jobs import lawful_value, option_values, pending_slots
from .scenarios import Scenario, Stage, _accepted, release_together


def _file_ids(made: list[Any]) -> list[str]:
    return [str(body["file_id"]) for ex in made
            if (body := _accepted(ex, 201)) and isinstance(body.get("file_id"), str)]


def jobs_upload(d: Any, stage: Stage) -> None:
    d.file_id(d.filename(stem=f"upload-{stage.rng.getrandbits(32):08x}"))


def jobs_convert(d: Any, stage: Stage) -> None:
    d.convert(stage.rng.choice((None, None, "fail")))


def jobs_goal(d: Any, stage: Stage) -> None:
    fates = stage.rng.choice(((), ("slots",), ("preview",), ("partial",)))
    job_spec_id = d.start_goal(*fates)
    d.poll_goal(job_spec_id)
    d.events(job_spec_id)
    d.get_goal(job_spec_id, note="the ended job again")


def jobs_marketplace(d: Any, stage: Stage) -> None:
    ids = d.search_all(limit=5)
    if not ids:
        return
    workflow_id = stage.rng.choice(ids)
    d.workflow(workflow_id)
    d.like_twice(workflow_id)


def jobs_billing(d: Any, stage: Stage) -> None:
    d.plan()
    tools = list(d.quota_tools)
    few = stage.rng.sample(tools, k=min(2, len(tools)))
    d.quota(few, 1)
    d.quota(few, 3)
    d.quota(tools, 3)  # a superset of the tools: never a lower estimate (JOB-BILL-2)


def jobs_racing_batches(d: Any, stage: Stage) -> None:
    """Pause a `slots` goal, then fill one of its pending slots from every racer at
    once with the same lawful value; fill the rest and poll the job to its end."""
    job_spec_id = d.start_goal("slots")
    job = d.poll_goal(job_spec_id, until=lambda j: j.get("status") in (
        "slots_pending", *d.goal_terminal))
    if job.get("status") != "slots_pending":
        return
    slots = pending_slots(job)
    if not slots:
        return
    # A slot with options first: a required one, so the job stays paused for the rest.
    slot = next((s for s in slots if option_values(s)), slots[0])
    value = lawful_value(slot)
    release_together(stage.racers, lambda i: d.fill(
        job_spec_id, slot["slot_id"], value, note=f"racing fill {i}"))
    d.get_goal(job_spec_id, note="after the racing fills")
    d.poll_goal(job_spec_id)


def jobs_racing_creates(d: Any, stage: Stage) -> None:
    """Uploads released together (free), then convert jobs and goal jobs created
    together, each on a file of its own, as far as the budget pays."""
    made = release_together(stage.racers, lambda i: d.upload(
        f"race-{i}.pdf", b"%PDF-1.4 race", note=f"racing create {i}"))
    files = _file_ids(made)
    if not files:
        return
    processor = d.processors[0]
    if stage.can_pay(len(files)):
        jobs = release_together(len(files), lambda i: d.create_convert(
            [files[i]], processor, note=f"racing create {i}"))
        for ex in jobs:
            if (body := _accepted(ex, 202)) and isinstance(body.get("job_id"), str):
                d.get_convert(body["job_id"])
    if stage.can_pay(len(files)):
        goals = release_together(len(files), lambda i: d.create_goal(
            d.goal_text(), [files[i]], note=f"racing create {i}"))
        for ex in goals:
            if (body := _accepted(ex, 202)) and isinstance(body.get("job_spec_id"), str):
                d.cancel(body["job_spec_id"], note="the raced goal, cancelled")
                d.get_goal(body["job_spec_id"])


def jobs_burst(d: Any, stage: Stage) -> None:
    release_together(stage.burst, lambda i: d.plan(note=f"rate-limit burst {i}"))


JOBS = (
    Scenario("upload", jobs_upload, weight=1),
    Scenario("convert", jobs_convert, paid=1, weight=2),
    Scenario("goal", jobs_goal, paid=1, weight=2),
    Scenario("marketplace", jobs_marketplace, weight=1),
    Scenario("billing", jobs_billing, weight=1),
    Scenario("racing-batches", jobs_racing_batches, paid=1, weight=3),
    Scenario("racing-creates", jobs_racing_creates, weight=1),
    Scenario("burst", jobs_burst, weight=1),
)
