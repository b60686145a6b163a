"""How files, jobs and events show on the wire: their fields, in the server's
timestamp style, with any view fault applied on top.

The strict core models (`File`, `ResultFile`, `JobError`, `ConvertJob`,
`PendingSlot`, `GoalJob`) carry exactly their documented keys (JOB-MODEL-1).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobcontracts.sims.jobs.choices import JobsChoices
from jobcontracts.sims.jobs.convert import ConvertJob
from jobcontracts.sims.jobs.files import StoredFile
from jobcontracts.sims.jobs.goals import Goal, GoalEvent

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class View:
    choices: JobsChoices
    faults: Set[str]

    def stamp(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        if "naive-datetime" in self.faults:
            return datetime.fromtimestamp(ts, tz=UTC).replace(tzinfo=None).isoformat(
                timespec="milliseconds")
        return self.choices.stamp(ts)

    def _strict(self, record: dict[str, Any], kind: str) -> dict[str, Any]:
        if "extra-key" in self.faults:
            record["object"] = kind
        return record

    def file(self, stored: StoredFile) -> dict[str, Any]:
        size = stored.size + 1 if "file-size-wrong" in self.faults else stored.size
        return self._strict({
            "file_id": stored.file_id,
            "filename": stored.filename,
            "size": size,
            "content_type": stored.content_type,
            "created_at": self.stamp(stored.created_at),
            "job_id": stored.job_id,
            "is_input": stored.is_input,
        }, "file")

    def convert_job(self, job: ConvertJob, base: str) -> dict[str, Any]:
        progress = job.progress
        results = None if job.result_files is None else [
            {"filename": r.filename, "size": r.size, "mimetype": r.mimetype, "url": r.url(base)}
            for r in job.result_files]
        return self._strict({
            "job_id": job.job_id,
            "status": job.status,
            "processor_type": job.processor_type,
            "progress": progress,
            "progress_message": job.progress_message,
            "result_files": results,
            "error": None if job.error is None else dict(job.error),
            "retry_count": job.retry_count,
            "created_at": self.stamp(job.created_at),
            "updated_at": self.stamp(job.updated_at),
            "started_at": self.stamp(job.started_at),
            "completed_at": self.stamp(job.completed_at),
            "estimated_duration": job.estimated_duration,
        }, "convert_job")

    def goal(self, goal: Goal) -> dict[str, Any]:
        error_code = None if "error-code-missing" in self.faults else goal.error_code
        record = self._strict({
            "job_spec_id": goal.job_spec_id,
            "status": goal.status,
            "progress": goal.progress,
            "item_version": goal.item_version,
            "attempt_id": goal.attempt_id,
            "goal_text": goal.goal_text,
            "workflow_id": goal.workflow_id,
            "file_ids": list(goal.file_ids),
            "pending_slots": [slot.view() for slot in goal.pending],
            "filled_slots": dict(goal.filled),
            "pending_interrupts": [{"kind": "slot_fill", "slot_id": slot.slot_id}
                                   for slot in goal.pending],
            "agent_message": goal.agent_message,
            "error_message": goal.error_message,
            "error_code": error_code,
            "created_at": self.stamp(goal.created_at),
            "updated_at": self.stamp(goal.updated_at),
            "started_at": self.stamp(goal.started_at),
            "completed_at": self.stamp(goal.completed_at),
        }, "goal_job")
        if "field-missing" in self.faults:
            del record["pending_interrupts"]
        return record

    def event(self, goal: Goal, event: GoalEvent) -> dict[str, Any]:
        return {
            "type": event.type,
            "schema_version": SCHEMA_VERSION,
            "job_spec_id": goal.job_spec_id,
            "emitted_at": self.stamp(event.at),
            "seq": event.seq,
            "data": dict(event.data),
        }
