"""Lifecycle rule kinds the projection kinds do not cover: an action lawful
only in some states (confirm, cancel, fill), timestamps that never go back
across polls, a field that stays set once a state was reached, and a
comparison between two fields of one answer.

A poll is a snapshot: between the last poll before a request and the
request itself the resource may have moved on its own. `gated_action`
therefore judges a request only when the state it met is known: every state
the machine could have been in at that moment (reachable from the poll
before, and able to reach the poll after) is lawful, or none is. A *stable*
state is one the server never leaves on its own (a goal job `ready`, or
`slots_pending` while a required slot is unfilled): met right after a poll
showing it, with no client request in between that could have moved it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from pydantic import Field

from ..contract import Contract, Machine
from ..trace import ABSENT, Trace, lookup
from .context import Cond, Context, Observation, holds, lookup_all
from .projection import RecordParams
from .registry import Loc, Params, Verdict, rule_kind
from .requests import When, selected
from .sequences import Ordered, ordinal


def holds_any(body: Any, cond: Cond | None) -> bool:
    """`holds`, where a field with a `*` step holds when any item satisfies
    its clause: `{"pending_slots.*.required": true}`."""
    plain = {k: v for k, v in (cond or {}).items() if "*" not in k}
    if not holds(body, plain):
        return False
    return all(any(holds({"v": value}, {"v": expect}) for value in lookup_all(body, name))
               for name, expect in (cond or {}).items() if "*" in name)


class GatedAction(Params):
    request: str
    record: str
    """The record that shows the resource (keyed by `key_param`)."""
    key_param: str
    machine: str
    """The state machine: its field, and which states are reachable from which."""
    lawful_in: list[str] = Field(min_length=1)
    accepted: list[int] | None = [200]
    """What the request gets in a lawful state; null: not judged here (a fill
    may still be refused for its value)."""
    refused: list[int] = Field(default=[409], min_length=1)
    stable: list[Cond] = []
    """Conditions (a `*` step: any item) under which the resource stays put
    until a client request moves it."""
    movers: list[str] = []
    """The endpoints whose requests may move the resource (besides `request`)."""
    when: When = When()

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        yield from unknown_endpoints(self.movers, "movers", contract)
        if self.machine in contract.machines:
            machine = contract.machines[self.machine]
            unknown = [s for s in self.lawful_in if s not in machine.states()]
            if unknown:
                yield ("lawful_in",), f"states {unknown} are not in machine {self.machine!r}"


def unknown_endpoints(names: list[str], param: str,
                      contract: Contract) -> Iterator[tuple[Loc, str]]:
    """A list param that names endpoints: each must be one."""
    for i, name in enumerate(names):
        if name not in contract.endpoints:
            yield (param, i), f"unknown endpoint {name!r}"


def possible_states(machine: Machine, before: Observation, after: Observation | None,
                    stable: bool) -> set[str] | None:
    """The states the resource may have been in between `before` and `after`."""
    known = machine.states()
    state = lookup(before.body, machine.field)
    if not isinstance(state, str) or state not in known:
        return None
    if stable:
        return {state}
    found = {state} | machine.reachable(state)
    later = lookup(after.body, machine.field) if after is not None else None
    if isinstance(later, str) and later in known:
        found = {s for s in found if s == later or later in machine.reachable(s)}
    return found


def moved_between(ctx: Context, endpoints: list[str], key_param: str, key: str,
                  start: int, end: int) -> bool:
    """Did a request that may have moved the resource go out between two seqs
    (an accepted one, or one whose answer never came)?"""
    return any(start < ex.seq < end and params.get(key_param) == key
               and (ex.status == 0 or 200 <= ex.status < 300)
               for name in endpoints for ex, params in ctx.requests(name))


@rule_kind("gated_action", GatedAction)
def gated_action(trace: Trace, p: GatedAction, ctx: Context, verdict: Verdict) -> None:
    """A request the state machine allows only `lawful_in` some states gets
    `accepted` there and `refused` elsewhere, judged where the state the
    request met is known (see the module's docstring)."""
    machine = ctx.contract.machines[p.machine]
    for ex, params in ctx.requests(p.request):
        if p.key_param not in params or not selected(ex, params, p.when, ctx, p.request):
            continue
        key = params[p.key_param]
        before, after = ctx.around(p.record, key, ex.seq)
        if before is None:
            continue
        still = (any(holds_any(before.body, cond) for cond in p.stable)
                 and not moved_between(ctx, [p.request, *p.movers], p.key_param, key,
                                       before.seq, ex.seq))
        states = possible_states(machine, before, after, still)
        if not states:
            continue
        if states <= set(p.lawful_in) and p.accepted is not None:
            expect = p.accepted
        elif not states & set(p.lawful_in):
            expect = p.refused
        else:
            continue
        state = lookup(before.body, machine.field)
        if ex.status in expect:
            verdict.judged()
        else:
            alts = " or ".join(map(str, expect))
            verdict.violate(f"{ex.method} {p.request} with {machine.field} {state!r}: expected "
                            f"{alts}, got {ex.status}", before.exchange, ex,
                            fields=(machine.field, "error.code"))


class TimeNonDecreasing(RecordParams):
    fields: list[str] = Field(min_length=1)
    value: Ordered = "datetime"


@rule_kind("time_non_decreasing", TimeNonDecreasing)
def time_non_decreasing(trace: Trace, p: TimeNonDecreasing, ctx: Context,
                        verdict: Verdict) -> None:
    """Timestamp `fields` never go back across observations of one resource
    (compared as instants; an unreadable one is the model rules' finding)."""
    for group in ctx.records(p.record).values():
        for name in p.fields:
            last: tuple[float, Observation] | None = None
            for obs in group:
                if not holds(obs.body, p.when):
                    continue
                moment = ordinal(lookup(obs.body, name), p.value)
                if moment is None:
                    continue
                if last is not None:
                    if moment < last[0]:
                        verdict.violate(f"{name} went back from "
                                        f"{lookup(last[1].body, name)!r} to "
                                        f"{lookup(obs.body, name)!r} across polls of {obs.key}",
                                        last[1].exchange, obs.exchange, fields=(name,))
                    else:
                        verdict.judged()
                last = (moment, obs)


class NonNullAfter(RecordParams):
    fields: list[str] = Field(min_length=1)
    reached: Cond
    """Once an observation satisfies this, it and every later one of the same
    resource have `fields` non-null."""


@rule_kind("non_null_after", NonNullAfter)
def non_null_after(trace: Trace, p: NonNullAfter, ctx: Context, verdict: Verdict) -> None:
    """`fields` are non-null from the first observation where `reached` holds on."""
    for group in ctx.records(p.record).values():
        since: Observation | None = None
        for obs in group:
            if since is None and holds(obs.body, p.reached):
                since = obs
            if since is None:
                continue
            unset = [f for f in p.fields if lookup(obs.body, f) in (None, ABSENT)]
            if unset:
                verdict.violate(f"{unset} null after {dict(p.reached)} was reached",
                                since.exchange, obs.exchange, fields=(*p.fields, *p.reached))
            else:
                verdict.judged()


_OPS: Mapping[str, tuple[Callable[[Any, Any], bool], str]] = {
    "lt": (operator.lt, "<"), "le": (operator.le, "<="), "gt": (operator.gt, ">"),
    "ge": (operator.ge, ">="), "eq": (operator.eq, "=="), "ne": (operator.ne, "!=")}


class FieldCompare(RecordParams):
    left: str
    op: Literal["lt", "le", "gt", "ge", "eq", "ne"]
    right: str
    value: Ordered = "number"


@rule_kind("field_compare", FieldCompare)
def field_compare(trace: Trace, p: FieldCompare, ctx: Context, verdict: Verdict) -> None:
    """Where `when` holds, `left op right` (numbers, or timestamps as instants);
    a value that is not one is a violation too."""
    fn, sign = _OPS[p.op]
    for obs in ctx.observations(p.record, p.when):
        left, right = lookup(obs.body, p.left), lookup(obs.body, p.right)
        a, b = ordinal(left, p.value), ordinal(right, p.value)
        if a is None or b is None:
            name, raw = (p.left, left) if a is None else (p.right, right)
            verdict.violate(f"{name}={raw!r} is not a {p.value}", obs.exchange,
                            fields=(p.left, p.right))
        elif fn(a, b):
            verdict.judged()
        else:
            verdict.violate(f"{p.left}={left!r} {sign} {p.right}={right!r} does not hold"
                            + (f" when {dict(p.when)}" if p.when else ""), obs.exchange,
                            fields=(p.left, p.right, *(p.when or {})))

