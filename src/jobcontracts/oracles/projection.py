"""Status-projection rule kinds: what one record may look like, and how it may
move across polls of the same resource."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from ..trace import ABSENT, Exchange, Trace, lookup
from .context import Cond, Context, holds, json_equal, lookup_all, present_as
from .registry import Params, Verdict, rule_kind

FieldType = Literal["integer", "number", "string", "boolean", "uuid", "datetime", "list", "object"]


class RecordParams(Params):
    record: str
    when: Cond | None = None
    """Judge only the observations that satisfy this condition."""


class RequiredKeys(RecordParams):
    keys: list[str] = Field(min_length=1)


@rule_kind("required_keys", RequiredKeys)
def required_keys(trace: Trace, p: RequiredKeys, ctx: Context, verdict: Verdict) -> None:
    """Every listed key is present on every observation (null is fine, absent is not)."""
    for obs in ctx.observations(p.record, p.when):
        missing = [k for k in p.keys if lookup(obs.body, k) is ABSENT]
        if missing:
            verdict.violate(f"{p.record} record lacks keys {missing}", obs.exchange)
        else:
            verdict.judged()


class Enum(RecordParams):
    field: str
    values: list[Any] = Field(min_length=1)
    nullable: bool = False


@rule_kind("enum", Enum)
def enum(trace: Trace, p: Enum, ctx: Context, verdict: Verdict) -> None:
    """`field` is one of `values` (compared as JSON: case-sensitive, typed)."""
    for obs in ctx.observations(p.record, p.when):
        value = lookup(obs.body, p.field)
        if (value is None and p.nullable) or any(json_equal(value, v) for v in p.values):
            verdict.judged()
        else:
            verdict.violate(f"{p.field}={value!r} is not one of {p.values}", obs.exchange,
                            fields=(p.field,))


class FieldType_(RecordParams):
    field: str
    type: FieldType
    nullable: bool = False
    min: float | None = None
    max: float | None = None


_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def type_problem(value: Any, kind: FieldType) -> str | None:
    """Why `value` is not of `kind`, or None when it is."""
    ok: bool
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "list":
        ok = isinstance(value, list)
    elif kind == "object":
        ok = isinstance(value, dict)
    elif kind == "uuid":
        ok = isinstance(value, str) and _is_uuid(value)
    else:
        if not isinstance(value, str):
            return f"{value!r} is not an ISO 8601 string"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"{value!r} is not ISO 8601"
        return None if _ZONED.search(value) else f"{value!r} has no time zone"
    return None if ok else f"{value!r} is not a {kind}"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) in (32, 36)


@rule_kind("field_type", FieldType_)
def field_type(trace: Trace, p: FieldType_, ctx: Context, verdict: Verdict) -> None:
    """`field` has the given type (and lies within `min`..`max` when numeric).
    A `*` step judges the field of every item of a list (`logs.*.timestamp`);
    a list with no items leaves nothing to judge."""
    passes = _PASSES.get(p.type)
    low = -math.inf if p.min is None else p.min
    high = math.inf if p.max is None else p.max
    star = "*" in p.field
    passed = 0
    for obs in ctx.observations(p.record, p.when):
        values = lookup_all(obs.body, p.field) if star else (lookup(obs.body, p.field),)
        for value in values:
            if passes is not None and passes(value) and (
                    type(value) not in (int, float) or low <= value <= high):
                passed += 1
            else:
                _judge_type(p, value, obs.exchange, verdict)
    verdict.judged(passed)


#: A quick test per type that a value passes (`type_problem` is None), for the
#: many values that do; a value it does not pass is judged by `_judge_type`.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}\Z")
_PASSES: dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "list": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
    "uuid": lambda v: type(v) is str and _UUID.match(v) is not None,
}


def _judge_type(p: FieldType_, value: Any, exchange: Exchange, verdict: Verdict) -> None:
    if value is ABSENT and p.nullable:
        return  # an absent key is `required_keys`' finding, not this one's
    if value is None and p.nullable:
        verdict.judged()
        return
    problem = "the key is absent" if value is ABSENT else type_problem(value, p.type)
    if problem is None and isinstance(value, int | float):
        if p.min is not None and value < p.min:
            problem = f"{value!r} is below {p.min:g}"
        elif p.max is not None and value > p.max:
            problem = f"{value!r} is above {p.max:g}"
    if problem:
        verdict.violate(f"{p.field}: {problem}", exchange, fields=(p.field,))
    else:
        verdict.judged()


class PresentIff(RecordParams):
    fields: list[str] = Field(min_length=1)
    condition: Cond
    mode: Literal["iff", "only_if"] = "iff"
    non_empty: bool = False
    """Present means a non-empty list/string, not just non-null."""


@rule_kind("present_iff", PresentIff)
def present_iff(trace: Trace, p: PresentIff, ctx: Context, verdict: Verdict) -> None:
    """Each of `fields` is non-null exactly when (`iff`) or only when (`only_if`)
    `condition` holds."""
    op = "non_empty" if p.non_empty else "not_null"
    for obs in ctx.observations(p.record, p.when):
        expected = holds(obs.body, p.condition)
        for name in p.fields:
            present = present_as(op, lookup(obs.body, name))
            wrong = (present and not expected) or (p.mode == "iff" and expected and not present)
            if wrong:
                state = "set" if present else "missing"
                shown = (name, *p.condition)
                verdict.violate(f"{name} is {state} but the condition {dict(p.condition)} "
                                f"{'holds' if expected else 'does not hold'}",
                                obs.exchange, fields=shown)
            else:
                verdict.judged()


class ValueWhen(RecordParams):
    field: str
    condition: Cond
    allowed: list[Any] | None = Field(default=None, min_length=1)
    forbidden: list[Any] | None = Field(default=None, min_length=1)
    """Instead of `allowed`: the values `field` may not take."""

    @model_validator(mode="after")
    def _one_list(self) -> ValueWhen:
        if (self.allowed is None) == (self.forbidden is None):
            raise ValueError("give exactly one of allowed, forbidden")
        return self


@rule_kind("value_when", ValueWhen)
def value_when(trace: Trace, p: ValueWhen, ctx: Context, verdict: Verdict) -> None:
    """When `condition` holds, `field` takes one of the `allowed` values (or
    none of the `forbidden` ones)."""
    for obs in ctx.observations(p.record, p.when):
        if not holds(obs.body, p.condition):
            continue
        value = lookup(obs.body, p.field)
        if p.allowed is not None:
            ok = any(json_equal(value, a) for a in p.allowed)
            rule = f"allowed {p.allowed}"
        else:
            ok = not any(json_equal(value, f) for f in p.forbidden or ())
            rule = f"forbidden {p.forbidden}"
        if ok:
            verdict.judged()
        else:
            verdict.violate(f"{p.field}={value!r} when {dict(p.condition)}; {rule}",
                            obs.exchange, fields=(p.field, *p.condition))


class NonDecreasing(RecordParams):
    fields: list[str] = Field(min_length=1)


@rule_kind("non_decreasing", NonDecreasing)
def non_decreasing(trace: Trace, p: NonDecreasing, ctx: Context, verdict: Verdict) -> None:
    """Numeric `fields` never go down across observations of one resource."""
    for group in ctx.records(p.record).values():
        for name in p.fields:
            last = None
            for obs in group:
                value = lookup(obs.body, name)
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                if last is not None:
                    prev_value, prev_obs = last
                    if value < prev_value:
                        verdict.violate(f"{name} went down from {prev_value!r} to {value!r} "
                                        f"across polls of {obs.key}",
                                        prev_obs.exchange, obs.exchange, fields=(name,))
                    else:
                        verdict.judged()
                last = (value, obs)


class TerminalAbsorbing(RecordParams):
    field: str
    terminal: list[str] = Field(min_length=1)
    keep: list[str] = []


@rule_kind("terminal_absorbing", TerminalAbsorbing)
def terminal_absorbing(trace: Trace, p: TerminalAbsorbing, ctx: Context, verdict: Verdict) -> None:
    """Once `field` is terminal, later observations show the same value of it
    and of every `keep` field."""
    watched = (p.field, *p.keep)
    for group in ctx.records(p.record).values():
        first = None
        for obs in group:
            if first is None:
                if lookup(obs.body, p.field) in p.terminal:
                    first = obs
                continue
            changed = [f for f in watched
                       if not json_equal(lookup(obs.body, f), lookup(first.body, f))]
            if changed:
                verdict.violate(f"{changed} changed after {p.field} became terminal "
                                f"({lookup(first.body, p.field)!r})",
                                first.exchange, obs.exchange, fields=watched)
            else:
                verdict.judged()


class Transitions(Params):
    machine: str


@rule_kind("transitions", Transitions)
def transitions(trace: Trace, p: Transitions, ctx: Context, verdict: Verdict) -> None:
    """Successive observations move only along the machine's transitions. Polls
    may miss states, so a move is lawful when the target is reachable."""
    machine = ctx.contract.machines[p.machine]
    known = machine.states()
    for group in ctx.records(machine.record).values():
        previous = None
        for obs in group:
            state = lookup(obs.body, machine.field)
            if not isinstance(state, str) or state not in known:
                continue  # an unknown state is the enum rule's finding, not this one's
            if previous is None:
                start_ok = state in machine.initial or any(
                    state in machine.reachable(s) for s in machine.initial)
                if not start_ok:
                    verdict.violate(f"first seen in {state!r}, unreachable from "
                                    f"{machine.initial}", obs.exchange, fields=(machine.field,))
            else:
                before = lookup(previous.body, machine.field)
                if state != before and state not in machine.reachable(before):
                    verdict.violate(f"moved {before!r} → {state!r}, which no path of the "
                                    f"{p.machine} state machine allows",
                                    previous.exchange, obs.exchange, fields=(machine.field,))
                else:
                    verdict.judged()
            previous = obs


class FieldsEqual(RecordParams):
    left: str
    right: str | None = None
    equals_key: bool = False
    """Compare `left` with the record's key instead of a field: for a record
    keyed by a path parameter (`key: "{simulation_id}"`), the URL's id."""

    @model_validator(mode="after")
    def _one_right(self) -> FieldsEqual:
        if (self.right is None) == (not self.equals_key):
            raise ValueError("give exactly one of `right` and `equals_key: true`")
        return self


@rule_kind("fields_equal", FieldsEqual)
def fields_equal(trace: Trace, p: FieldsEqual, ctx: Context, verdict: Verdict) -> None:
    """Where `when` holds, `left` and `right` of one record are equal (or
    `left` and the record's key, with `equals_key`)."""
    for obs in ctx.observations(p.record, p.when):
        left = lookup(obs.body, p.left)
        right = obs.key if p.right is None else lookup(obs.body, p.right)
        if json_equal(left, right):
            verdict.judged()
        elif p.right is None:
            verdict.violate(f"{p.left}={left!r} but the URL names {right!r}", obs.exchange,
                            fields=(p.left,))
        else:
            verdict.violate(f"{p.left}={left!r} but {p.right}={right!r}", obs.exchange,
                            fields=(p.left, p.right))
