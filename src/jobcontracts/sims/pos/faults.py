"""Named faults of the POS adapter-scripts simulator.

Each fault breaks exactly one contract rule (its `rule`, a `POS-*` id of
CONTRACT-DEFAULTS.md) and leaves every other rule intact, so that a contract
suite run against `PosSimulator(faults={name})` must fail on that rule and on
no other.

Some faults only show on some jobs or for a while; the summary says when:
a suite that never polls a job in that state cannot see them.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobcontracts.sims.common import Fault, checked_fault_names

__all__ = ["FAULTS", "LOAD_FAULTS", "Fault", "resolve_faults"]

_FAULT_LIST: tuple[Fault, ...] = (
    Fault(
        "auth-ignored",
        "POS-AUTH-1",
        "GET /jobs/{jobId} serves a missing or wrong X-Api-Key as the first configured key "
        "(POSTs still get 401).",
    ),
    Fault(
        "unknown-job-500",
        "POS-SCHEMA-1",
        "GET of an unknown job id answers 500 (with the error envelope) instead of 404.",
    ),
    Fault(
        "bare-not-found",
        "POS-SCHEMA-1",
        'GET of an unknown job id answers 404 {"message": "..."}, not the error envelope.',
    ),
    Fault(
        "hypothesis-null",
        "POS-SCHEMA-1",
        "hypothesis is null (the schema wants a string) until the script is first drafted.",
    ),
    Fault(
        "timestamps-not-rfc3339",
        "POS-SCHEMA-2",
        'createdAt and updatedAt read "2026-05-29 10:00:00": no "T", no time zone.',
    ),
    Fault(
        "item-timestamps-not-rfc3339",
        "POS-SCHEMA-3",
        'testResults[] and logs[] timestamps read "2026-05-29 10:00:00": no "T", no time zone.',
    ),
    Fault(
        "stage-while-paused",
        "POS-PROJ-5",
        'A job in needs_clarification shows stage "waiting", which the document does not list.',
    ),
    Fault(
        "pending-while-gathering",
        "POS-PROJ-1",
        'While gathering before any clarification, status stays "pending" (stage "gathering").',
    ),
    Fault(
        "clarification-empty",
        "POS-PROJ-1",
        'clarification is always "": a job in needs_clarification shows no question.',
    ),
    Fault(
        "script-id-early",
        "POS-PROJ-2",
        "resultScriptId is non-zero while the job is running in testing or retrying.",
    ),
    Fault(
        "completed-without-script",
        "POS-PROJ-2",
        "A completed job shows resultScriptId 0.",
    ),
    Fault(
        "attempt-skips",
        "POS-PROJ-3",
        "testResults attempts are numbered 1, 3, 4 ... (jobs with a retry only).",
    ),
    Fault(
        "retries-off-by-one",
        "POS-PROJ-3",
        "retries counts every failed attempt, the last one too (shows while retrying, "
        "and on jobs whose every attempt failed).",
    ),
    Fault(
        "log-time-goes-back",
        "POS-PROJ-3",
        "The log entry opening the generating stage is stamped 40 s before the entry before it.",
    ),
    Fault(
        "success-flag-false",
        "POS-PROJ-4",
        "Every 200 envelope (GET and respond) has isSuccess: false (code stays 200).",
    ),
    Fault(
        "respond-anytime",
        "POS-RESP-1",
        "respond to a job not in needs_clarification answers 200 and records humanResponse.",
    ),
    Fault(
        "respond-409-but-recorded",
        "POS-RESP-1",
        "respond to a job not in needs_clarification answers 409 but still records humanResponse.",
    ),
)

#: Every fault the simulator knows, by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _FAULT_LIST}

#: Faults only concurrent traffic shows, served by `jobcontracts load --sim-fault NAME`
#: (`jobcontracts.load.racing`); the simulator itself knows none of them.
LOAD_FAULTS: dict[str, Fault] = {fault.name: fault for fault in (
    Fault("racing-batches", "LOAD-BATCH-1",
          "Concurrent responds for one paused job all pass the paused check before the first "
          "commits: every one answers 200.",
          also=("POS-RESP-1",), load_only=True),
    Fault("colliding-ids", "LOAD-CREATE-1",
          "Jobs created concurrently share the first one's jobId.",
          load_only=True),
    Fault("500-under-load", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 500 instead of being served.",
          load_only=True),
    Fault("429-under-load-without-retry-after", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 429 with no Retry-After.",
          load_only=True),
    Fault("latency-grows-with-load", "LOAD-LAT-1",
          "Each request waits 250 ms for every other request in flight (at most 6 s).",
          load_only=True),
)}


def resolve_faults(names: Iterable[str] | None) -> frozenset[str]:
    return checked_fault_names(names, FAULTS, "POS")
