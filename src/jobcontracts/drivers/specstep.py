"""SpecStep traffic, as the document's own sample makes it.

The driver says *what* to send and waits as the document waits (3 s between
turn polls, 15 s between generation polls, on the run's clock); it asserts
nothing. Where an answer leaves it unable to go on, it raises
`ScenarioError`; the oracles then say which rule the answer broke.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ..budget import Allowance
from ..client import Client
from ..contract import Contract
from ..progress import NO_PROGRESS, Progress
from ..session import InputRefused, RunOptions, ScenarioError
from ..trace import Exchange

#: How a server may refuse an input the documents do not rule on.
LAWFUL_REFUSALS = (400, 422)
TERMINAL = frozenset({"Complete", "Failed", "Cancelled"})
PAUSED = "PausedAwaitingClarification"


def body_of(ex: Exchange, *statuses: int) -> dict[str, Any]:
    """The JSON object of an answer with one of `statuses`, or ScenarioError."""
    body = ex.json
    if ex.status not in statuses or not isinstance(body, dict):
        got = f"{ex.status}" if ex.status else f"no answer ({ex.error})"
        raise ScenarioError(f"{ex.method} {ex.path} got {got}; the scenario needs "
                            f"{' or '.join(map(str, statuses))} with a JSON object")
    return body


def accepted(ex: Exchange, *statuses: int) -> dict[str, Any]:
    """`body_of` for a request carrying an input no document rules on: a `400`
    or `422` ends the scenario lawfully (`InputRefused`)."""
    if ex.status in LAWFUL_REFUSALS:
        raise InputRefused(f"{ex.method} {ex.path} (#{ex.seq}) refused with {ex.status}")
    return body_of(ex, *statuses)


class SpecStepDriver:
    def __init__(self, client: Client, contract: Contract) -> None:
        self.client = client
        settings = contract.settings
        self.poll_interval = float(settings.get("poll_interval_seconds", 15))
        self.turn_poll_interval = float(settings.get("turn_poll_interval_seconds", 3))
        self.retryable = set(settings.get("retryable_turn_errors", ["INTERVIEW_TURN_TIMEOUT"]))
        self.deadline = float(settings.get("deadline_seconds", 2700))
        self.resume_window = float(settings.get("clarification_resume_seconds", 120))
        self._answered_at: dict[str, float] = {}
        """Generation → when its pause first got an accepted answer batch."""
        self.paid: Allowance | None = None
        self.progress: Progress = NO_PROGRESS

    def configure(self, options: RunOptions) -> None:
        """Apply the run's options: poll pace, deadline, the paid-generation budget."""
        self.progress = options.progress
        if options.poll_interval is not None:
            self.poll_interval = options.poll_interval
            self.turn_poll_interval = min(self.turn_poll_interval, options.poll_interval)
        if options.deadline is not None:
            self.deadline = options.deadline
        self.paid = options.generations

    def wait_a_while(self) -> None:
        """Long enough for a result that should stay put to be seen again later."""
        self.client.clock.sleep(4 * self.poll_interval)

    # ---- interviews and turns -------------------------------------------------
    def create_interview(self) -> str:
        ex = self.client.request("POST", "/v1/interviews", note="create interview")
        interview_id = body_of(ex, 201, 200).get("id")
        if not isinstance(interview_id, str):
            raise ScenarioError(f"POST /v1/interviews (#{ex.seq}) returned no id")
        return interview_id

    def get_interview(self, interview_id: str, note: str = "") -> Exchange:
        return self.client.request("GET", f"/v1/interviews/{interview_id}", note=note)

    def post_turn(self, interview_id: str, message: Any, *, key: str | None = None,
                  credential: str = "valid", raw: bytes | None = None, note: str = "") -> Exchange:
        headers = {"Idempotency-Key": key} if key is not None else {}
        path = f"/v1/interviews/{interview_id}/turns"
        if raw is not None:
            return self.client.request("POST", path, content=raw, credential=credential,
                                       headers={**headers, "Content-Type": "application/json"},
                                       note=note)
        return self.client.request("POST", path, json={"message": message}, headers=headers,
                                   credential=credential, note=note)

    def get_turn(self, job_id: str, note: str = "") -> Exchange:
        """One poll: a finished job is read again once, not waited on (a job that
        left its terminal state is already the violation a rule judges)."""
        return self.client.request("GET", f"/v1/interviews/turns/{job_id}", note=note)

    def poll_turn(self, job_id: str) -> dict[str, Any]:
        """Poll a turn job until it is completed or failed."""
        start = self.client.clock.now()
        while True:
            body = body_of(self.client.request("GET", f"/v1/interviews/turns/{job_id}"), 200)
            self.progress.observe("specstep turn job", job_id, body, state="status")
            if body.get("status") in ("completed", "failed"):
                return body
            if self.client.clock.now() - start > self.deadline:
                raise ScenarioError(f"turn job {job_id} still {body.get('status')!r} after "
                                    f"{self.deadline:g} s")
            self.client.clock.sleep(self.turn_poll_interval)

    def submit_turn(self, interview_id: str, message: str, *, key: str | None = None,
                    attempts: int = 6) -> dict[str, Any]:
        """Submit one turn and wait for it, resubmitting (with a fresh key) when it
        fails retryably, as the document says. Returns the completed snapshot."""
        for attempt in range(attempts):
            this_key = None if key is None else f"{key}.{attempt}" if attempt else key
            ex = self.post_turn(interview_id, message, key=this_key)
            submitted = accepted(ex, 202, 200)
            job_id = submitted.get("job_id")
            if not job_id:
                snapshot = submitted.get("snapshot")
                if not isinstance(snapshot, dict):
                    raise ScenarioError(f"#{ex.seq}: a replay without a snapshot")
                return snapshot
            job = self.poll_turn(str(job_id))
            completed = job.get("snapshot")
            if job.get("status") == "completed" and isinstance(completed, dict):
                return completed
            if job.get("error_code") not in self.retryable and not job.get("is_retryable"):
                raise ScenarioError(f"turn job {job_id} failed: {job.get('error_code')!r}")
        raise ScenarioError(f"a turn failed retryably {attempts} times in a row")

    def complete(self, interview_id: str) -> Exchange:
        return self.client.request("POST", f"/v1/interviews/{interview_id}/complete",
                                   note="complete interview")

    def intake(self, message: str = "I want to build a customer-feedback portal.") -> str:
        """An interview with one turn, completed: its intake id."""
        interview_id = self.create_interview()
        self.submit_turn(interview_id, message)
        body_of(self.complete(interview_id), 200)
        final = body_of(self.get_interview(interview_id), 200)
        intake = final.get("intake_artifact_id")
        if not isinstance(intake, str):
            raise ScenarioError(f"interview {interview_id} completed without an intake id")
        return intake

    # ---- generations ------------------------------------------------------------
    def start_generation(self, intake_id: Any, review_profile: Any = "Fast", *,
                         paid: bool = True, keep: int = 0, omit_profile: bool = False,
                         note: str = "") -> Exchange:
        """POST /v1/generations. A `paid` request (one that should create a
        generation) spends the run's budget first, leaving `keep` generations
        for other tests, or raises BudgetExceeded."""
        if paid and self.paid is not None:
            self.paid.take(keep=keep)
        body: dict[str, Any] = {"intake_id": intake_id}
        if not omit_profile:
            body["review_profile"] = review_profile
        return self.client.request("POST", "/v1/generations", json=body, note=note)

    def generation(self, generation_id: str) -> dict[str, Any]:
        return body_of(self.client.request("GET", f"/v1/generations/{generation_id}"), 200)

    def clarifications(self, generation_id: str) -> dict[str, Any]:
        return body_of(self.client.request(
            "GET", f"/v1/generations/{generation_id}/clarifications"), 200)

    def answer(self, generation_id: str, answers: Any, note: str = "") -> Exchange:
        ex = self.client.request(
            "POST", f"/v1/generations/{generation_id}/clarifications/answers",
            json={"answers": answers}, note=note)
        if ex.status == 200:
            self._answered_at.setdefault(generation_id, ex.finished_at)
        return ex

    def poll_generation(self, generation_id: str,
                        until: Callable[[Mapping[str, Any]], bool] = lambda g: g.get(
                            "state") in TERMINAL,
                        on_paused: Callable[[str], object] | None = None,
                        on_tick: Callable[[Mapping[str, Any]], object] | None = None,
                        ) -> dict[str, Any]:
        """Poll every `poll_interval` s until `until(record)`, calling `on_tick`
        with each record; on a pause, call `on_paused` (default: answer every
        question with its proposed default). Bounded by the run's deadline."""
        start = self.client.clock.now()
        while True:
            record = self.generation(generation_id)
            self.progress.observe("specstep generation", generation_id, record, state="state",
                                  percent="progress_percent", detail="phase_detail",
                                  eta="estimated_time_remaining_seconds")
            if on_tick is not None:
                on_tick(record)
            if until(record):
                return record
            state = record.get("state")
            if state in TERMINAL:
                raise ScenarioError(f"generation {generation_id} ended {state!r}")
            if state != PAUSED:
                self._answered_at.pop(generation_id, None)
            else:
                (on_paused or self.answer_all)(generation_id)
            if self.client.clock.now() - start > self.deadline:
                raise ScenarioError(f"generation {generation_id} still {state!r} after "
                                    f"{self.deadline:g} s{self._stuck_pause(generation_id)}")
            self.client.clock.sleep(self.poll_interval)

    def _stuck_pause(self, generation_id: str) -> str:
        """At the deadline, a pause that an accepted batch did not end breaks
        SS-CLAR-2; a poll past its window shows it (`leaves_state_within`), so
        poll once more there if the deadline came first."""
        answered = self._answered_at.get(generation_id)
        if answered is None:
            return ""
        late = answered + self.resume_window - self.client.clock.now()
        if late >= 0:
            self.client.clock.sleep(late + min(self.poll_interval, 1.0))
            self.generation(generation_id)
        return (f", paused {self.client.clock.now() - answered:.0f} s after an accepted "
                f"answer batch (SS-CLAR-2 allows {self.resume_window:g} s)")

    def pending(self, generation_id: str) -> list[dict[str, Any]]:
        """The pending clarifications (the well-formed items only)."""
        items = self.clarifications(generation_id).get("clarifications")
        return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []

    def pending_questions(self, generation_id: str) -> list[str]:
        return [q for c in self.pending(generation_id) if isinstance(q := c.get("question"), str)]

    def answer_all(self, generation_id: str) -> Exchange | None:
        """The document's `answer_clarifications()`: every pending question, verbatim."""
        pending = self.pending(generation_id)
        if not pending:
            return None
        answers = [{"question": c.get("question"),
                    "answer": c.get("proposedDefault") or "Use your best judgment for v1."}
                   for c in pending]
        return self.answer(generation_id, answers, note="answer every pending question")

    def download_package(self, package_id: str) -> tuple[Exchange, Exchange | None]:
        """The 302 and, when it has a Location, the keyless fetch of it."""
        redirect = self.client.request("GET", f"/v1/packages/{package_id}/zip",
                                       note="package redirect")
        location = redirect.header("location")
        fetch = self.client.fetch(location, note="package download") if location else None
        return redirect, fetch


def new_key() -> str:
    return f"jc-{uuid.uuid4()}"
