"""The `slot_fill` rule kind: filling a human-in-the-loop slot of a paused job.

A fill is judged against the pending slots of the poll just before it, and
only when the job was certainly still paused when the fill arrived: the
poll showed it paused with a required slot unfilled (a paused job leaves
the pause only when every required slot is filled) and no other request in
between could have moved it. Its value is *lawful* when the slot has
`options` and the value is one of them (a string option, or a `{"value":
...}` option's `value`), or the slot is free text and the value plain text;
it is *refused* when it is not among the options, or the slot is required
and the value is `null` or `""`. Anything else (a number for free text, an
empty value for an optional slot) is an input no rule covers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..trace import ABSENT, Exchange, Trace, lookup
from .context import Context, Observation, answered, json_equal, request_body
from .lawful import plain_text
from .lifecycle import holds_any, moved_between, unknown_endpoints
from .registry import Loc, Params, Verdict, rule_kind

if TYPE_CHECKING:
    from ..contract import Contract


class SlotFill(Params):
    request: str
    record: str
    """The record that shows the job's slots (keyed by `key_param`)."""
    key_param: str
    slot_param: str
    """The request's path param that names the slot."""
    state_field: str
    paused: str
    pending_field: str
    """The list of pending slots (`pending_slots`)."""
    filled_field: str
    """The map of filled slots, slot id → value (`filled_slots`)."""
    slot_id: str = "slot_id"
    options: str = "options"
    required: str = "required"
    value_key: str = "value"
    """The body's only key (`{"value": ...}`)."""
    movers: list[str] = []
    """Other endpoints whose requests may move the job (confirm, cancel)."""
    case: Literal["lawful", "refused", "unknown_slot"]
    expect: list[int] = Field(min_length=1)
    resume_within: float | None = Field(default=None, gt=0)
    """With `lawful`: seconds within which the job leaves `paused` once a fill
    left no required slot pending (judged from polls)."""

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        return unknown_endpoints(self.movers, "movers", contract)


def value_verdict(slot: Mapping[str, Any], value: Any) -> str | None:
    """`lawful`, `refused`, or None when no rule says (see the module docstring)."""
    options, required = slot.get("options"), slot.get("required") is True
    empty = value is None or value == ""
    if isinstance(options, list):
        offered = [o if isinstance(o, str) else o.get("value", ABSENT)
                   for o in options if isinstance(o, str | Mapping)]
        if not any(json_equal(value, o) for o in offered):
            return "refused"
        return None if required and empty else "lawful"
    if options is not None:
        return None
    if required and empty:
        return "refused"
    return "lawful" if isinstance(value, str) and plain_text(value) else None


@rule_kind("slot_fill", SlotFill)
def slot_fill(trace: Trace, p: SlotFill, ctx: Context, verdict: Verdict) -> None:
    """A fill of a paused job's slot gets `expect` for its `case`: a lawful
    value (and then the answer shows the slot filled with it, and the job
    resumes once no required slot is left), a refused value, or a slot id
    that is not pending (unknown, or filled already)."""
    for ex, params in ctx.requests(p.request):
        if ex.credential != "valid" or not answered(ex) or p.slot_param not in params:
            continue
        body = request_body(ex)
        if not isinstance(body, Mapping) or set(body) != {p.value_key}:
            continue
        key, slot_name = params.get(p.key_param, ""), params[p.slot_param]
        before = ctx.around(p.record, key, ex.seq)[0]
        if before is None or not _certainly_paused(ctx, p, before, ex, key):
            continue
        slots = lookup(before.body, p.pending_field)
        slot = next((s for s in slots if isinstance(s, Mapping)
                     and s.get(p.slot_id) == slot_name), None)
        if p.case == "unknown_slot":
            if slot is None:
                _expect(p, ex, before, f"slot {slot_name!r} is not pending", verdict)
            continue
        if slot is None or value_verdict(slot, body[p.value_key]) != p.case:
            continue
        shown = f"slot {slot_name!r} = {body[p.value_key]!r:.40}"
        if not _expect(p, ex, before, shown, verdict) or p.case != "lawful":
            continue
        _judge_filled(p, ctx, ex, key, slot_name, body[p.value_key], verdict)


def _certainly_paused(ctx: Context, p: SlotFill, before: Observation, ex: Exchange,
                      key: str) -> bool:
    paused = {p.state_field: p.paused, f"{p.pending_field}.*.{p.required}": True}
    return (holds_any(before.body, paused)
            and isinstance(lookup(before.body, p.pending_field), list)
            and not moved_between(ctx, [p.request, *p.movers], p.key_param, key,
                                  before.seq, ex.seq))


def _expect(p: SlotFill, ex: Exchange, before: Observation, why: str,
            verdict: Verdict) -> bool:
    if ex.status in p.expect:
        verdict.judged()
        return True
    alts = " or ".join(map(str, p.expect))
    verdict.violate(f"{why}: expected {alts}, got {ex.status}", before.exchange, ex,
                    fields=(p.state_field, "error.code"))
    return False


def _judge_filled(p: SlotFill, ctx: Context, ex: Exchange, key: str, slot_name: str,
                  value: Any, verdict: Verdict) -> None:
    answer = ex.json
    if not isinstance(answer, Mapping):
        after = ctx.around(p.record, key, ex.seq)[1]
        if after is None:
            return
        answer, shown_by = after.body, after.exchange
    else:
        shown_by = ex
    pending = lookup(answer, p.pending_field)
    still = isinstance(pending, list) and any(
        isinstance(s, Mapping) and s.get(p.slot_id) == slot_name for s in pending)
    filled = lookup(answer, p.filled_field)
    stored = filled.get(slot_name, ABSENT) if isinstance(filled, Mapping) else ABSENT
    if still or not json_equal(stored, value):
        verdict.violate(f"filled {slot_name!r} with {value!r:.40}, but "
                        + ("it is still pending" if still else
                           f"{p.filled_field}[{slot_name!r}] is {stored!r:.40}"),
                        ex, shown_by, fields=(p.pending_field, p.filled_field))
        return
    verdict.judged()
    required_left = holds_any(answer, {f"{p.pending_field}.*.{p.required}": True})
    if p.resume_within is not None and not required_left:
        _judge_resume(p, ctx, ex, key, answer, verdict)


def _judge_resume(p: SlotFill, ctx: Context, ex: Exchange, key: str, answer: Any,
                  verdict: Verdict) -> None:
    if lookup(answer, p.state_field) != p.paused:
        verdict.judged()
        return
    deadline = ex.finished_at + (p.resume_within or 0)
    for obs in ctx.records(p.record).get(key, []):
        if obs.seq <= ex.seq:
            continue
        if lookup(obs.body, p.state_field) != p.paused:
            verdict.judged()
            return
        if obs.exchange.started_at > deadline:
            verdict.violate(f"no required slot left, but still {p.paused} "
                            f"{obs.exchange.started_at - ex.finished_at:.0f} s later "
                            f"(allowed {p.resume_within:g} s)", ex, obs.exchange,
                            fields=(p.state_field,))
            return
