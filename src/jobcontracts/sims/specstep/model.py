"""SpecStep interviews: committed turns, asynchronous turn jobs, idempotency
records and the intake artifacts a completed interview yields.

All state changes happen either while handling a request or in `advance`,
which applies the turn jobs that finished by a given time, in time order.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from typing import Any

from jobcontracts.sims.common import ApiError, UuidMint
from jobcontracts.sims.specstep.choices import SpecStepChoices
from jobcontracts.sims.specstep.content import AGENT_REPLIES, OPENING_QUESTION
from jobcontracts.sims.specstep.generation import COMPLETE, Generation

#: A valid Idempotency-Key (SS-IDEM-1); `idem-long-key-accepted` allows up to 256.
_IDEM_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
_IDEM_KEY_LONG = re.compile(r"[A-Za-z0-9._:-]{1,256}", re.ASCII)

UNFINISH_AFTER = 30.0


@dataclass
class Interview:
    id: str
    owner: str
    status: str = "Active"
    intake_artifact_id: str | None = None
    turns: list[dict[str, str]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The interview as `GET /v1/interviews/{id}` shows it."""
        return {
            "id": self.id,
            "status": self.status,
            "intake_artifact_id": self.intake_artifact_id,
            "turns": [dict(turn) for turn in self.turns],
        }


@dataclass
class TurnJob:
    id: str
    seq: int
    owner: str
    interview_id: str
    created_at: float
    running_at: float
    ends_at: float
    will_fail: bool
    reply: str
    #: "pending" until `ends_at` is applied, then "completed" or "failed".
    outcome: str = "pending"
    snapshot: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        return self.outcome != "pending"

    def status(self, now: float) -> str:
        if self.terminal:
            return self.outcome
        return "queued" if now < self.running_at else "running"


@dataclass
class Intake:
    id: str
    owner: str
    interview_id: str | None


@dataclass
class IdemRecord:
    body: str
    job_id: str


