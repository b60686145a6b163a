"""Named faults of the SpecStep simulator.

Each fault breaks exactly one contract rule (its `rule`, an `SS-*` id of
CONTRACT-DEFAULTS.md, and its `also` rules where one answer breaks several)
and leaves every other rule intact, so that a contract
suite run against `SpecStepSimulator(faults={name})` must fail on that rule
and on no other.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobcontracts.sims.common import Fault, checked_fault_names

__all__ = ["FAULTS", "LOAD_FAULTS", "Fault", "resolve_faults"]

_FAULT_LIST: tuple[Fault, ...] = (
    Fault(
        "auth-ignored",
        "SS-AUTH-1",
        "GET endpoints serve a missing or wrong API key as if it were valid.",
    ),
    Fault(
        "me-rejects-valid-key",
        "SS-AUTH-2",
        "GET /v1/me answers 401 to a valid key (every other endpoint takes it).",
    ),
    Fault(
        "wrong-content-type",
        "SS-HTTP-1",
        "GET /v1/generations/{id} answers its JSON with Content-Type: text/plain.",
    ),
    Fault(
        "crash-on-astral",
        "SS-HTTP-1",
        "A turn message holding a character outside the BMP gets a 500.",
    ),
    Fault(
        "bare-error",
        "SS-ERR-1",
        'Every 4xx body is {"detail": "..."} instead of the error envelope.',
    ),
    Fault(
        "turn-accepted-200",
        "SS-TURN-0",
        "A fresh turn without an Idempotency-Key is accepted with 200 instead of 202.",
    ),
    Fault(
        "turn-job-id-null",
        "SS-TURN-4",
        "GET of a queued or running turn job shows job_id null.",
    ),
    Fault(
        "opening-turn-missing",
        "SS-INT-0",
        "A new interview has no opening agent turn: its turns start with the user's.",
    ),
    Fault("snapshot-before-complete", "SS-TURN-1", "Running turn jobs show a non-null snapshot."),
    Fault(
        "failed-without-code",
        "SS-TURN-2",
        "Failed turn jobs have error_code null (is_retryable stays true).",
    ),
    Fault(
        "turn-unfinishes",
        "SS-TURN-3",
        "A completed turn job polled >= 30 s after completion shows running, no snapshot.",
    ),
    Fault(
        "idem-long-key-accepted",
        "SS-IDEM-1",
        "An Idempotency-Key of 129..256 valid characters is accepted.",
    ),
    Fault(
        "replay-new-job",
        "SS-IDEM-2",
        "Same key and body after completion -> 202, a new job and a new user turn.",
    ),
    Fault(
        "replay-while-running",
        "SS-IDEM-3",
        "Same key and body while the original is in flight -> 202, turn committed again.",
    ),
    Fault(
        "idem-ignores-body",
        "SS-IDEM-4",
        "Same key with a different body is treated as a replay (200 or 409), never 422.",
    ),
    Fault(
        "idem-global-scope",
        "SS-IDEM-5",
        "Idempotency keys are scoped per API key only, not per interview.",
        # The key is new to that interview: its first turn there is a fresh one.
        also=("SS-TURN-0",),
    ),
    Fault(
        "complete-without-intake",
        "SS-INT-1",
        "Completing an interview leaves intake_artifact_id null.",
    ),
    Fault(
        "complete-twice-new-intake",
        "SS-INT-2",
        "Completing an interview again mints a new intake id.",
    ),
    Fault(
        "turn-after-complete",
        "SS-INT-3",
        "A turn posted to a completed interview is accepted with 202.",
    ),
    Fault("ordinal-rejected", "SS-GEN-1", "Integer review_profile ordinals (0, 1, 2) get 400."),
    Fault(
        "profile-case-insensitive",
        "SS-GEN-2",
        'review_profile strings are matched case-insensitively ("fast" is accepted).',
    ),
    Fault(
        "unknown-intake-accepted",
        "SS-GEN-3",
        "Any UUID-looking intake_id is accepted, known or not.",
    ),
    Fault(
        "unknown-intake-500",
        "SS-GEN-3",
        "An unknown intake_id gets a 500 (with the error envelope) instead of 404.",
        also=("SS-HTTP-1",),
    ),
    Fault(
        "projection-omits-nulls",
        "SS-PROJ-0",
        "Null-valued keys are left out of GenerationStatus records.",
    ),
    Fault("state-lowercase", "SS-PROJ-1", 'The state "Running" is sent as "running".'),
    Fault(
        "terminal-not-absorbing",
        "SS-PROJ-1",
        "A Complete generation polled >= 60 s after completion shows another package_id.",
    ),
    Fault(
        "package-id-early",
        "SS-PROJ-2",
        "package_id is set from the moment the generation starts running.",
    ),
    Fault(
        "progress-regresses",
        "SS-PROJ-3",
        "progress_percent drops by 5 during the recoverable-error episode.",
    ),
    Fault(
        "retry-count-resets",
        "SS-PROJ-4",
        "retry_count goes back to 0 once the recoverable-error episode ends.",
    ),
    Fault(
        "eta-negative",
        "SS-PROJ-5",
        "During the last phase estimated_time_remaining_seconds is -30.",
    ),
    Fault(
        "billing-state-object",
        "SS-PROJ-8",
        'billing_state is an object ({"state": "metered"}) instead of a string.',
    ),
    Fault(
        "next-retry-lingers",
        "SS-PROJ-6",
        "next_retry_at stays set for 60 s after recoverable_error_category is cleared.",
    ),
    Fault(
        "requeued-after-pause",
        "SS-PROJ-7",
        "After answers the generation shows Queued for one tick before Running.",
    ),
    Fault(
        "clarifications-hidden",
        "SS-CLAR-1",
        "The clarification list is empty while paused (answering still works).",
    ),
    Fault(
        "answers-ignored",
        "SS-CLAR-2",
        "A valid answer batch gets 200 but the generation stays paused forever.",
    ),
    Fault(
        "clarification-case-insensitive",
        "SS-CLAR-3",
        "Answer questions are matched case-insensitively.",
    ),
    Fault(
        "partial-answers-applied",
        "SS-CLAR-3",
        "A rejected (422) batch still removes the questions it named verbatim.",
    ),
    Fault(
        "answers-when-running",
        "SS-CLAR-4",
        "Answers sent while the generation is not paused get 200 (no effect).",
    ),
    Fault(
        "answers-accepted-twice",
        "SS-CLAR-4",
        "A batch sent after an accepted one, before the resume, is judged again (200 if exact).",
    ),
    Fault(
        "clarification-default-omitted",
        "SS-CLAR-5",
        "A pending clarification whose proposedDefault is null leaves the key out.",
    ),
    Fault(
        "package-needs-key",
        "SS-PKG-1",
        "The signed package URL answers 401 unless the request carries the API key.",
    ),
    Fault("retry-after-missing", "SS-RATE-1", "429 answers carry no Retry-After header."),
    Fault(
        "refused-turn-committed",
        "SS-RATE-2",
        "A turn POST refused with 429 still commits the user turn.",
    ),
    Fault(
        "retry-after-lies",
        "SS-RATE-3",
        "Retry-After says 1, but the key stays throttled for 600 s.",
    ),
    Fault(
        "rate-limit-never-lifts",
        "SS-RATE-3",
        "Once a key is throttled it stays throttled: every request gets 429, Retry-After 1.",
    ),
)

#: Every fault the simulator knows, by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _FAULT_LIST}

#: Faults only concurrent traffic shows, served by `jobcontracts load --sim-fault NAME`
#: (`jobcontracts.load.racing`); the simulator itself knows none of them.
LOAD_FAULTS: dict[str, Fault] = {fault.name: fault for fault in (
    Fault("racing-idempotency-keys", "LOAD-IDEM-1",
          "Concurrent turn POSTs with one new Idempotency-Key all pass the key check before the "
          "first commits: each commits its own turn job (202s).",
          also=("SS-IDEM-2", "SS-IDEM-3"), load_only=True),
    Fault("racing-batches", "LOAD-BATCH-1",
          "Concurrent answer batches for one paused generation all pass the paused check before "
          "the first commits: every one answers 200.",
          also=("SS-CLAR-4",), load_only=True),
    Fault("colliding-ids", "LOAD-CREATE-1",
          "Generations created concurrently share the first one's id.",
          load_only=True),
    Fault("500-under-load", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 500 instead of being served.",
          load_only=True),
    Fault("429-under-load-without-retry-after", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 429 with no Retry-After.",
          also=("SS-RATE-1",), load_only=True),
    Fault("latency-grows-with-load", "LOAD-LAT-1",
          "Each request waits 250 ms for every other request in flight (at most 6 s).",
          load_only=True),
)}


def resolve_faults(names: Iterable[str] | None) -> frozenset[str]:
    return checked_fault_names(names, FAULTS, "SpecStep")
