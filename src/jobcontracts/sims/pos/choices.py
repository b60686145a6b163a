"""The POS simulator's free choices: what the documents and CONTRACT-DEFAULTS
leave open, each drawn by name from a `Variant` (variant 0: the reference
behaviour, every first option).

Fixed by the documents, so never a choice here: `401` before anything else on
every `/api/` path (POS-AUTH-1); `404` with the error envelope for an unknown
job id (POS-SCHEMA-1); `409` for a respond whose body is itself acceptable to a
job that is not `needs_clarification` (POS-RESP-1); integer ids (the OpenAPI);
every POS-PROJ-* projection rule.

Open, so drawn here:

- `respond_check_order`: which of unknown job (`404`), body validation
  (`400`/`422`) and state (`409`) comes first;
- `invalid_body_status`: `400` or `422` for a JSON object that breaks the
  request schema (a missing field, a non-string); malformed JSON stays `400`;
- refusals (`None` = accepted, else `400` or `422`) of inputs no rule covers:
  `empty_strings`, `blank_strings`, `long_strings` (over `long_limit`
  characters), `odd_unicode` (control characters, lone surrogates,
  noncharacters), `extra_fields`, `unknown_provider`;
- `lenient_job_ids`: whether `0042` names job 42 (else it is unknown);
- `job_ids`: where ids start and how they step; all integers;
- `time_scale`: every stage's length times 0.5..2; `skipped_stage`: a stage
  so short no poll sees it (`retrying`; a server that never shows `queued`
  is as lawful, but leaves POS-PROJ-1's pending clause honestly not reached,
  so the variants, which must verify every rule, keep it);
- `max_attempts`: test attempts before the job gives up (2..5);
- `paused_stage`: the stage a job in `needs_clarification` shows;
- `clarification_after_answer`: the question kept on the job, or cleared;
- `timestamp_style`: RFC 3339 in milliseconds `Z`, microseconds `+00:00`,
  or whole seconds `Z`;
- `error_field`: the envelope's `field` names the culprit, or is `""`;
- `rate_limit`, `rate_limit_first`, `retry_after_padding`: whether (and
  how tightly) requests are rate-limited per key with `429` and
  `Retry-After`, and whether that comes before authentication;
- `message_style` (in `Variant.message`): how error and envelope texts read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobcontracts.sims.variant import Variant

#: The orders in which respond checks its job, its body and the job's state.
CHECK_ORDERS: tuple[tuple[str, ...], ...] = (
    ("job", "body", "state"),
    ("body", "job", "state"),
    ("job", "state", "body"),
)
#: Providers a server that refuses unknown ones knows.
KNOWN_PROVIDERS = frozenset({"square", "clover", "toast", "lightspeed", "shopify", "revel",
                             "vend", "touchbistro", "loyverse", "sumup"})
#: id style → (first id, step) as drawn from the book's generator.
JOB_ID_STYLES = ("from-thousands", "from-one", "large", "sparse")
TIMESTAMP_STYLES = ("millis-z", "micros-offset", "seconds-z")


@dataclass(frozen=True)
class PosChoices:
    """Every free choice of one simulated POS server."""

    variant: Variant
    respond_check_order: tuple[str, ...]
    invalid_body_status: int
    empty_strings: int | None
    blank_strings: int | None
    long_strings: int | None
    long_limit: int
    odd_unicode: int | None
    extra_fields: int | None
    unknown_provider: int | None
    lenient_job_ids: bool
    job_ids: str
    time_scale: float
    skipped_stage: str | None
    max_attempts: int
    paused_stage: str
    clarification_after_answer: str
    timestamp_style: str
    error_field: str
    rate_limit: tuple[float, float] | None
    rate_limit_first: bool
    retry_after_padding: int

    @classmethod
    def of(cls, variant: Variant) -> PosChoices:
        v = variant
        return cls(
            variant=v,
            respond_check_order=v.pick("respond_check_order", CHECK_ORDERS),
            invalid_body_status=v.pick("invalid_body_status", (400, 422)),
            empty_strings=v.refusal("empty_strings"),
            blank_strings=v.refusal("blank_strings"),
            long_strings=v.refusal("long_strings"),
            long_limit=v.pick("long_limit", (1000, 200, 10_000)),
            odd_unicode=v.refusal("odd_unicode"),
            extra_fields=v.refusal("extra_fields"),
            unknown_provider=v.refusal("unknown_provider"),
            lenient_job_ids=v.chance("lenient_job_ids", False),
            job_ids=v.pick("job_ids", JOB_ID_STYLES),
            time_scale=v.uniform("time_scale", 1.0, 0.5, 2.0),
            skipped_stage=v.pick("skipped_stage", (None, "retrying")),
            max_attempts=v.pick("max_attempts", (3, 2, 4, 5)),
            paused_stage=v.pick("paused_stage", ("gathering", "generating")),
            clarification_after_answer=v.pick("clarification_after_answer",
                                              ("kept", "cleared")),
            timestamp_style=v.pick("timestamp_style", TIMESTAMP_STYLES),
            error_field=v.pick("error_field", ("named", "blank")),
            rate_limit=v.pick("rate_limit", (None, (8.0, 1.0), (30.0, 0.5))),
            rate_limit_first=v.chance("rate_limit_first", False),
            retry_after_padding=v.pick("retry_after_padding", (0, 1, 2)),
        )

    # ------------------------------------------------------------------ inputs

    def string_refusal(self, field: str, value: str) -> tuple[int, str] | None:
        """Why this server refuses a string no rule covers (status, details), or None."""
        checks: tuple[tuple[int | None, bool, str], ...] = (
            (self.empty_strings, value == "", f"{field} must not be empty"),
            (self.blank_strings, value != "" and not value.strip(),
             f"{field} must not be blank"),
            (self.long_strings, len(value) > self.long_limit,
             f"{field} is longer than {self.long_limit} characters"),
            (self.odd_unicode, any(_odd(c) for c in value),
             f"{field} holds control characters or invalid Unicode"),
            (self.unknown_provider, field == "provider" and value != ""
             and value.strip().lower() not in KNOWN_PROVIDERS,
             f"unknown provider {value[:40]!r}"),
        )
        for status, applies, details in checks:
            if status is not None and applies:
                return status, details
        return None

    def extra_refusal(self, body: dict[str, Any],
                      fields: tuple[str, ...]) -> tuple[int, str] | None:
        extra = sorted(k for k in body if k not in fields)
        if self.extra_fields is not None and extra:
            return self.extra_fields, f"unexpected field(s): {', '.join(extra)[:80]}"
        return None

    def error_field_name(self, field: str) -> str:
        return field if self.error_field == "named" else ""

    # ------------------------------------------------------------------ ids

    def first_job_id(self, drawn: int) -> int:
        """The first id; `drawn` is the book's draw in [0, 9000) (today's 1000 + drawn)."""
        if self.job_ids == "from-one":
            return 1
        if self.job_ids == "large":
            return 4_000_000_000_000 + drawn * 1_000_003
        if self.job_ids == "sparse":
            return 100_000 + drawn * 97
        return 1000 + drawn

    def job_id_step(self, draw: float) -> int:
        """The gap to the next id; `draw` in [0, 1)."""
        return 1 + int(draw * 5000) if self.job_ids == "sparse" else 1

    # ------------------------------------------------------------------ times

    def span(self, stage: str, drawn: float) -> float:
        """A stage's drawn length as this server takes it."""
        if stage == self.skipped_stage:
            return 0.0
        return drawn * self.time_scale

    def stamp(self, ts: float) -> str:
        """RFC 3339 UTC in this server's style. Truncation keeps the order."""
        moment = datetime.fromtimestamp(ts, tz=UTC)
        if self.timestamp_style == "micros-offset":
            return moment.isoformat(timespec="microseconds")
        if self.timestamp_style == "seconds-z":
            return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _odd(char: str) -> bool:
    """A control character, a lone surrogate or a noncharacter."""
    code = ord(char)
    return (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF
            or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE)


REFERENCE = PosChoices.of(Variant())
