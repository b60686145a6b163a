"""POS adapter-script generation jobs: a timeline on the simulated clock.

A job is planned when it is created (and re-planned when its clarification is
answered) as a list of timed events; `Job.advance(t)` applies, in order, every
event due by `t`. Its life, in simulated seconds:

- `pending` / `queued` for 3-6 s;
- `running` / `gathering` for 12-30 s (half-way it logs what it found);
- if it needs a clarification: `needs_clarification` (stage stays
  `gathering`) with a non-empty `clarification`, for as long as nobody answers
  through `POST .../respond`; then `running` / `gathering` for 3-8 s more;
- `running` / `generating` for 20-60 s, while `hypothesis` (the script) grows;
- `running` / `testing`, 8-20 s per attempt; each attempt appends to
  `testResults` (`attempt` 1, 2, 3); a failed attempt is followed by
  `running` / `retrying` for 6-15 s (a revised `hypothesis`) and a new attempt;
  at most 3 attempts. `retries` is the number of failed attempts before the
  last one;
- after a passing attempt, 1-3 s later, `completed` / `done` with a non-zero
  `resultScriptId`; after a third failed attempt, `failed` / `done`.

A plain job ends within about 2 minutes; one with two retries within 3.

What happens is chosen by words the topic contains (as substrings, in any
case), so that tests can pick it:

- `clarify`: the job pauses for a clarification at the end of gathering;
- `fail-early`: the job fails while gathering (the provider's documentation
  cannot be found), before any clarification or attempt;
- `fail` (without `-early`): every one of the 3 test attempts fails, so the job
  ends `failed` with `retries` 2;
- `flaky`: two attempts fail, the third passes (`retries` 2);
- `smooth`: nothing special: one passing attempt.

A topic holding any of these words gets the plain behaviour for whatever the
words do not ask for (`"orders clarify"` pauses, then passes at once; `"clarify
flaky"` does both). A topic holding none of them gets a fate drawn from the
job's seeded generator: a clarification one time in four; no failed attempt
(50 %), one (20 %), two (15 %), three (10 %), or an early failure (5 %).
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from jobcontracts.sims.pos.choices import REFERENCE, PosChoices
from jobcontracts.sims.pos.content import (
    attempt_error,
    output_preview,
    question,
    script,
    shorten,
)

PENDING, RUNNING, PAUSED = "pending", "running", "needs_clarification"
COMPLETED, FAILED = "completed", "failed"
STATUSES = (PENDING, RUNNING, PAUSED, COMPLETED, FAILED)
TERMINAL = frozenset({COMPLETED, FAILED})
QUEUED, GATHERING, GENERATING, TESTING = "queued", "gathering", "generating", "testing"
RETRYING, DONE = "retrying", "done"
STAGES = (QUEUED, GATHERING, GENERATING, TESTING, RETRYING, DONE)

MAX_ATTEMPTS = 3
QUEUED_SECONDS = (3.0, 6.0)
GATHERING_SECONDS = (12.0, 30.0)
RESUME_SECONDS = (3.0, 8.0)
GENERATING_SECONDS = (20.0, 60.0)
TESTING_SECONDS = (8.0, 20.0)
RETRYING_SECONDS = (6.0, 15.0)
WRAP_UP_SECONDS = (1.0, 3.0)
#: How far back `log-time-goes-back` stamps the entry opening `generating`.
LOG_SKEW_SECONDS = 40.0

#: The seeded mix, for topics without a trigger word.
SEEDED_CLARIFY_SHARE = 0.25
SEEDED_EARLY_FAILURE_SHARE = 0.05
#: (cumulative share, failed attempts): 50 % none, 20 % one, 15 % two, 10 % all three.
SEEDED_FAILURES = ((0.55, 0), (0.75, 1), (0.90, 2), (1.0, MAX_ATTEMPTS))

_JOB_ID = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)
_TRIGGERS = ("clarify", "fail", "flaky", "smooth")


def parse_job_id(raw: str, lenient: bool = False) -> int | None:
    """The job id of a path segment in canonical decimal form (`lenient`: with
    leading zeros too), else `None`."""
    if lenient and raw.isascii() and raw.isdigit() and raw.lstrip("0"):
        raw = raw.lstrip("0")
    return int(raw) if _JOB_ID.fullmatch(raw) else None


@dataclass(frozen=True)
class Fate:
    """What a job will meet, fixed at creation."""

    clarify: bool = False
    #: Failed test attempts before a pass; the server's attempt limit means every one fails.
    failures: int = 0
    fails_early: bool = False


def choose_fate(topic: str, rng: random.Random, max_attempts: int = MAX_ATTEMPTS) -> Fate:
    """The fate the topic's trigger words ask for, or a seeded one (module
    docstring). `max_attempts` is the server's (a variant's) limit: `fail`
    fails every attempt, `flaky` fails two (or all but the last) and passes."""
    clarify_draw, outcome_draw = rng.random(), rng.random()
    text = topic.lower()
    flaky = min(2, max_attempts - 1)
    if any(word in text for word in _TRIGGERS):
        early = "fail-early" in text
        failures = max_attempts if "fail" in text and not early else flaky if "flaky" in text else 0
        return Fate(clarify="clarify" in text, failures=failures, fails_early=early)
    clarify = clarify_draw < SEEDED_CLARIFY_SHARE
    if outcome_draw < SEEDED_EARLY_FAILURE_SHARE:
        return Fate(clarify=clarify, fails_early=True)
    failures = next(n for bound, n in SEEDED_FAILURES if outcome_draw < bound)
    return Fate(clarify=clarify, failures=max_attempts if failures == MAX_ATTEMPTS
                else min(failures, max_attempts - 1))


@dataclass
class Event:
    """A planned change: the fields it sets, and a log entry if `message`."""

    at: float
    message: str
    status: str | None = None
    stage: str | None = None
    hypothesis: str | None = None
    clarification: str | None = None
    result: dict[str, Any] | None = None
    script_id: int | None = None


class Job:
    """One adapter-script generation job; `advance(t)` moves it to time `t`."""

    def __init__(
        self,
        *,
        job_id: int,
        owner: str,
        provider: str,
        topic: str,
        created_at: float,
        script_id: int,
        rng: random.Random,
        choices: PosChoices = REFERENCE,
    ) -> None:
        self.choices = choices
        self.id = job_id
        self.owner = owner
        self.provider = provider
        self.topic = topic
        self.fate = choose_fate(topic, rng, choices.max_attempts)
        self.status = PENDING
        self.stage = QUEUED
        self.hypothesis = ""
        self.test_results: list[dict[str, Any]] = []
        self.clarification = ""
        self.human_response = ""
        #: (stage, message, timestamp)
        self.logs: list[tuple[str, str, float]] = []
        self.result_script_id = 0
        self.planned_script_id = script_id
        self.created_at = created_at
        self.updated_at = created_at
        #: The clarification was answered: gathering has resumed or is over.
        self.answered = False
        self._rng = rng
        self._events: deque[Event] = deque()
        self._fixes: list[str] = []
        self._name = f"{shorten(provider)} / {shorten(topic)}"
        self._log(f"Queued adapter-script generation for {self._name}", created_at)
        self._plan_gathering(created_at)

    # ------------------------------------------------------------------ time

    def advance(self, now: float) -> None:
        """Apply, in order, every planned event due at or before `now`."""
        while self._events and self._events[0].at <= now:
            self._apply(self._events.popleft())

    def _apply(self, event: Event) -> None:
        if event.status is not None:
            self.status = event.status
        if event.stage is not None:
            self.stage = event.stage
        if event.hypothesis is not None:
            self.hypothesis = event.hypothesis
        if event.clarification is not None:
            self.clarification = event.clarification
        if event.result is not None:
            self.test_results.append(event.result)
        if event.script_id is not None:
            self.result_script_id = event.script_id
        if event.message:
            self._log(event.message, event.at)
        self.updated_at = max(self.updated_at, event.at)

    def _log(self, message: str, at: float) -> None:
        self.logs.append((self.stage, message, at))

    def _draw(self, stage: str, span: tuple[float, float]) -> float:
        """A stage's length: drawn from `span`, then as the server's choices take it."""
        return self.choices.span(stage, self._rng.uniform(*span))

    def _at(self, at: float, message: str, **changes: Any) -> None:
        self._events.append(Event(at, message, **changes))

    # ------------------------------------------------------------------ planning

    def _plan_gathering(self, start: float) -> None:
        provider = shorten(self.provider)
        t = start + self._draw(QUEUED, QUEUED_SECONDS)
        self._at(t, f"Gathering {provider} API documentation", status=RUNNING, stage=GATHERING)
        span = self._draw(GATHERING, GATHERING_SECONDS)
        if self.fate.fails_early:
            t += 0.6 * span
            self._at(t, f"Could not find public API documentation for {provider!r}")
            t += self._draw(DONE, WRAP_UP_SECONDS)
            self._at(t, "Generation failed while gathering", status=FAILED, stage=DONE)
            return
        endpoints = self._rng.randrange(6, 40)
        self._at(t + span / 2, f"Found {endpoints} endpoints in the {provider} API reference")
        t += span
        if self.fate.clarify:
            ask = question(self._rng, self.provider, self.topic)
            self._at(t, f"Needs clarification: {ask}", status=PAUSED,
                     stage=self.choices.paused_stage, clarification=ask)
            return
        self._plan_work(t)

    def _plan_work(self, start: float) -> None:
        """Generating, then test attempts (with retries) to the end."""
        t = start
        draft = self._script(1, 0.25)
        self._at(t, "Drafting the adapter script (revision 1)", stage=GENERATING, hypothesis=draft)
        span = self._draw(GENERATING, GENERATING_SECONDS)
        self._at(t + span / 2, "", hypothesis=self._script(1, 0.6))
        t += span
        full = self._script(1, 1.0)
        self._at(t, f"Draft ready ({full.count(chr(10))} lines)", hypothesis=full)
        limit = self.choices.max_attempts
        attempts = min(self.fate.failures + 1, limit)
        for attempt in range(1, attempts + 1):
            self._at(t, f"Running test attempt {attempt} in the sandbox", stage=TESTING)
            t += self._draw(TESTING, TESTING_SECONDS)
            if attempt > self.fate.failures:
                count = self._rng.randrange(3, 240)
                preview = output_preview(self._rng, self.topic, count)
                passed = self._result(attempt, True, "", preview, count, t)
                self._at(t, f"Test attempt {attempt} passed: {count} records", result=passed)
                t += self._draw(DONE, WRAP_UP_SECONDS)
                self._at(
                    t,
                    f"Saved adapter script #{self.planned_script_id}",
                    status=COMPLETED,
                    stage=DONE,
                    script_id=self.planned_script_id,
                )
                return
            error, fix = attempt_error(self._rng, self.provider, self.topic)
            failed = self._result(attempt, False, error, "", 0, t)
            self._at(t, f"Test attempt {attempt} failed: {error}", result=failed)
            if attempt == limit:
                t += self._draw(DONE, WRAP_UP_SECONDS)
                message = f"Giving up after {attempt} failed test attempts"
                self._at(t, message, status=FAILED, stage=DONE)
                return
            self._fixes.append(fix)
            self._at(t, f"Retrying: revising the script to {fix}", stage=RETRYING)
            t += self._draw(RETRYING, RETRYING_SECONDS)
            revised = self._script(attempt + 1, 1.0)
            self._at(t, f"Revision {attempt + 1} ready", hypothesis=revised)

    @staticmethod
    def _result(
        attempt: int, passed: bool, error: str, preview: str, count: int, at: float
    ) -> dict[str, Any]:
        return {
            "attempt": attempt,
            "passed": passed,
            "error": error,
            "outputPreview": preview,
            "outputCount": count,
            "timestamp": at,
        }

    def _script(self, revision: int, share: float) -> str:
        return script(self.provider, self.topic, revision, self._fixes, share)

    # ------------------------------------------------------------------ clarification

    def respond(self, answer: str, now: float) -> None:
        """Answer the pending clarification (the caller checked the job is paused)."""
        self.human_response = answer
        self.answered = True
        self.status = RUNNING
        if self.choices.clarification_after_answer == "cleared":
            self.clarification = ""
        self._log("Clarification answered; resuming", now)
        self.updated_at = max(self.updated_at, now)
        t = now + self._draw(GATHERING, RESUME_SECONDS)
        self._at(t, f"Applied the answer to the {shorten(self.provider)} notes")
        self._plan_work(t)

    def record_stray_response(self, answer: str, now: float) -> None:
        """Keep an answer sent while not paused (only the respond faults do this)."""
        self.human_response = answer
        self._log(f"Human response recorded while {self.status}", now)
        self.updated_at = max(self.updated_at, now)


class JobBook:
    """Every job of one simulator. Jobs belong to the API key that created
    them: another key's job is unknown (404). Ids are global integers."""

    def __init__(self, rng: random.Random, choices: PosChoices = REFERENCE) -> None:
        self._rng = rng
        self.choices = choices
        self._next_id = choices.first_job_id(rng.randrange(9000))
        self._next_script_id = 100 + rng.randrange(900)
        self._id_steps = random.Random(f"job-ids:{self._next_id}")  # not `rng`: variant 0 as ever
        self.jobs: dict[int, Job] = {}

    def create(self, owner: str, provider: str, topic: str, now: float) -> Job:
        job = Job(
            job_id=self._next_id,
            owner=owner,
            provider=provider,
            topic=topic,
            created_at=now,
            script_id=self._next_script_id,
            rng=random.Random(self._rng.getrandbits(64)),
            choices=self.choices,
        )
        self._next_id += self.choices.job_id_step(self._id_steps.random())
        self._next_script_id += 1
        self.jobs[job.id] = job
        return job

    def find(self, owner: str, raw_id: str, now: float) -> Job | None:
        """The caller's job with this id, advanced to `now`; `None` if there is none."""
        job_id = parse_job_id(raw_id, lenient=self.choices.lenient_job_ids)
        job = None if job_id is None else self.jobs.get(job_id)
        if job is None or job.owner != owner:
            return None
        job.advance(now)
        return job
