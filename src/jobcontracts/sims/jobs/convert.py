"""Convert jobs (turbo lane): a timeline on the simulated clock.

A job is planned when it is created, as timed steps; `advance(t)` applies,
in order, every step due by `t` (the POS simulator's way). Its life, in
simulated seconds (times the variant's `time_scale`):

- `queued`, progress 0, for 1-2 s;
- `processing` in four steps of 0.6-1.0 s each: progress 10, 30, 55, 80;
- `completed`, progress 100, one result file per input file, signed then.

Test-mode inputs (CONTRACT-DEFAULTS "Reaching every branch"), matched in the
input files' names, case ignored: `corrupt` fails straight from `queued`
(`started_at` = `completed_at`); `fail` fails while `processing`, after the
third step and the variant's retries (`retry_count` 1 by default).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from jobcontracts.sims.jobs.choices import REFERENCE, JobsChoices
from jobcontracts.sims.jobs.files import FileBook, ResultBlob, StoredFile

QUEUED, PROCESSING, COMPLETED, FAILED = "queued", "processing", "completed", "failed"
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED)
TERMINAL = frozenset({COMPLETED, FAILED})
#: processor_type → (result suffix, mimetype, result bytes per input byte)
PROCESSORS: dict[str, tuple[str, str, float]] = {
    "pdf_to_text": (".txt", "text/plain", 0.25),
    "ocr": (".ocr.json", "application/json", 0.4),
    "transcode": (".mp4", "video/mp4", 0.8),
}
PROCESSING_PROGRESS = (10, 30, 55, 80)
QUEUED_SECONDS = (1.0, 2.0)
STEP_SECONDS = (0.6, 1.0)
#: `progress-regresses`: how long the job holds at 80, then at 3, before it
#: completes: longer than a poll interval and a 429's wait, so that any poller sees both.
REGRESS_HOLD_SECONDS = (15.0, 15.0)


@dataclass(frozen=True)
class Step:
    """A planned change: the attributes it sets."""

    at: float
    changes: dict[str, Any]


class ConvertJob:
    """One convert job; `advance(t)` moves it to time `t`."""

    def __init__(self, *, job_id: str, owner: str, processor: str, inputs: list[StoredFile],
                 created_at: float, rng: random.Random, files: FileBook,
                 choices: JobsChoices = REFERENCE, regresses: bool = False) -> None:
        self.job_id = job_id
        self.owner = owner
        self.processor_type = processor
        self.inputs = inputs
        self.choices = choices
        self.status = QUEUED
        self.progress = 0
        self.progress_message: str | None = "Waiting for a worker"
        self.result_files: list[ResultBlob] | None = None
        self.error: dict[str, str] | None = None
        self.retry_count = 0
        self.created_at = created_at
        self.updated_at = created_at
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self._rng = rng
        self._regresses = regresses
        self._steps: deque[Step] = deque()
        names = " ".join(f.filename for f in inputs).lower()
        self._plan(created_at, files, corrupt="corrupt" in names, fails="fail" in names)
        last = self._steps[-1].at if self._steps else created_at
        self.estimated_duration: int | None = max(0, round(last - created_at))

    def advance(self, now: float) -> None:
        while self._steps and self._steps[0].at <= now:
            step = self._steps.popleft()
            for name, value in step.changes.items():
                setattr(self, name, value)
            self.updated_at = max(self.updated_at, step.at)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def _span(self, bounds: tuple[float, float]) -> float:
        return self.choices.span(self._rng.uniform(*bounds))

    def _at(self, at: float, **changes: Any) -> None:
        self._steps.append(Step(at, changes))

    def _plan(self, t: float, files: FileBook, *, corrupt: bool, fails: bool) -> None:
        t += self._span(QUEUED_SECONDS)
        if corrupt:
            error = {"code": "corrupt_input",
                     "message": "an input file could not be read: it looks corrupt"}
            self._at(t, status=FAILED, started_at=t, completed_at=t, error=error,
                     progress_message="Input rejected")
            return
        self._at(t, status=PROCESSING, started_at=t, progress=PROCESSING_PROGRESS[0],
                 progress_message=f"Running {self.processor_type}")
        for progress in PROCESSING_PROGRESS[1:]:
            t += self._span(STEP_SECONDS)
            if fails and progress == PROCESSING_PROGRESS[-1]:
                self._plan_failure(t)
                return
            self._at(t, progress=progress, progress_message=f"{progress}% processed")
        if self._regresses:
            t += self._span(REGRESS_HOLD_SECONDS)
            self._at(t, progress=3, progress_message="3% processed")
            t += self._span(REGRESS_HOLD_SECONDS)
        t += self._span(STEP_SECONDS)
        self._at(t, status=COMPLETED, progress=100, completed_at=t,
                 progress_message="Done", result_files=self._results(files, t))

    def _plan_failure(self, t: float) -> None:
        for retry in range(1, self.choices.convert_retries + 1):
            self._at(t, retry_count=retry,
                     progress_message=f"Worker error; retrying (attempt {retry + 1})")
            t += self._span(STEP_SECONDS)
        error = {"code": "processing_failed",
                 "message": f"{self.processor_type} failed on an input file"}
        self._at(t, status=FAILED, completed_at=t, error=error, progress_message="Failed")

    def _results(self, files: FileBook, signed_at: float) -> list[ResultBlob]:
        suffix, mimetype, ratio = PROCESSORS[self.processor_type]
        sources: list[StoredFile | None] = list(self.inputs) or [None]
        results = []
        for source in sources:
            stem = "output" if source is None else source.filename.rsplit(".", 1)[0] or "output"
            size = 64 + int((0 if source is None else source.size) * ratio)
            results.append(files.result(stem + suffix, size, mimetype, signed_at))
        return results
