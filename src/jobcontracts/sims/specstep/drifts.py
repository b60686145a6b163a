"""Lawful drifts of the SpecStep simulator (`jobcontracts serve specstep --drift NAME`).

Each changes what a client sees without breaking a rule of the contract: the
suite passes against it, `jobcontracts compare` reports it (see
`sims/drift.py`).
"""

from __future__ import annotations

from jobcontracts.sims.drift import (
    Drift,
    Edit,
    add_keys,
    delay,
    scale_retry_after,
    set_fields,
    shorten_texts,
)

_GENERATION = r"/v1/generations/[^/]+"
_STATUS = (Edit("GET", _GENERATION, add_keys({"queue_region": "eu-west-1"}), (200,)),
           Edit("POST", r"/v1/generations", add_keys({"queue_region": "eu-west-1"}), (202,)))
_NULL_FORECAST = set_fields({"estimated_time_remaining_seconds": None,
                             "estimated_completion_at": None})



def _agent(turn: dict[str, object]) -> bool:
    return turn.get("role") == "agent"


_DRIFT_LIST = (
    Drift("error-code-renamed",
          "A refused body's error.code is VALIDATION_FAILED instead of INVALID_REQUEST.",
          choices={"invalid_code": "VALIDATION_FAILED"}),
    Drift("status-key-added",
          "GenerationStatus records carry one more key, queue_region.",
          respond=_STATUS),
    Drift("forecast-always-null",
          "estimated_time_remaining_seconds and estimated_completion_at are always null.",
          respond=(Edit("GET", _GENERATION, _NULL_FORECAST, (200,)),
                   Edit("POST", r"/v1/generations", _NULL_FORECAST, (202,)))),
    Drift("slow-polls",
          "Status polls (generations, turn jobs) answer 150 ms later.",
          respond=(Edit("GET", _GENERATION, delay(0.15)),
                   Edit("GET", r"/v1/interviews/turns/[^/]+", delay(0.15)))),
    Drift("retry-after-longer",
          "A 429's Retry-After asks for five times as long.",
          respond=(Edit("*", r"/v1/.*", scale_retry_after(5), (429,)),)),
    Drift("extra-question",
          "Each clarification pause asks one question more (3 or 4 instead of 2 or 3).",
          choices={"questions_per_pause": (3, 4)}),
    Drift("replies-cut-short",
          "The interviewer's replies are cut to a third of their length (everywhere a turn shows).",
          respond=tuple(Edit("*", r"/v1/interviews.*", shorten_texts(path, 1 / 3, _agent))
                        for path in ("turns[].content", "snapshot.turns[].content"))),
    Drift("empty-message-refused",
          "An empty turn message is refused with 422 instead of accepted.",
          choices={"empty_message": 422}),
)

DRIFTS = {d.name: d for d in _DRIFT_LIST}
