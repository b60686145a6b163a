"""SpecStep generations: a timeline on the simulated clock.

A generation waits in `Queued` for 10-20 s, then works through named phases.
Work is measured in simulated seconds (Fast ~4 min, Standard ~16 min,
Thorough ~32 min). Along the way it meets, at fixed fractions of its work:

- a recoverable error (~32 %): work stalls ~60 s until `next_retry_at`;
- a clarification pause (~55 %): `PausedAwaitingClarification` until a valid
  answer batch, then `Running` again at the next dispatcher tick (every 10 s);
  some variants pause a second time (~64 %), as the document's
  `Running ⇄ PausedAwaitingClarification` allows;
- a host restart (~75 %): work stalls ~20 s, then `host_restart_resume_count`
  goes up;
- the end: `Complete` with a `package_id`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from jobcontracts.clock import iso
from jobcontracts.sims.common import ApiError, UuidMint
from jobcontracts.sims.specstep.choices import SpecStepChoices
from jobcontracts.sims.specstep.content import choose_questions

QUEUED, RUNNING, PAUSED, COMPLETE = "Queued", "Running", "PausedAwaitingClarification", "Complete"

PROFILES: dict[str, float] = {"Fast": 240.0, "Standard": 960.0, "Thorough": 1920.0}
PROFILE_ORDINALS: tuple[str, ...] = ("Fast", "Standard", "Thorough")
PROFILE_COST_USD: dict[str, float] = {"Fast": 0.35, "Standard": 1.40, "Thorough": 3.10}

STATUS_KEYS: tuple[str, ...] = (
    "id",
    "state",
    "package_id",
    "progress_percent",
    "phase_detail",
    "progress_explanation",
    "running_cost_usd",
    "billing_state",
    "estimated_time_remaining_seconds",
    "estimated_completion_at",
    "retry_count",
    "recoverable_error_category",
    "next_retry_at",
    "host_restart_resume_count",
)

#: (start as a fraction of the work, phase_detail, progress_explanation)
PHASES: tuple[tuple[float, str, str], ...] = (
    (0.00, "Analyzing intake", "Reading the interview transcript and extracting requirements."),
    (0.10, "Drafting architecture", "Choosing components, boundaries and integrations."),
    (0.30, "Writing functional requirements", "Turning goals into testable requirements."),
    (0.55, "Designing data model", "Deriving entities, relations and retention rules."),
    (0.75, "Cross-agent review", "Reviewer agents are checking the draft for gaps."),
    (0.90, "Assembling package", "Rendering documents and building the package zip."),
)

FORECAST_GAP = 10.0  # forecasts are null for this much work after a phase starts
ERROR_CATEGORY = "UPSTREAM_RATE_LIMITED"


@dataclass
class Milestone:
    work: float
    kind: str  # "retry" | "pause" | "restart" | "complete"


class Generation:
    """One generation's state machine; `advance(t)` moves it to time `t`."""

    def __init__(
        self,
        *,
        generation_id: str,
        owner: str,
        intake_id: str,
        interview_id: str | None,
        profile: str,
        created_at: float,
        rng: random.Random,
        faults: frozenset[str],
        choices: SpecStepChoices,
    ) -> None:
        mint = UuidMint(rng)
        self.id = generation_id
        self.owner = owner
        self.intake_id = intake_id
        self.interview_id = interview_id
        self.profile = profile
        self.created_at = created_at
        self.faults = faults
        self.tick = choices.dispatcher_tick
        self.total = PROFILES[profile] * rng.uniform(0.95, 1.05) * choices.generation_pace
        self.cost_total = PROFILE_COST_USD[profile]
        self.package_id = mint()
        self.alt_package_id = mint()  # only shown by `terminal-not-absorbing`
        self.questions = choose_questions(rng, choices.questions)
        self.retry_wait = 60.0 + rng.randint(-5, 5)
        self.restart_wait = rng.uniform(15.0, 25.0)
        self.milestones = [
            Milestone(self.total * rng.uniform(0.31, 0.34), "retry"),
            Milestone(self.total * rng.uniform(0.54, 0.56), "pause"),
            Milestone(self.total * rng.uniform(0.72, 0.78), "restart"),
            Milestone(self.total, "complete"),
        ]
        # Mutable state.
        self.state = QUEUED
        self.t = created_at
        self.run_at = created_at + rng.uniform(*choices.generation_queue_seconds)
        self.pauses = [self.questions]
        """The questions of each pause still to come, in order."""
        if choices.pauses > 1:  # drawn last, so that one pause draws as it always did
            # Never exactly the questions just answered: a client that missed
            # the resume between two polls could not tell such a pause from the
            # answered one (oracles/batches.py).
            second = self.questions
            while {q["question"] for q in second} == {q["question"] for q in self.questions}:
                second = choose_questions(rng, choices.questions)
            self.pauses.append(second)
            self.milestones.insert(2, Milestone(self.total * rng.uniform(0.62, 0.66), "pause"))
        self.started = False
        self.requeued = False
        self.work = 0.0
        self.stall: str | None = None  # "retry" | "restart"
        self.stall_start = 0.0
        self.stall_until = 0.0
        self.retry_count = 0
        self.host_restarts = 0
        self.category: str | None = None
        self.next_retry_at: float | None = None
        self.retry_done_at: float | None = None
        self.last_next_retry_at: float | None = None
        self.pending: list[dict[str, str | None]] = []
        self.answers: list[dict[str, str]] = []
        self.resume_at: float | None = None
        self.answered = False
        """A complete batch was accepted for this pause (it resumes at the tick)."""
        self.completed_at: float | None = None

    # ------------------------------------------------------------------ time

    def advance(self, t: float) -> None:
        while True:
            if self.state == QUEUED:
                if t < self.run_at:
                    break
                self.t, self.state, self.started = self.run_at, RUNNING, True
            elif self.state == PAUSED:
                if self.resume_at is None or t < self.resume_at:
                    break
                self.t, self.resume_at, self.pending = self.resume_at, None, []
                self.answered = False
                if "requeued-after-pause" in self.faults:
                    self.state, self.requeued = QUEUED, True
                    self.run_at = self.t + self.tick
                else:
                    self.state = RUNNING
            elif self.state != RUNNING:
                break
            elif self.stall is not None:
                if t < self.stall_until:
                    break
                self.t = self.stall_until
                self._end_stall()
            else:
                milestone = self.milestones[0]
                need = milestone.work - self.work
                if self.t + need > t:
                    self.work += max(0.0, t - self.t)
                    break
                self.t += need
                self.work = milestone.work
                self.milestones.pop(0)
                self._fire(milestone.kind)
        self.t = max(self.t, t)

    def _fire(self, kind: str) -> None:
        if kind == "retry":
            self.retry_count += 1
            self.stall, self.stall_start = "retry", self.t
            self.stall_until = self.t + self.retry_wait
            self.category, self.next_retry_at = ERROR_CATEGORY, self.stall_until
        elif kind == "pause":
            self.state = PAUSED
            self.pending = [dict(q) for q in self.pauses.pop(0)]
        elif kind == "restart":
            self.stall, self.stall_start = "restart", self.t
            self.stall_until = self.t + self.restart_wait
        else:
            self.state, self.completed_at, self.work = COMPLETE, self.t, self.total

    def _end_stall(self) -> None:
        if self.stall == "retry":
            self.last_next_retry_at, self.retry_done_at = self.next_retry_at, self.t
            self.category, self.next_retry_at = None, None
        else:
            self.host_restarts += 1
        self.stall = None

    def schedule_resume(self, now: float) -> None:
        """Resume at the dispatcher tick after `now` (every 10 s by default)."""
        tick = (math.floor(now / self.tick) + 1) * self.tick
        if self.resume_at is None or tick < self.resume_at:
            self.resume_at = tick

    # ------------------------------------------------------------------ views

    def rendered_state(self) -> str:
        if self.state == RUNNING and "state-lowercase" in self.faults:
            return "running"
        return self.state

    def _phase(self) -> int:
        index = 0
        for i, (start, _, _) in enumerate(PHASES):
            if self.work >= start * self.total:
                index = i
        return index

    def _forecast_known(self) -> bool:
        if self.state != RUNNING or self.stall == "restart":
            return False
        if self.stall == "retry":
            return True
        index = self._phase()
        start = PHASES[index][0] * self.total
        end = PHASES[index + 1][0] * self.total if index + 1 < len(PHASES) else self.total
        return self.work - start >= min(FORECAST_GAP, 0.2 * (end - start))

    def status(self, now: float) -> dict[str, Any]:
        """The GenerationStatus record (all 14 keys; null where no value)."""
        record: dict[str, Any] = dict.fromkeys(STATUS_KEYS)
        record.update(
            id=self.id,
            state=self.rendered_state(),
            progress_percent=0 if not self.started else min(99, int(100 * self.work / self.total)),
            running_cost_usd=round(self.cost_total * self.work / self.total, 4),
            billing_state="pending" if not self.started else "metered",
            retry_count=self.retry_count,
            recoverable_error_category=self.category,
            next_retry_at=None if self.next_retry_at is None else iso(self.next_retry_at),
            host_restart_resume_count=self.host_restarts,
        )
        index = self._phase()
        _, phase, explanation = PHASES[index]
        if self.state == QUEUED:
            record["phase_detail"] = "Queued"
            record["progress_explanation"] = (
                "Re-queued after clarification; waiting for a worker."
                if self.requeued
                else "Waiting for a generation worker."
            )
        elif self.state == PAUSED:
            record["phase_detail"] = "Awaiting clarification"
            record["progress_explanation"] = (
                f"Paused: {len(self.pending)} question(s) need an answer before "
                f"'{phase}' can continue."
            )
        elif self.state == COMPLETE:
            assert self.completed_at is not None
            record.update(
                package_id=self.package_id,
                progress_percent=100,
                phase_detail="Complete",
                progress_explanation="The package is ready to download.",
                running_cost_usd=self.cost_total,
                billing_state="finalized",
                estimated_time_remaining_seconds=0,
                estimated_completion_at=iso(self.completed_at),
            )
        else:
            record["phase_detail"] = phase
            if self.stall == "retry":
                explanation = (
                    f"Upstream model rate-limited; retry {self.retry_count} "
                    f"at {iso(self.stall_until)}."
                )
            elif self.stall == "restart":
                explanation = "The worker host restarted; resuming from the last checkpoint."
            record["progress_explanation"] = explanation
        if self._forecast_known():
            stalled = max(0.0, self.stall_until - now) if self.stall is not None else 0.0
            eta = math.ceil(self.total - self.work + stalled)
            record["estimated_time_remaining_seconds"] = eta
            record["estimated_completion_at"] = iso(now + eta)
        self._apply_faults(record, now, index)
        return record

    def _apply_faults(self, record: dict[str, Any], now: float, phase: int) -> None:
        faults = self.faults
        if "package-id-early" in faults and self.started:
            record["package_id"] = self.package_id
        if (
            "terminal-not-absorbing" in faults
            and self.completed_at is not None
            and now >= self.completed_at + 60.0
        ):
            record["package_id"] = self.alt_package_id
        if (
            "progress-regresses" in faults
            and self.stall == "retry"
            and now >= self.stall_start + self.retry_wait / 2
        ):
            record["progress_percent"] = max(0, record["progress_percent"] - 5)
        if "retry-count-resets" in faults and self.retry_done_at is not None:
            record["retry_count"] = 0
        if "eta-negative" in faults and self.state == RUNNING and phase == len(PHASES) - 1:
            record["estimated_time_remaining_seconds"] = -30
            record["estimated_completion_at"] = iso(now - 30)
        if (
            "next-retry-lingers" in faults
            and self.category is None
            and self.retry_done_at is not None
            and self.last_next_retry_at is not None
            and now < self.retry_done_at + 60.0
        ):
            record["next_retry_at"] = iso(self.last_next_retry_at)
        if "billing-state-object" in faults:
            record["billing_state"] = {"state": record["billing_state"]}
        if "projection-omits-nulls" in faults:
            for key in [k for k, v in record.items() if v is None]:
                del record[key]

    def clarifications(self) -> list[dict[str, str | None]]:
        if self.state != PAUSED or "clarifications-hidden" in self.faults:
            return []
        if "clarification-default-omitted" in self.faults:
            return [{k: v for k, v in q.items() if k != "proposedDefault" or v is not None}
                    for q in self.pending]
        return [dict(q) for q in self.pending]

    def refuse_unless_paused(self) -> None:
        """The `409`s of SS-CLAR-4: not paused, or this pause already answered
        (a fault accepts instead: then nothing is raised)."""
        if self.state != PAUSED and "answers-when-running" not in self.faults:
            raise ApiError(
                409,
                "NOT_AWAITING_CLARIFICATION",
                f"generation {self.id} is {self.rendered_state()}, not awaiting clarification",
            )
        if self.state == PAUSED and self.answered and "answers-accepted-twice" not in self.faults:
            raise ApiError(
                409,
                "CLARIFICATIONS_ALREADY_ANSWERED",
                f"generation {self.id} has its answers; it resumes at the dispatcher's next tick",
            )

    def answer(self, batch: list[tuple[str, str]], now: float) -> dict[str, Any]:
        """Apply an all-or-nothing answer batch (SS-CLAR-2..4)."""
        self.refuse_unless_paused()
        if self.state != PAUSED:
            return {"state": self.rendered_state(), "accepted": 0}
        fold = "clarification-case-insensitive" in self.faults

        def norm(text: str) -> str:
            return text.casefold() if fold else text

        pending = [str(q["question"]) for q in self.pending]
        wanted = {norm(q) for q in pending}
        asked = [norm(question) for question, _ in batch]
        problems: list[str] = []
        missing = [q for q in pending if norm(q) not in set(asked)]
        unknown = [q for q, _ in batch if norm(q) not in wanted]
        repeated = sorted({q for q in asked if asked.count(q) > 1})
        if missing:
            problems.append(f"{len(missing)} pending question(s) not answered: {missing!r}")
        if unknown:
            problems.append(f"{len(unknown)} question(s) not pending: {unknown!r}")
        if repeated:
            problems.append(f"question(s) answered more than once: {repeated!r}")
        if problems:
            if "partial-answers-applied" in self.faults:
                named = {question for question, _ in batch}
                keep = [q for q in self.pending if q["question"] not in named]
                self.pending = keep or self.pending[-1:]
            raise ApiError(
                422,
                "CLARIFICATION_MISMATCH",
                "answers must name every pending question exactly once, verbatim; "
                + "; ".join(problems),
            )
        self.answers.extend({"question": q, "answer": a} for q, a in batch)
        self.answered = True
        if "answers-ignored" not in self.faults:
            self.schedule_resume(now)
        return {"state": PAUSED, "accepted": len(batch)}


