"""The SpecStep simulator's free choices: everything the document and
CONTRACT-DEFAULTS leave to the server, in one place, drawn from a `Variant`.

Variant 0 is the reference server the suite was first built against; every
other variant is just as lawful. A rule or scenario that fails on one of them
leans on a choice no document makes.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobcontracts.sims.variant import Variant


@dataclass(frozen=True)
class SpecStepChoices:
    state_before_body: bool
    """A turn on a completed interview, answers to an unpaused generation: `409`
    before the body (and key) is validated, or after."""
    intake_before_profile: bool
    """POST /v1/generations: an unknown intake's `404` before a bad profile's `400`."""
    empty_message: int | None
    """An empty (or all-blank) turn message: accepted, or refused with this status."""
    odd_characters: int | None
    """Control or format characters in a message: accepted, or refused."""
    message_limit: tuple[int, int] | None
    """Longest message accepted (characters) and the status refusing a longer one."""
    extra_fields: int | None
    """Unknown keys in a JSON body: ignored, or refused with this status."""
    retry_after_date: bool
    """`Retry-After` as an HTTP-date instead of delay-seconds."""
    bucket: tuple[float, float]
    """Rate limit: capacity and refill per second."""
    queued_seconds: float
    """How long a turn job reads `queued` (0: a poll may never see it)."""
    turn_seconds: tuple[float, float]
    turn_failure_rate: float
    generation_queue_seconds: tuple[float, float]
    generation_pace: float
    """Scale of a generation's work (1.0: Fast ~4 min, Thorough ~32, the document's most)."""
    dispatcher_tick: float
    """Seconds between resumes after an accepted answer batch."""
    questions: tuple[int, ...]
    """How many questions a pause may ask."""
    pauses: int
    """Clarification pauses in one generation (the document allows any number)."""
    invalid_code: str
    """The `error.code` of a refused body (no document names one)."""


def choose(variant: Variant) -> SpecStepChoices:
    refusal = variant.refusal
    return SpecStepChoices(
        state_before_body=variant.chance("state_before_body", False),
        intake_before_profile=variant.chance("intake_before_profile", False),
        empty_message=refusal("empty_message"),
        odd_characters=refusal("odd_characters"),
        message_limit=variant.pick("message_limit", (None, (4000, 422), (20000, 400))),
        extra_fields=refusal("extra_fields"),
        retry_after_date=variant.chance("retry_after_date", False),
        bucket=(round(variant.uniform("bucket_capacity", 20, 8, 25)),
                variant.uniform("bucket_refill", 2.0, 1.0, 5.0)),
        queued_seconds=variant.pick("turn_queued_seconds", (1.0, 0.0, 0.5, 3.0)),
        turn_seconds=variant.pick("turn_seconds", ((2.0, 8.0), (0.5, 3.0), (5.0, 20.0))),
        turn_failure_rate=variant.pick("turn_failure_rate", (0.2, 0.0, 0.35)),
        generation_queue_seconds=variant.pick("generation_queue_seconds",
                                              ((10.0, 20.0), (0.0, 2.0), (20.0, 60.0))),
        generation_pace=variant.uniform("generation_pace", 1.0, 0.6, 1.0),
        dispatcher_tick=variant.pick("dispatcher_tick", (10.0, 1.0, 30.0)),
        questions=variant.pick("questions_per_pause", ((2, 3), (1,), (3, 4, 5))),
        pauses=variant.pick("clarification_pauses", (1, 2)),
        invalid_code=variant.pick("invalid_code",
                                  ("INVALID_REQUEST", "VALIDATION_ERROR", "BAD_REQUEST")),
    )
