"""What each Locust user does: the API's ordinary scenarios, through the suite's
own drivers, and the races the `LOAD-*` rules judge.

A race is staged inside one user: `release_together` starts `n` greenlets on
the user's recording client, holds them at a gevent `Event` until all are
waiting, then lets them go at once, so their requests really overlap on the
wire (the client is shared: gevent switches only on I/O, and each exchange
is recorded as it is answered). Every scenario's exchanges form one trace,
which the user hands to the master (`users.py`).

A paid operation (a generation, a POS job, a simulation, a convert or goal
job) spends the run's `--max-generations` budget first: a scenario the
budget cannot pay for is not started (`Budgets.can_pay`), so a live run
with no budget creates nothing paid and runs only the free scenarios.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]

from ..budget import Allowance, BudgetExceeded
from ..drivers.specstep import PAUSED, TERMINAL, body_of, new_key
from ..session import InputRefused, ScenarioError
from ..trace import Exchange

T = TypeVar("T")
RACERS = -1


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Any, Stage], None]
    """`run(driver, stage)`."""
    paid: int = 0
    """Paid operations it needs (at most); `RACERS`: one per racer."""
    weight: int = 1


@dataclass
class Stage:
    """What a scenario may use besides its driver."""

    racers: int
    burst: int
    rng: random.Random
    paid: Allowance
    only: tuple[str, ...] = ()
    """The scenarios to run (setting `scenarios`); empty: every one with a weight."""
    user: int = 0
    """The user's number in its process."""
    turn: int = 0
    """How many scenarios the user has run before this one."""

    def can_pay(self, count: int) -> bool:
        if self.paid.limit is None:
            return True
        return self.paid.spent() + count <= self.paid.limit


def release_together(n: int, send: Callable[[int], T]) -> list[T | None]:
    """Run `send(0..n-1)` in `n` greenlets released at once; each result, None
    where it raised a scenario's exception. A spent budget is raised again."""
    gate = gevent.event.Event()

    def one(i: int) -> T:
        gate.wait()
        return send(i)

    racers = [gevent.spawn(one, i) for i in range(n)]
    try:
        gevent.sleep(0)  # every racer is now waiting at the gate
        gate.set()
        gevent.joinall(racers)
    finally:
        gevent.killall([g for g in racers if not g.dead])
    for g in racers:
        if isinstance(g.exception, BudgetExceeded):
            raise g.exception
    return [g.value if g.successful() else None for g in racers]


def _accepted(ex: Exchange | None, *statuses: int) -> dict[str, Any] | None:
    if ex is None or ex.status not in statuses or not isinstance(ex.json, dict):
        return None
    return ex.json


# ---- SpecStep ---------------------------------------------------------------------------


def specstep_ordinary(d: Any, stage: Stage) -> None:
    intake = d.intake()
    if not stage.can_pay(1):
        return
    generation = body_of(d.start_generation(intake, "Fast"), 202)
    d.poll_generation(str(generation.get("id")))


def specstep_racing_keys(d: Any, stage: Stage) -> None:
    interview = d.create_interview()
    key, message = new_key(), "We need an approval workflow for purchase orders."
    answers = release_together(stage.racers, lambda i: d.post_turn(
        interview, message, key=key, note=f"racing key, racer {i}"))
    jobs = {str(b["job_id"]) for ex in answers if (b := _accepted(ex, 202)) and b.get("job_id")}
    for job in sorted(jobs):
        d.poll_turn(job)
    d.post_turn(interview, message, key=key, note="the racing key once more: a replay")


def specstep_racing_batches(d: Any, stage: Stage) -> None:
    intake = d.intake()
    generation = body_of(d.start_generation(intake, "Fast"), 202)
    gid = str(generation.get("id"))
    record = d.poll_generation(gid, until=lambda g: g.get("state") in (PAUSED, *TERMINAL))
    if record.get("state") != PAUSED:
        return
    pending = d.pending(gid)
    if not pending:
        return
    batch = [{"question": c.get("question"),
              "answer": c.get("proposedDefault") or "Use your best judgment for v1."}
             for c in pending]
    release_together(stage.racers, lambda i: d.answer(gid, batch, note=f"racing batch {i}"))
    d.clarifications(gid)
    d.poll_generation(gid)


def specstep_racing_creates(d: Any, stage: Stage) -> None:
    release_together(stage.racers, lambda i: d.client.request(
        "POST", "/v1/interviews", note=f"racing create {i}"))
    if not stage.can_pay(stage.racers):
        return
    intake = d.intake()
    made = release_together(stage.racers, lambda i: d.start_generation(
        intake, "Fast", note=f"racing create {i}"))
    for ex in made:
        if (body := _accepted(ex, 202)) and isinstance(body.get("id"), str):
            d.generation(body["id"])


def specstep_throughput(d: Any, stage: Stage) -> None:
    """Free, unpaced requests (the benchmark's workload): create an interview, read it."""
    for _ in range(10):
        body = _accepted(d.client.request("POST", "/v1/interviews", note="throughput"), 201)
        if body and isinstance(body.get("id"), str):
            d.get_interview(body["id"])


