"""The jobs simulator's free choices: what jobs-sdk-types.md and CONTRACT-DEFAULTS
leave open, each drawn by name from a `Variant` (variant 0: the reference
behaviour, every first option).

Fixed by CONTRACT-DEFAULTS, so never a choice here: every path and status
code it names (`201`/`202`/`200`, `400` for an empty `file_ids` or goal text,
`404` for unknown ids, `409` for a stale `item_version` or a job in the wrong
state, `422` for a slot value it refuses), the order of the slot checks
(state, then slot, then value), the test-mode words, the lifecycles and the
event grammar.

Open, so drawn here:

- `id_style`: UUIDs, or prefixed ids (`file_…`, `cv_…`, `goal_…`);
- `convert_check_order` / `goal_check_order`: whether a bad body (`400`)
  is refused before an unknown file or workflow (`404`), or after;
- `invalid_type_status`: `400` or `422` for a body whose field has the wrong
  JSON type (no rule says which), malformed JSON stays `400`;
- refusals (`None` = accepted, else `400` or `422`) of inputs no rule covers:
  `extra_fields`, `missing_file_ids` (a goal body without `file_ids`),
  `non_string_text` (a number for a free-text slot);
- `mark_consumed`: whether an input `File` shows the job that consumed it;
- `time_scale`: every span of every job times 0.5..2; `initial_goal_status`:
  `draft`, or `created` at once (a poll may skip states);
- `convert_retries`: retries a failing convert job makes before it fails;
- `optional_slot`: a third, optional slot (it leaves `pending_slots` when the
  job resumes, one dispatcher tick after the last required fill);
- `dispatcher_tick`: seconds from the last required fill to the resume;
- `keepalive_seconds`: quiet time before an event stream sends `keepalive`;
- `transition_events`: which status changes an `orchestration_transition`
  event accompanies: `execution` (confirmed → queued → executing; every
  variant's) or `every` non-terminal one (only a drift forces it:
  `sims/jobs/drifts.py`);
- `page_size`, `max_page_size`, `oversized_limit` (clamp, or refuse with 400);
- `tier`, `cost_scale`, `spread`: the plan and how estimates are priced;
- `timestamp_style`: RFC 3339 in milliseconds `Z`, microseconds `+00:00`,
  or whole seconds `Z`;
- `error_code_style`: `not_found` or `NOT_FOUND`;
- `rate_limit`: capacity and refill per second of the per-key token bucket;
  `retry_after_padding`: seconds added to the `Retry-After` a bucket computes;
- `message_style` (in `Variant.message`): how error texts read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from jobcontracts.sims.variant import Variant

TIMESTAMP_STYLES = ("millis-z", "micros-offset", "seconds-z")


@dataclass(frozen=True)
class JobsChoices:
    """Every free choice of one simulated jobs server."""

    variant: Variant
    id_style: str
    convert_check_order: tuple[str, ...]
    goal_check_order: tuple[str, ...]
    invalid_type_status: int
    extra_fields: int | None
    missing_file_ids: int | None
    non_string_text: int | None
    mark_consumed: bool
    time_scale: float
    initial_goal_status: str
    convert_retries: int
    optional_slot: bool
    dispatcher_tick: float
    keepalive_seconds: float
    transition_events: str
    page_size: int
    max_page_size: int
    oversized_limit: str
    tier: str
    cost_scale: int
    spread: tuple[int, int]
    """The estimate's floor and ceiling, in percent of its total."""
    timestamp_style: str
    error_code_style: str
    rate_limit: tuple[float, float]
    retry_after_padding: int

    @classmethod
    def of(cls, variant: Variant) -> JobsChoices:
        v = variant
        return cls(
            variant=v,
            id_style=v.pick("id_style", ("uuid", "prefixed")),
            convert_check_order=v.pick("convert_check_order", (("body", "files"),
                                                               ("files", "body"))),
            goal_check_order=v.pick("goal_check_order", (("body", "refs"), ("refs", "body"))),
            invalid_type_status=v.pick("invalid_type_status", (400, 422)),
            extra_fields=v.refusal("extra_fields"),
            missing_file_ids=v.refusal("missing_file_ids"),
            non_string_text=v.refusal("non_string_text"),
            mark_consumed=v.chance("mark_consumed", True),
            time_scale=v.uniform("time_scale", 1.0, 0.5, 2.0),
            initial_goal_status=v.pick("initial_goal_status", ("draft", "created")),
            convert_retries=v.pick("convert_retries", (1, 0, 2)),
            optional_slot=v.chance("optional_slot", False),
            dispatcher_tick=v.pick("dispatcher_tick", (1.0, 0.5, 2.0)),
            keepalive_seconds=v.pick("keepalive_seconds", (15.0, 5.0, 30.0)),
            transition_events=v.pick("transition_events", ("execution",)),
            page_size=v.pick("page_size", (10, 5, 8, 20)),
            max_page_size=v.pick("max_page_size", (100, 50)),
            oversized_limit=v.pick("oversized_limit", ("clamp", "refuse")),
            tier=v.pick("tier", ("free", "pro")),
            cost_scale=v.pick("cost_scale", (1, 2, 3)),
            spread=v.pick("spread", ((60, 150), (80, 125), (50, 200))),
            timestamp_style=v.pick("timestamp_style", TIMESTAMP_STYLES),
            error_code_style=v.pick("error_code_style", ("lower", "upper")),
            rate_limit=v.pick("rate_limit", ((40.0, 5.0), (20.0, 2.0), (60.0, 10.0))),
            retry_after_padding=v.pick("retry_after_padding", (0, 1, 2)),
        )

    def span(self, seconds: float) -> float:
        """A planned span as this server takes it."""
        return seconds * self.time_scale

    def code(self, code: str) -> str:
        return code.upper() if self.error_code_style == "upper" else code

    def stamp(self, ts: float) -> str:
        """RFC 3339 UTC in this server's style. Truncation keeps the order."""
        moment = datetime.fromtimestamp(ts, tz=UTC)
        if self.timestamp_style == "micros-offset":
            return moment.isoformat(timespec="microseconds")
        if self.timestamp_style == "seconds-z":
            return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


REFERENCE = JobsChoices.of(Variant())
