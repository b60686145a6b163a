"""Request rule kinds: what status a kind of request must get, and what it may
change. A `429` is never judged here: it is the rate-limit rules' business,
and the client retries it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ..trace import ABSENT, Exchange, Trace, lookup
from . import covers
from .context import Cond, Context, Observation, answered, holds, lookup_all, request_body
from .lawful import otherwise_valid
from .registry import Loc, Params, Verdict, rule_kind

if TYPE_CHECKING:
    from ..contract import Contract


class Around(Params):
    """The resource a request names, as polled just before and just after it."""

    record: str
    key_param: str
    """The request's path param that names the resource."""
    condition: Cond
    """Must hold on both observations; with either missing the request is not selected."""


class When(Params):
    """Which requests a check is about. Every clause given must hold."""

    credential: list[str] = ["valid"]
    status: list[int] | None = None
    path_prefix: str | None = None
    header_invalid: dict[str, str] | None = None
    """Header name → regex of a valid value: the header is sent and does not match."""
    header_valid: dict[str, str] | None = None
    body: Cond | None = None
    body_keys: list[str] | None = None
    """The body is a JSON object with no keys but these: an extra field is an
    input no rule covers, which a server may lawfully refuse for its own sake."""
    known: dict[str, str] | None = None
    """Body field → `record.field`: the value was seen in that record before."""
    unknown: dict[str, str] | None = None
    """Body field → `record.field`: the value was never seen there (and the
    record was, before the request: until then, nothing is known to be unknown)."""
    after: str | None = None
    """`endpoint@status` earlier on the same resource (shared path params)."""
    unknown_resource: dict[str, str] | None = None
    """Path param → record: no answer anywhere in the trace showed that record
    for the param's value (an id nobody minted; one that answers 200 is known)."""
    known_resource: dict[str, str] | None = None
    """Path param → record: an answer before this request showed that record
    for the param's value (the resource exists, so a refusal is about the
    request, not a 404 for an id nobody minted)."""
    around: Around | None = None
    not_after: str | None = None
    """`endpoint@status` did not happen earlier on the same resource."""
    otherwise_valid: bool | list[str] = False
    """No other lawful refusal applies (`lawful.py`): the body and headers are
    what the endpoint declares, valid and plain; a list names the body fields
    and headers the rule is about, which are exempt."""
    fresh_header: str | None = None
    """The header is absent, or its value was not sent before to the same
    endpoint and resource (a reused Idempotency-Key may lawfully replay)."""


def selected(ex: Exchange, params: dict[str, str], w: When, ctx: Context,
             endpoint: str = "*") -> bool:
    if ex.credential not in w.credential:
        return False
    if not answered(ex) and ex.status not in (w.status or ()):
        return False
    if w.status is not None and ex.status not in w.status:
        return False
    if w.path_prefix is not None and not ex.path.startswith(w.path_prefix):
        return False
    for name, pattern in (w.header_invalid or {}).items():
        value = ex.request_header(name)
        if value is None or re.fullmatch(pattern, value):
            return False
    for name, pattern in (w.header_valid or {}).items():
        value = ex.request_header(name)
        if value is None or not re.fullmatch(pattern, value):
            return False
    body = request_body(ex)
    if w.body is not None and not holds(body, w.body):
        return False
    if w.body_keys is not None and (not isinstance(body, dict)
                                    or not body.keys() <= set(w.body_keys)):
        return False
    for name, ref in (w.known or {}).items():
        value = lookup(body, name)
        if not isinstance(value, str) or value not in _seen_before(ctx, ref, ex.seq):
            return False
    for name, ref in (w.unknown or {}).items():
        value = lookup(body, name)
        if (not isinstance(value, str) or value in ctx.seen_values(ref)
                or not any(o.seq < ex.seq for o in ctx.observations(ref.partition(".")[0]))):
            return False
    for name, record in (w.unknown_resource or {}).items():
        if name not in params or params[name] in ctx.records(record):
            return False
    for name, record in (w.known_resource or {}).items():
        shown = ctx.records(record).get(params.get(name, ""), [])
        if not any(o.seq < ex.seq for o in shown):
            return False
    if w.around is not None and not _around_holds(ctx, w.around, ex.seq, params):
        return False
    if w.otherwise_valid is not False and not _otherwise_valid(ex, w, ctx, endpoint):
        return False
    if w.fresh_header is not None and _header_reused(ctx, w.fresh_header, ex, endpoint, params):
        return False
    if w.not_after is not None and _happened_before(ctx, w.not_after, ex.seq, params):
        return False
    return w.after is None or _happened_before(ctx, w.after, ex.seq, params)


