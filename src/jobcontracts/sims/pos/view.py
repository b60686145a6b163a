"""How a POS job shows on the wire (`GET .../jobs/{jobId}`): its fields, in
the server's timestamp style, with any view fault applied on top."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobcontracts.sims.pos.jobs import (
    COMPLETED,
    GATHERING,
    GENERATING,
    LOG_SKEW_SECONDS,
    PAUSED,
    PENDING,
    RETRYING,
    RUNNING,
    TESTING,
    Job,
)


def job_view(job: Job, faults: frozenset[str]) -> dict[str, Any]:
    """The job as `GET /api/v1/adapter-scripts/jobs/{jobId}` shows it."""
    status, script_id = job.status, job.result_script_id
    if (
        "pending-while-gathering" in faults
        and status == RUNNING
        and job.stage == GATHERING
        and not job.answered
    ):
        status = PENDING
    if "script-id-early" in faults and status == RUNNING and job.stage in (TESTING, RETRYING):
        script_id = job.planned_script_id
    if "completed-without-script" in faults and status == COMPLETED:
        script_id = 0
    stamp = job.choices.stamp
    item_stamp = _naive if "item-timestamps-not-rfc3339" in faults else stamp
    results = [dict(result, timestamp=item_stamp(result["timestamp"]))
               for result in job.test_results]
    if "attempt-skips" in faults:
        for result in results:
            if result["attempt"] >= 2:
                result["attempt"] += 1
    counted = job.test_results if "retries-off-by-one" in faults else job.test_results[:-1]
    times = [at for _, _, at in job.logs]
    if "log-time-goes-back" in faults:
        for i in range(1, len(times)):
            if job.logs[i][0] == GENERATING:
                times[i] = times[i - 1] - LOG_SKEW_SECONDS
                break
    hypothesis: str | None = job.hypothesis
    if "hypothesis-null" in faults and not job.hypothesis:
        hypothesis = None
    stage = job.stage
    if "stage-while-paused" in faults and status == PAUSED:
        stage = "waiting"
    created, updated = stamp(job.created_at), stamp(job.updated_at)
    if "timestamps-not-rfc3339" in faults:
        created, updated = (_naive(t) for t in (job.created_at, job.updated_at))
    return {
        "id": job.id,
        "provider": job.provider,
        "topic": job.topic,
        "status": status,
        "stage": stage,
        "hypothesis": hypothesis,
        "testResults": results,
        "clarification": "" if "clarification-empty" in faults else job.clarification,
        "humanResponse": job.human_response,
        "logs": [
            {"stage": stage, "message": message, "timestamp": item_stamp(at)}
            for (stage, message, _), at in zip(job.logs, times, strict=True)
        ],
        "retries": sum(not result["passed"] for result in counted),
        "resultScriptId": script_id,
        "createdAt": created,
        "updatedAt": updated,
    }


def _naive(ts: float) -> str:
    """`timestamps-not-rfc3339`: a date and time with a space and no zone."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