class InterviewBook:
    """Every interview, turn job, intake and idempotency record of one simulator."""

    def __init__(self, rng: random.Random, mint: UuidMint, faults: frozenset[str],
                 choices: SpecStepChoices) -> None:
        self._rng = rng
        self._mint = mint
        self._faults = faults
        self._choices = choices
        self.interviews: dict[str, Interview] = {}
        self.jobs: dict[str, TurnJob] = {}
        self.intakes: dict[str, Intake] = {}
        self._idem: dict[tuple[str, ...], IdemRecord] = {}
        self._pending: list[TurnJob] = []
        self._job_count = 0

    # ------------------------------------------------------------------ time

    def advance(self, now: float) -> None:
        """Finish, in time order, every turn job whose end is at or before `now`."""
        due = sorted(
            (j for j in self._pending if j.ends_at <= now), key=lambda j: (j.ends_at, j.seq)
        )
        if not due:
            return
        self._pending = [j for j in self._pending if j.ends_at > now]
        for job in due:
            interview = self.interviews[job.interview_id]
            if job.will_fail:
                job.outcome = "failed"
                continue
            interview.turns.append({"role": "agent", "content": job.reply})
            job.outcome = "completed"
            job.snapshot = interview.record()

    # ------------------------------------------------------------------ interviews

    def create_interview(self, owner: str) -> Interview:
        interview = Interview(id=self._mint(), owner=owner)
        if "opening-turn-missing" not in self._faults:
            interview.turns.append({"role": "agent", "content": OPENING_QUESTION})
        self.interviews[interview.id] = interview
        return interview

    def interview(self, owner: str, interview_id: str) -> Interview:
        interview = self.interviews.get(interview_id)
        if interview is None or interview.owner != owner:
            raise ApiError(404, "INTERVIEW_NOT_FOUND", f"no interview {interview_id!r}")
        return interview

    def complete(self, interview: Interview) -> Interview:
        """Close the interview; mint its intake artifact once (SS-INT-1/2)."""
        interview.status = "Completed"
        if "complete-without-intake" in self._faults:
            return interview
        if interview.intake_artifact_id is None or "complete-twice-new-intake" in self._faults:
            intake = Intake(id=self._mint(), owner=interview.owner, interview_id=interview.id)
            self.intakes[intake.id] = intake
            interview.intake_artifact_id = intake.id
        return interview

    def intake(self, owner: str, intake_id: str) -> Intake | None:
        intake = self.intakes.get(intake_id)
        if intake is None or intake.owner != owner:
            return None
        return intake

    # ------------------------------------------------------------------ turns

    def check_idempotency_key(self, value: str | None) -> None:
        """`None` means no header; anything else must be a valid key (SS-IDEM-1)."""
        if value is None:
            return
        pattern = _IDEM_KEY_LONG if "idem-long-key-accepted" in self._faults else _IDEM_KEY
        if pattern.fullmatch(value) is None:
            raise ApiError(
                400,
                "INVALID_IDEMPOTENCY_KEY",
                "Idempotency-Key must be 1..128 characters of [A-Za-z0-9._:-]",
            )

    def commit_user_turn(self, interview: Interview, message: str) -> None:
        interview.turns.append({"role": "user", "content": message})

    def post_turn(
        self,
        owner: str,
        interview: Interview,
        message: str,
        body: str,
        idem_key: str | None,
        now: float,
    ) -> tuple[int, dict[str, Any]]:
        """Accept a turn (202) or answer from the idempotency record (200 replay,
        409 in flight, 422 reused key). `body` is the request's canonical JSON."""
        if idem_key is None:
            return 202, self._accept(interview, message, now)
        if "idem-global-scope" in self._faults:
            scope: tuple[str, ...] = (owner, idem_key)
        else:
            scope = (owner, interview.id, idem_key)
        record = self._idem.get(scope)
        if record is not None:
            same = record.body == body or "idem-ignores-body" in self._faults
            if not same:
                raise ApiError(
                    422,
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used with a different request body",
                )
            original = self.jobs[record.job_id]
            status = original.status(now)
            if status in ("queued", "running"):
                if "replay-while-running" not in self._faults:
                    raise ApiError(
                        409,
                        "IDEMPOTENCY_IN_FLIGHT",
                        f"the original request (job {original.id}) is still {status}; "
                        "retry after it finishes",
                    )
            elif status == "completed" and "replay-new-job" not in self._faults:
                return 200, {
                    "job_id": None,
                    "interview_id": original.interview_id,
                    "status": "completed",
                    "snapshot": copy.deepcopy(original.snapshot),
                }
            # A failed original (or a fault) makes this a new request.
        accepted = self._accept(interview, message, now)
        self._idem[scope] = IdemRecord(body=body, job_id=accepted["job_id"])
        return 202, accepted

    def _accept(self, interview: Interview, message: str, now: float) -> dict[str, Any]:
        self._job_count += 1
        seq = self._job_count
        low, high = self._choices.turn_seconds
        queued = self._choices.queued_seconds
        duration = max(queued + 0.1, self._rng.uniform(low, high))
        unlucky = self._rng.random() < self._choices.turn_failure_rate
        reply = self._rng.choice(AGENT_REPLIES)
        job = TurnJob(
            id=self._mint(),
            seq=seq,
            owner=interview.owner,
            interview_id=interview.id,
            created_at=now,
            running_at=now + queued,
            ends_at=now + duration,
            # The second turn job of every simulator fails, so each run with
            # two or more turns meets a retryable failure.
            will_fail=unlucky or seq == 2,
            reply=reply,
        )
        self.commit_user_turn(interview, message)
        self.jobs[job.id] = job
        self._pending.append(job)
        return {
            "job_id": job.id,
            "interview_id": interview.id,
            "status": "queued",
            "snapshot": None,
        }

    def job(self, owner: str, job_id: str) -> TurnJob:
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner:
            raise ApiError(404, "TURN_JOB_NOT_FOUND", f"no turn job {job_id!r}")
        return job

    def job_view(self, job: TurnJob, now: float) -> dict[str, Any]:
        """The turn job as `GET /v1/interviews/turns/{job_id}` shows it."""
        status = job.status(now)
        view: dict[str, Any] = {
            "job_id": job.id,
            "interview_id": job.interview_id,
            "status": status,
            "snapshot": None,
            "error_code": None,
            "error_message": None,
            "is_retryable": None,
        }
        if status == "completed":
            view["snapshot"] = copy.deepcopy(job.snapshot)
            if "turn-unfinishes" in self._faults and now >= job.ends_at + UNFINISH_AFTER:
                view["status"] = "running"
                view["snapshot"] = None
        elif status == "failed":
            view["error_code"] = (
                None if "failed-without-code" in self._faults else "INTERVIEW_TURN_TIMEOUT"
            )
            view["error_message"] = "The interviewer did not answer in time; submit the turn again."
            view["is_retryable"] = True
        elif status == "running" and "snapshot-before-complete" in self._faults:
            view["snapshot"] = self.interviews[job.interview_id].record()
        if status in ("queued", "running") and "turn-job-id-null" in self._faults:
            view["job_id"] = None
        return view


class GenerationBook:
    """Every generation of one simulator."""

    def __init__(self, rng: random.Random, faults: frozenset[str],
                 choices: SpecStepChoices) -> None:
        self._rng = rng
        self._mint = UuidMint(rng)
        self._faults = faults
        self._choices = choices
        self.generations: dict[str, Generation] = {}
        self.packages: dict[str, Generation] = {}

    def advance(self, now: float) -> None:
        for generation in self.generations.values():
            if generation.state != COMPLETE:
                generation.advance(now)
                if generation.state == COMPLETE:
                    self.packages[generation.package_id] = generation
                    if "terminal-not-absorbing" in self._faults:
                        self.packages[generation.alt_package_id] = generation

    def create(
        self, owner: str, intake_id: str, interview_id: str | None, profile: str, now: float
    ) -> Generation:
        generation = Generation(
            generation_id=self._mint(),
            owner=owner,
            intake_id=intake_id,
            interview_id=interview_id,
            profile=profile,
            created_at=now,
            rng=random.Random(self._rng.getrandbits(64)),
            faults=self._faults,
            choices=self._choices,
        )
        self.generations[generation.id] = generation
        return generation

    def get(self, owner: str, generation_id: str) -> Generation:
        generation = self.generations.get(generation_id)
        if generation is None or generation.owner != owner:
            raise ApiError(404, "GENERATION_NOT_FOUND", f"no generation {generation_id!r}")
        return generation

    def package(self, owner: str | None, package_id: str) -> Generation:
        generation = self.packages.get(package_id)
        if generation is None or (owner is not None and generation.owner != owner):
            raise ApiError(404, "PACKAGE_NOT_FOUND", f"no package {package_id!r}")
        return generation