def parse_review_profile(body: dict[str, Any], faults: frozenset[str]) -> str:
    """`review_profile` of a POST /v1/generations body (SS-GEN-1/2); missing means
    "Standard", an explicit null is refused."""
    value = body.get("review_profile", "Standard")
    if type(value) is int and "ordinal-rejected" not in faults:
        if 0 <= value < len(PROFILE_ORDINALS):
            return PROFILE_ORDINALS[value]
    elif isinstance(value, str):
        if value in PROFILES:
            return value
        if "profile-case-insensitive" in faults:
            for name in PROFILES:
                if name.casefold() == value.casefold():
                    return name
    raise ApiError(
        400,
        "INVALID_REVIEW_PROFILE",
        'review_profile must be "Fast", "Standard", "Thorough" or 0, 1, 2',
    )


def parse_answers(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (question, answer) pairs of a clarification answer batch, or a 400."""
    answers = body.get("answers")
    batch: list[tuple[str, str]] = []
    if isinstance(answers, list):
        for item in answers:
            if not isinstance(item, dict):
                break
            question, answer = item.get("question"), item.get("answer")
            if not isinstance(question, str) or not isinstance(answer, str):
                break
            batch.append((question, answer))
    if not isinstance(answers, list) or len(batch) != len(answers):
        raise ApiError(
            400,
            "INVALID_REQUEST",
            '"answers" must be a list of {"question": str, "answer": str} objects',
        )
    return batch