def _otherwise_valid(ex: Exchange, w: When, ctx: Context, endpoint: str) -> bool:
    name = endpoint if endpoint != "*" else ctx.endpoint_of(ex)
    if name is None:
        return False
    exempt = w.otherwise_valid if isinstance(w.otherwise_valid, list) else ()
    return otherwise_valid(ex, ctx.contract.endpoints[name], exempt)


def _header_reused(ctx: Context, header: str, ex: Exchange, endpoint: str,
                   params: dict[str, str]) -> bool:
    value = ex.request_header(header)
    return value is not None and any(
        other.seq < ex.seq and other.request_header(header) == value and op == params
        for other, op in ctx.requests(endpoint))


def _around_holds(ctx: Context, a: Around, seq: int, params: dict[str, str]) -> bool:
    if a.key_param not in params:
        return False
    before, after = ctx.around(a.record, params[a.key_param], seq)
    return (before is not None and after is not None
            and holds(before.body, a.condition) and holds(after.body, a.condition))


def _seen_before(ctx: Context, ref: str, seq: int) -> set[str]:
    record, _, field = ref.partition(".")
    return {v for o in ctx.observations(record) if o.seq < seq
            for v in lookup_all(o.body, field) if isinstance(v, str)}


def _happened_before(ctx: Context, ref: str, seq: int, params: dict[str, str]) -> bool:
    endpoint, _, status = ref.partition("@")
    for ex, other in ctx.requests(endpoint):
        if ex.seq >= seq:
            break
        same = all(params.get(k) == v for k, v in other.items() if k in params)
        if same and (not status or ex.status == int(status)):
            return True
    return False


class StatusFor(Params):
    request: str
    when: When = When()
    expect: list[int] = Field(min_length=1)
    covers: list[str] = []
    """The set the check iterates over (`covers.py`): verified only once each
    member was judged."""

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        return covers.problems(self.covers, self.request, self.when, contract)


@rule_kind("status_for", StatusFor)
def status_for(trace: Trace, p: StatusFor, ctx: Context, verdict: Verdict) -> None:
    """Requests selected by `when` get one of the `expect` statuses (a 5xx
    too: it is not the answer the rule demands)."""
    cover = covers.cover(p.covers, p.request, p.when, ctx)
    if cover is not None:
        verdict.covers(cover.label, cover.members)
    for ex, params in ctx.requests(p.request):
        if selected(ex, params, p.when, ctx, p.request):
            if ex.status in p.expect:
                verdict.judged(part=None if cover is None else cover.member(ex))
            else:
                verdict.violate(f"expected {_alts(p.expect)}, got {ex.status}", ex,
                                fields=("error.code",))


def _alts(statuses: list[int]) -> str:
    return " or ".join(str(s) for s in statuses)


class Measure(Params):
    count: str | None = None
    """A list field whose length (of items matching `where`) is measured."""
    where: Cond | None = None
    fields: list[str] | None = None
    """Fields compared whole."""


class NoSideEffect(Params):
    request: str
    when: When = When()
    observe: str
    """The record that would show the effect."""
    key_param: str
    """The request's path param that names the observed resource."""
    measure: Measure
    expect: Literal["not_increased", "unchanged"]
    commits: list[int] = [200, 201, 202]
    """Statuses of the same request that legitimately change the measure."""


def _measure(body: Any, m: Measure) -> Any:
    if m.count is not None:
        items = lookup(body, m.count)
        if not isinstance(items, list):
            return ABSENT
        return sum(1 for item in items if holds(item, m.where))
    return tuple(repr(lookup(body, f)) for f in m.fields or ())


