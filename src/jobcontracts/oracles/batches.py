"""The `all_or_nothing_batch` rule kind: answer batches against a pending list.

The pending list is whatever the last observation of it showed. A batch is
*exact* when it names every pending question once, verbatim, and nothing else;
anything else (a subset, a superset, a repeat, a text changed by case,
spacing, punctuation or Unicode normalisation) is *inexact*.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from ..trace import Trace, lookup
from .context import Context, Observation, answered, request_body
from .registry import Params, Verdict, rule_kind
from .requests import When, selected


class Batch(Params):
    request: str
    key_param: str
    pending: str
    """The record that shows the pending list (keyed like the request)."""
    list_field: str
    question_field: str
    answers_field: str
    answer_question_field: str
    state_field: str
    paused: str
    accepted: list[int] = [200]
    case: Literal["exact", "inexact", "not_paused"]
    expect: list[int] = Field(min_length=1)
    when: When = When()
    """Only batches selected by this are judged (`otherwise_valid`: an empty
    answer or an extra key may lawfully be refused before the questions are read)."""


#: When a batch is sent with nothing to answer (`case: not_paused`).
NOT_PAUSED = "while not paused"
ANSWERED = "after an accepted batch, before the resume"
OCCASIONS = (NOT_PAUSED, ANSWERED)


def _questions(batch: Any, p: Batch) -> list[str] | None:
    answers = lookup(batch, p.answers_field)
    if not isinstance(answers, list):
        return None
    out = []
    for item in answers:
        question = lookup(item, p.answer_question_field)
        if not isinstance(item, Mapping) or not isinstance(question, str):
            return None
        out.append(question)
    return out


def _pending(obs: Observation, p: Batch) -> list[str] | None:
    items = lookup(obs.body, p.list_field)
    if not isinstance(items, list):
        return None
    found = [q for q in (lookup(item, p.question_field) for item in items) if isinstance(q, str)]
    return found if len(found) == len(items) else None


@rule_kind("all_or_nothing_batch", Batch)
def all_or_nothing_batch(trace: Trace, p: Batch, ctx: Context, verdict: Verdict) -> None:
    """An exact batch is accepted; an inexact one is refused; any batch sent
    while the resource is not paused, or after a batch was accepted and before
    the resume, is refused. That last case covers both occasions: it is
    verified only once a batch was judged on each."""
    if p.case == "not_paused":
        verdict.covers("occasions", OCCASIONS)
    for ex, params in ctx.requests(p.request):
        if not answered(ex) or ex.credential != "valid" or p.key_param not in params:
            continue
        if not selected(ex, params, p.when, ctx, p.request):
            continue
        key = params[p.key_param]
        asked = _questions(request_body(ex), p)
        if asked is None:
            continue  # a malformed batch: only the generic rules judge it
        before, after = ctx.around(p.pending, key, ex.seq)
        if before is None:
            continue
        in_window, asked_before = _answered(ctx, p, key, ex.seq)
        if in_window:
            # SS-CLAR-4's second clause: the questions are answered, and the
            # pause, as polled just after, is still the one answered.
            if p.case == "not_paused" and _still_that_pause(asked_before, after, p):
                _expect(verdict, p, ex, before, "a batch was already accepted for this pause, "
                        "and the generation had not resumed", part=ANSWERED)
            continue
        pending = _pending(before, p)
        paused = lookup(before.body, p.state_field) == p.paused
        if p.case == "not_paused":
            still_not = after is not None and lookup(after.body, p.state_field) != p.paused
            if not paused and still_not and not _ever_pending(ctx, p, key, asked):
                _expect(verdict, p, ex, before, "not paused before or after it",
                        part=NOT_PAUSED)
            continue
        if not paused or not pending:
            continue
        exact = sorted(asked) == sorted(pending) and len(set(asked)) == len(asked)
        if exact == (p.case == "exact"):
            _expect(verdict, p, ex, before, "exact batch" if exact else _inexact(asked, pending))


def _answered(ctx: Context, p: Batch, key: str,
              seq: int) -> tuple[bool, Observation | None]:
    """Was this pause already answered (a batch accepted, and no poll since
    showing the resource no longer paused: a later pause is a new one)? And the
    pending list as polled before that accepted batch. A batch sent in between
    is neither exact nor inexact: the questions are answered, so only
    SS-CLAR-4's `409` judges it."""
    accepted = [ex.seq for ex, params in ctx.requests(p.request)
                if ex.seq < seq and ex.status in p.accepted and ex.credential == "valid"
                and params.get(p.key_param) == key]
    if not accepted:
        return False, None
    if any(accepted[-1] < obs.seq < seq and lookup(obs.body, p.state_field) != p.paused
           for obs in ctx.records(p.pending).get(key, [])):
        return False, None
    return True, ctx.around(p.pending, key, accepted[-1])[0]


def _still_that_pause(answered: Observation | None, after: Observation | None,
                      p: Batch) -> bool:
    """Had the resource not resumed when the batch came? Polled just after it,
    it still reads paused, with the very questions that were answered (a new
    pause asking the same questions between two polls is beyond belief)."""
    if answered is None or after is None or any(
            lookup(o.body, p.state_field) != p.paused for o in (answered, after)):
        return False
    asked, shown = _pending(answered, p), _pending(after, p)
    return asked is not None and shown is not None and sorted(asked) == sorted(shown)


def _ever_pending(ctx: Context, p: Batch, key: str, asked: list[str]) -> bool:
    """Could this batch have answered some pause? Then its acceptance is no proof."""
    return any(sorted(_pending(obs, p) or []) == sorted(asked)
               for obs in ctx.records(p.pending).get(key, []))


def _inexact(asked: list[str], pending: list[str]) -> str:
    missing = [q for q in pending if q not in asked]
    extra = [q for q in asked if q not in pending]
    repeats = sorted({q for q in asked if asked.count(q) > 1})
    parts = []
    if missing:
        parts.append(f"leaves out {missing}")
    if extra:
        parts.append(f"names unknown {extra}")
    if repeats:
        parts.append(f"repeats {repeats}")
    return "inexact batch: " + "; ".join(parts)


def _expect(verdict: Verdict, p: Batch, ex: Any, before: Observation, why: str,
            part: str | None = None) -> None:
    if ex.status in p.expect:
        verdict.judged(part=part)
    else:
        alts = " or ".join(map(str, p.expect))
        verdict.violate(f"expected {alts} ({why}), got {ex.status}", before.exchange, ex,
                        fields=(p.state_field, "error.code"))
