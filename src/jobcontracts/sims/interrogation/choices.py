"""The Interrogation Agent simulator's free choices, drawn once from a `Variant`.

Each attribute is one choice the document (interrogation-agent-api.md) and
CONTRACT-DEFAULTS leave open; its first option (variant 0) is the reference
behaviour. Why each is lawful:

Requests (IA-REQ-1 fixes a status per condition, not which condition a
request that breaks several is refused for, and nothing about the inputs
below; CONTRACT-DEFAULTS: "never one particular status code" for those)
- `check_order`: the order of the checks of `POST /api/simulations`.
- `user_input_null` / `wrong_type`: a null or mistyped field: 400 or 422.
- `blank_text`, `long_text` (over `long_text_limit`), `odd_text` (control
  characters, noncharacters), `extra_fields`: accepted, or refused 400/422.
- `blank_stakeholder_id`: as if not given, as an unknown id (404), or 422.
- `blank_profile`: as if not given, or refused.
- `limit_absent`, `limit_null`: the default limit, or refused ("whether
  max_interview_messages may be left out, the documents do not say").
- `limit_integral_float`: is `8.0` an integer? 400, or accepted as 8.
- `default_limit`: the limit of a request that gives none.

Answers
- `simulation_id`: the document shows a UUID; a string is all IA-REQ-2 asks.
- `absolute_urls`: `events_url` / `details_url` relative (as shown) or absolute.
- `extra_fields_in_answers`: more keys than the document shows in the 202
  answer, the status record and catalog entries.
- `error_shape`, `json_type`, `sse_type`: the document gives no error body
  (IA-ERR-1 asks a JSON object); a media type may carry `charset`.
- `catalog_order`, `catalog_size`: `data/stakeholders.json` is the server's.

Runs (the document fixes the events, not how many, how fast, or how often)
- `hypotheses`, `pairs`: hypotheses per run, question/answer pairs per
  hypothesis (never over max_interview_messages).
- `pace`: every delay scaled; `failure_timeout`: how long a failing step hangs.
- `update_per_message`: an `agent.update` for every interview message, or not.
- `message_index_base`: the first `message_index`, 0 (as the example) or 1.

The stream (WHATWG server-sent events: all of these parse the same)
- `id_start`, `id_step`: `id:`s strictly increase (IA-SSE-3), from anywhere.
- `keepalive`, `keepalive_seconds`: comment lines while idle, or none.
- `retry`: a `retry:` field, none, with `sse.connected`, or a block of its own.
- `field_order`, `field_space`, `line_ending`, `data_layout`, `ascii_json`.
- `end_linger`: seconds the stream stays open after the terminal event
  (within the suite's `stream_end_grace_seconds`, 5).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from jobcontracts.sims.variant import LAWFUL_REFUSALS, Variant

#: The checks of POST /api/simulations (see `request`), in the reference order.
CHECKS = ("user_input", "stakeholder_types", "limit", "stakeholder", "unruled")


@dataclass(frozen=True)
class Choices:
    check_order: tuple[str, ...]
    user_input_null: int
    wrong_type: int
    blank_text: int | None
    long_text: int | None
    long_text_limit: int
    odd_text: int | None
    extra_fields: int | None
    blank_stakeholder_id: str
    blank_profile: int | None
    limit_absent: int | None
    limit_null: int | None
    limit_integral_float: int | None
    default_limit: int
    simulation_id: str
    absolute_urls: bool
    extra_fields_in_answers: bool
    error_shape: str
    json_type: str
    sse_type: str
    catalog_order: str
    catalog_size: int
    hypotheses: tuple[int, ...]
    pairs: tuple[int, int]
    pace: float
    failure_timeout: float
    update_per_message: bool
    message_index_base: int
    id_start: int
    id_step: int
    keepalive: str
    keepalive_seconds: float
    retry: str
    field_order: str
    field_space: bool
    line_ending: str
    data_layout: str
    ascii_json: bool
    end_linger: float

    @classmethod
    def of(cls, v: Variant) -> Choices:
        refusals = (LAWFUL_REFUSALS[0], LAWFUL_REFUSALS[1])
        return cls(
            check_order=v.pick("check_order", list(itertools.permutations(CHECKS))),
            user_input_null=v.pick("user_input_null", refusals),
            wrong_type=v.pick("wrong_type", refusals),
            blank_text=v.refusal("blank_text"),
            long_text=v.refusal("long_text"),
            long_text_limit=v.pick("long_text_limit", (10_000, 2_000, 5_000)),
            odd_text=v.refusal("odd_text"),
            extra_fields=v.refusal("extra_fields"),
            blank_stakeholder_id=v.pick("blank_stakeholder_id", ("none", "unknown", "422")),
            blank_profile=v.refusal("blank_profile"),
            limit_absent=v.refusal("limit_absent"),
            limit_null=v.refusal("limit_null"),
            limit_integral_float=v.pick("limit_integral_float", (400, None)),
            default_limit=v.pick("default_limit", (8, 10, 6)),
            simulation_id=v.pick("simulation_id", ("uuid", "hex", "prefixed")),
            absolute_urls=v.chance("absolute_urls", False),
            extra_fields_in_answers=v.chance("extra_fields_in_answers", False),
            error_shape=v.pick("error_shape", ("envelope", "detail", "flat")),
            json_type=v.pick("json_type", ("application/json",
                                           "application/json; charset=utf-8")),
            sse_type=v.pick("sse_type", ("text/event-stream",
                                         "text/event-stream; charset=utf-8")),
            catalog_order=v.pick("catalog_order", ("listed", "by_id", "reversed")),
            catalog_size=v.pick("catalog_size", (5, 3, 4)),
            hypotheses=v.pick("hypotheses", ((2, 3, 3), (1, 2), (3, 4), (2,))),
            pairs=v.pick("pairs", ((2, 5), (1, 3), (3, 8))),
            pace=v.uniform("pace", 1.0, 0.5, 1.6),
            failure_timeout=v.uniform("failure_timeout", 30.0, 5.0, 60.0),
            update_per_message=v.chance("update_per_message", True),
            message_index_base=v.pick("message_index_base", (0, 1)),
            id_start=v.pick("id_start", (0, 1, 100)),
            id_step=v.pick("id_step", (1, 2, 10)),
            keepalive=v.pick("keepalive", ("comment", "comment_blank", "bare", "none")),
            keepalive_seconds=v.uniform("keepalive_seconds", 15.0, 3.0, 30.0),
            retry=v.pick("retry", ("none", "with_connected", "own_block")),
            field_order=v.pick("field_order", ("id_event_data", "event_id_data",
                                               "event_data_id")),
            field_space=v.chance("field_space", True),
            line_ending=v.pick("line_ending", ("\n", "\r\n", "\r")),
            data_layout=v.pick("data_layout", ("one_line", "pretty")),
            ascii_json=v.chance("ascii_json", True),
            end_linger=v.uniform("end_linger", 0.0, 0.0, 2.0),
        )