@rule_kind("no_side_effect", NoSideEffect)
def no_side_effect(trace: Trace, p: NoSideEffect, ctx: Context, verdict: Verdict) -> None:
    """A refused request changed nothing: the observed resource just after it
    is as just before. A counted measure allows one step per accepted write in
    between; a compared one is judged only before any accepted write at all."""
    for ex, params in ctx.requests(p.request):
        if not selected(ex, params, p.when, ctx, p.request) or p.key_param not in params:
            continue
        before, after = ctx.around(p.observe, params[p.key_param], ex.seq)
        if before is None or after is None:
            continue
        # An accepted write in between counts, and so does the observation's own
        # exchange when it is one (an answer that shows the record it just wrote).
        accepted = sum(1 for other, op in ctx.requests(p.request)
                       if before.seq < other.seq <= after.seq and other is not ex
                       and other.status in p.commits and other.credential == "valid"
                       and op.get(p.key_param) == params[p.key_param])
        old, new = _measure(before.body, p.measure), _measure(after.body, p.measure)
        if old is ABSENT or new is ABSENT:
            continue
        if p.expect == "not_increased":
            if new > old + accepted and _shared_window(ctx, p, ex, params, before, after):
                continue  # a change, but maybe the other refusal's
            if new > old + accepted:
                verdict.violate(f"refused with {ex.status} but {p.measure.count} grew from "
                                f"{old} to {new} ({accepted} accepted write(s) in between)",
                                before.exchange, ex, after.exchange)
            else:
                verdict.judged()
        elif not _written_before(ctx, p, params[p.key_param], after.seq + 1):
            if new != old and _shared_window(ctx, p, ex, params, before, after):
                continue
            if new != old:
                verdict.violate(f"refused with {ex.status} but {p.measure.fields} changed",
                                before.exchange, ex, after.exchange,
                                fields=tuple(p.measure.fields or ()))
            else:
                verdict.judged()


def _shared_window(ctx: Context, p: NoSideEffect, ex: Exchange, params: Mapping[str, str],
                   before: Observation, after: Observation) -> bool:
    """Does another refused request to the resource, one this check does not
    cover, share the window? A change then has two suspects and this rule
    cannot tell its own from the other's (a `429` that committed inside a keyed
    `409`'s window is the rate rule's finding, not the idempotency rule's).
    No change clears both: the window is judged then."""
    key = params[p.key_param]
    return any(before.seq < other.seq < after.seq and other is not ex and other.status
               and other.status not in p.commits and op.get(p.key_param) == key
               and not selected(other, op, p.when, ctx, p.request)
               for other, op in ctx.requests(p.request))


def _written_before(ctx: Context, p: NoSideEffect, key: str, seq: int) -> bool:
    """Was the resource ever written before `seq`? An accepted write may take
    effect later (a resume at the next tick), so "unchanged" proves nothing then."""
    return any(other.seq < seq and other.status in p.commits and other.credential == "valid"
               and op.get(p.key_param) == key for other, op in ctx.requests(p.request))


class StateAfter(Params):
    request: str
    status: list[int]
    record: str
    key_param: str
    condition: Cond


@rule_kind("state_after", StateAfter)
def state_after(trace: Trace, p: StateAfter, ctx: Context, verdict: Verdict) -> None:
    """After a request got one of `status`, the next observation of the
    resource satisfies `condition`."""
    for ex, params in ctx.requests(p.request):
        if ex.status not in p.status or ex.credential != "valid" or p.key_param not in params:
            continue
        after = ctx.around(p.record, params[p.key_param], ex.seq)[1]
        if after is None:
            continue
        if holds(after.body, p.condition):
            verdict.judged()
        else:
            verdict.violate(f"after {ex.method} got {ex.status}, {dict(p.condition)} does not "
                            "hold", ex, after.exchange, fields=tuple(p.condition))