def specstep_burst(d: Any, stage: Stage) -> None:
    release_together(stage.burst, lambda i: d.client.request(
        "GET", "/v1/me", note=f"rate-limit burst {i}"))


SPECSTEP = (
    Scenario("ordinary", specstep_ordinary, paid=1, weight=2),
    Scenario("racing-keys", specstep_racing_keys, weight=2),
    Scenario("racing-batches", specstep_racing_batches, paid=1, weight=2),
    Scenario("racing-creates", specstep_racing_creates, weight=1),
    Scenario("burst", specstep_burst, weight=1),
    Scenario("throughput", specstep_throughput, weight=0),
)


# ---- POS ----------------------------------------------------------------------------------

PROVIDER = "Square"


def pos_ordinary(d: Any, stage: Stage) -> None:
    job = d.create_job(PROVIDER, "orders smooth")
    d.poll(job, on_paused=lambda j, _: d.respond(j, "Use the v2 API."))


def pos_racing_batches(d: Any, stage: Stage) -> None:
    job = d.create_job(PROVIDER, "orders clarify smooth")
    state = d.poll(job, until=lambda j: j.get("status") in ("needs_clarification",
                                                              *d.terminal))
    if state.get("status") != "needs_clarification":
        return
    release_together(stage.racers, lambda i: d.respond(job, "Use the v2 API.",
                                                       note=f"racing respond {i}"))
    d.job(job)
    d.poll(job)


def pos_racing_creates(d: Any, stage: Stage) -> None:
    made = release_together(stage.racers, lambda i: d.generate(
        provider=PROVIDER, topic="orders smooth", note=f"racing create {i}"))
    for ex in made:
        if (body := _accepted(ex, 202, 200, 201)) and body.get("jobId") is not None:
            d.job(str(body["jobId"]))


def pos_burst(d: Any, stage: Stage) -> None:
    from ..drivers.pos import unknown_job_id

    token = str(stage.rng.getrandbits(64))
    release_together(stage.burst, lambda i: d.job(unknown_job_id(f"{token}:{i}"),
                                                  note=f"rate-limit burst {i}"))


POS = (
    Scenario("ordinary", pos_ordinary, paid=1, weight=2),
    Scenario("racing-batches", pos_racing_batches, paid=1, weight=3),
    Scenario("racing-creates", pos_racing_creates, paid=RACERS, weight=1),
    Scenario("burst", pos_burst, weight=1),
)


# ---- Interrogation Agent ----------------------------------------------------------------

PROBLEM = "Our trial-to-paid conversion dropped after onboarding changes."


def interrogation_ordinary(d: Any, stage: Stage) -> None:
    first = d.stakeholder_ids()[0]
    run = d.start({"user_input": PROBLEM, "stakeholder_id": first,
                   "max_interview_messages": 6})
    d.stream(run.simulation_id)
    d.wait_terminal(run.simulation_id)


def interrogation_racing_creates(d: Any, stage: Stage) -> None:
    first = d.stakeholder_ids()[0]
    body = {"user_input": PROBLEM, "stakeholder_id": first, "max_interview_messages": 4}
    made = release_together(stage.racers, lambda i: d.create(body, note=f"racing create {i}"))
    for ex in made:
        if (answer := _accepted(ex, 202, 200, 201)) and isinstance(
                answer.get("simulation_id"), str):
            d.status(answer["simulation_id"])


def interrogation_burst(d: Any, stage: Stage) -> None:
    release_together(stage.burst, lambda i: d.stakeholders())


INTERROGATION = (
    Scenario("ordinary", interrogation_ordinary, paid=1, weight=2),
    Scenario("racing-creates", interrogation_racing_creates, paid=RACERS, weight=2),
    Scenario("burst", interrogation_burst, weight=1),
)

SCENARIOS: dict[str, tuple[Scenario, ...]] = {
    "specstep": SPECSTEP, "pos": POS, "interrogation": INTERROGATION}


def scenarios_for(api: str) -> tuple[Scenario, ...]:
    """The API's scenarios (the jobs API's are in `jobs_scenarios.py`)."""
    if api == "jobs":
        from .jobs_scenarios import JOBS

        return JOBS
    return SCENARIOS[api]


def pick(scenarios: tuple[Scenario, ...], stage: Stage) -> Scenario | None:
    """A scenario the budget can pay for (None: none can be). A user's first
    turns take each one in order, starting at the user's number, so that a few
    users in a short run start every scenario (a weighted draw may leave the
    rate-limit burst, and so LOAD-RATE-1, untried); later turns draw by weight."""
    chosen = [s for s in scenarios if s.name in stage.only] if stage.only else [
        s for s in scenarios if s.weight > 0]
    affordable = [s for s in chosen
                  if stage.can_pay(stage.racers if s.paid == RACERS else s.paid) and
                  (s.name != "burst" or stage.burst > 0)]
    if not affordable:
        return None
    if stage.turn < len(affordable):
        return affordable[(stage.user + stage.turn) % len(affordable)]
    return stage.rng.choices(affordable, weights=[max(s.weight, 1) for s in affordable])[0]


#: A scenario's own end: the traffic so far is judged like any other.
SCENARIO_ENDS = (ScenarioError, InputRefused)
