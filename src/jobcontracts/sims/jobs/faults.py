"""Named faults of the convert/goal jobs simulator.

Each fault breaks exactly one contract rule (its `rule`, a `JOB-*` id of
CONTRACT-DEFAULTS.md) and leaves every other rule intact, so that a contract
suite run against `JobsSimulator(faults={name})` must fail on that rule and
on no other. Where a fault would also break a neighbouring rule if applied
everywhere, it is narrowed (`bare-error` touches `404`s only, not the `401`
that JOB-AUTH-1 judges; `confirm-anywhere` leaves `slots_pending` alone, so
no `slot_needed` event loses its slot); the summary says when it shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobcontracts.sims.common import Fault, checked_fault_names

__all__ = ["FAULTS", "LOAD_FAULTS", "Fault", "resolve_faults"]

_FAULT_LIST: tuple[Fault, ...] = (
    Fault("auth-ignored", "JOB-AUTH-1",
          "GET requests under /v1 with a missing or wrong key are served as the first key."),
    Fault("server-error", "JOB-HTTP-1",
          "GET /v1/account/plan answers 500 (with the error body)."),
    Fault("json-as-text", "JOB-HTTP-1",
          "GET /v1/files/{file_id} answers its JSON with Content-Type text/plain."),
    Fault("bare-error", "JOB-ERR-1",
          'Every 404 answers {"detail": "..."} instead of the error body.'),
    Fault("no-retry-after", "JOB-RATE-1", "429 answers carry no Retry-After header."),
    Fault("refused-request-applied", "JOB-RATE-1",
          "A POST or PATCH refused with 429 is still carried out (a like toggles, a job "
          "is created)."),
    Fault("extra-key", "JOB-MODEL-1",
          'File, ConvertJob and GoalJob carry an undocumented key ("object").'),
    Fault("field-missing", "JOB-MODEL-1", "GoalJob lacks its pending_interrupts field."),
    Fault("naive-datetime", "JOB-MODEL-2",
          "Every datetime is sent without a UTC offset (2026-01-05T09:00:00.000)."),
    Fault("file-size-wrong", "JOB-FILE-1", "An uploaded File's size is one byte too many."),
    Fault("no-file-part-accepted", "JOB-FILE-1",
          'An upload with no part named "file" gets 201 and an empty File.'),
    Fault("progress-regresses", "JOB-CONV-1",
          "A convert job holds at 80 for 15 s, then goes back to 3 for 15 s before it "
          "completes (longer than a poll interval: every poller sees it)."),
    Fault("empty-file-ids-accepted", "JOB-CONV-2",
          "POST /v1/convert with file_ids [] gets 202 and a job."),
    Fault("presigned-needs-key", "JOB-CONV-3",
          "A result file's presigned URL answers 401 unless the request carries the key."),
    Fault("error-code-missing", "JOB-GOAL-1", "A failed goal job shows error_code null."),
    Fault("confirm-anywhere", "JOB-GOAL-2",
          "confirm answers 200 in every state but slots_pending: from draft, created or "
          "analyzing the job jumps to confirmed; elsewhere it is left as it was."),
    Fault("cancel-terminal-200", "JOB-GOAL-2",
          "cancel of a terminal goal job answers 200 (the job unchanged) instead of 409."),
    Fault("empty-goal-accepted", "JOB-GOAL-3",
          "POST /v1/goals with a missing or empty goal_text gets 202 and a job."),
    Fault("slot-fill-lost", "JOB-SLOT-1",
          "A lawful slot fill answers 200 but is not kept: the slot stays pending."),
    Fault("option-outside-accepted", "JOB-SLOT-2",
          "A slot with options takes a value outside them."),
    Fault("refused-fill-changes", "JOB-SLOT-2",
          "A fill refused with 422 still bumps the job's item_version."),
    Fault("fill-after-pause", "JOB-SLOT-3",
          "A fill while the job is not slots_pending answers 200 (and records the value on "
          "a non-terminal job)."),
    Fault("event-seq-repeats", "JOB-EVT-1",
          "A goal job's third event repeats the seq of its second."),
    Fault("event-after-terminal", "JOB-EVT-2",
          "A keepalive event follows the terminal event before the stream closes."),
    Fault("terminal-disagrees", "JOB-EVT-3",
          'A partial job\'s terminal event says data.status "completed".'),
    Fault("resume-replays", "JOB-EVT-4",
          "Reconnecting with after_seq=N delivers event N again first."),
    Fault("page-repeats", "JOB-MKT-1",
          "Every search page after the first starts with the last item of the page before "
          "(pages of two items or more)."),
    Fault("like-not-toggled", "JOB-MKT-2",
          "like always answers liked: true and adds one to like_count."),
    Fault("stale-patch-accepted", "JOB-MKT-3",
          "PATCH with a stale item_version is applied (200, the version bumped)."),
    Fault("source-type-other", "JOB-MKT-4",
          'Curated workflows read source_type "template", none of the three the comment lists.'),
    Fault("summary-full-rows", "JOB-MKT-5",
          "Search rows carry system_prompt and spec_json, which a summary row leaves out."),
    Fault("estimate-order", "JOB-BILL-1",
          "estimated_max_micro_u is one less than estimated_total_micro_u."),
    Fault("estimate-not-monotone", "JOB-BILL-2",
          "More iterations, or more tools, lower the estimate (a volume discount)."),
)

#: Every fault the simulator knows, by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _FAULT_LIST}

#: Faults only concurrency shows, served in front of the simulator by
#: `jobcontracts.load.racing` (`jobcontracts load jobs --sim-fault NAME`).
LOAD_FAULTS: dict[str, Fault] = {fault.name: fault for fault in (
    Fault("racing-batches", "LOAD-BATCH-1",
          "Concurrent fills of one pending slot all pass the pending check before the first "
          "commits: every one answers 200.",
          also=("JOB-SLOT-3",), load_only=True),
    Fault("colliding-ids", "LOAD-CREATE-1",
          "Files, convert jobs and goal jobs created concurrently share the first one's id.",
          load_only=True),
    Fault("500-under-load", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 500 instead of being served.",
          load_only=True),
    Fault("429-under-load-without-retry-after", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 429 with no Retry-After (a presigned "
          "download too, which JOB-CONV-3 wants served).",
          also=("JOB-RATE-1", "JOB-CONV-3"), load_only=True),
    Fault("latency-grows-with-load", "LOAD-LAT-1",
          "Each request waits 250 ms for every other request in flight (at most 6 s).",
          load_only=True),
)}


def resolve_faults(names: Iterable[str] | None) -> frozenset[str]:
    return checked_fault_names(names, FAULTS, "jobs")