class Reentered(Params):
    """What shows a resource left a state and came back between two polls:
    `record` listing an `item_field` in `list_field` that it did not list just
    before the request (a pause asking a new question is a new pause; one
    that only drops answered questions is not)."""

    record: str
    list_field: str
    item_field: str


class LeavesState(Params):
    request: str
    status: list[int]
    record: str
    key_param: str
    field: str
    leaves: str
    within: float = Field(gt=0)
    """Seconds: the dispatcher's tick, or the suite's poll deadline."""
    reentered: Reentered | None = None
    """A state the resource may enter again (`Running ⇄ Paused`): polls may
    miss the stay in between, and then only this shows it. A poll past the
    deadline that still reads `leaves` proves nothing once a later
    observation shows the state entered again."""


def _items(obs: Observation, p: Reentered) -> frozenset[Any] | None:
    items = lookup(obs.body, p.list_field)
    if not isinstance(items, list) or not items:
        return None
    return frozenset(repr(lookup(item, p.item_field)) for item in items)


def _reentered_at(ctx: Context, p: Reentered, key: str, seq: int) -> int | None:
    """The seq of the first observation after `seq` listing an item the last
    one before it did not (None: none does, or nothing was listed before)."""
    group = ctx.records(p.record).get(key, [])
    before = ctx.around(p.record, key, seq)[0]
    shown = None if before is None else _items(before, p)
    if shown is None:
        return None
    return next((obs.seq for obs in group if obs.seq > seq
                 and (items := _items(obs, p)) is not None and items - shown), None)


@rule_kind("leaves_state_within", LeavesState)
def leaves_state_within(trace: Trace, p: LeavesState, ctx: Context, verdict: Verdict) -> None:
    """After a request got `status`, the resource leaves state `leaves` within
    `within` seconds (judged from polls; polls ending too early prove nothing)."""
    for ex, params in ctx.requests(p.request):
        if ex.status not in p.status or ex.credential != "valid" or p.key_param not in params:
            continue
        key = params[p.key_param]
        deadline = ex.finished_at + p.within
        again = None if p.reentered is None else _reentered_at(ctx, p.reentered, key, ex.seq)
        stuck = None
        for obs in ctx.records(p.record).get(key, []):
            if obs.seq <= ex.seq:
                continue
            if lookup(obs.body, p.field) != p.leaves or (again is not None and obs.seq >= again):
                verdict.judged()
                break
            if obs.exchange.started_at > deadline:
                # A new pause seen later may have begun before this poll: then
                # nobody can say whether this one still shows the old pause.
                stuck = obs if again is None else None
                break
        if stuck is not None:
            verdict.violate(f"still {p.leaves} {stuck.exchange.started_at - ex.finished_at:.0f}"
                            f" s after a {ex.status} (allowed {p.within:g} s)",
                            ex, stuck.exchange, fields=(p.field,))


class AgreesWith(Params):
    record: str
    field: str
    other_record: str
    other_field: str
    unchanged: list[str] = []
    """More fields of the other record that must read the same before and
    after: a state may be left and entered again between two polls (`Running
    ⇄ Paused`), and only a field that moved in between (progress) shows it."""


@rule_kind("agrees_with", AgreesWith)
def agrees_with(trace: Trace, p: AgreesWith, ctx: Context, verdict: Verdict) -> None:
    """`record.field` equals `other_record.other_field` of the same resource
    whenever the observations of the other just before and just after agree."""
    for obs in ctx.observations(p.record):
        before, after = ctx.around(p.other_record, obs.key, obs.seq)
        if before is None or after is None:
            continue
        expected = lookup(before.body, p.other_field)
        if lookup(after.body, p.other_field) != expected or any(
                lookup(before.body, f) != lookup(after.body, f) for f in p.unchanged):
            continue
        if lookup(obs.body, p.field) == expected:
            verdict.judged()
        else:
            verdict.violate(f"{p.field}={lookup(obs.body, p.field)!r} but the {p.other_record} "
                            f"shows {expected!r} before and after",
                            before.exchange, obs.exchange, after.exchange, fields=(p.field,))

