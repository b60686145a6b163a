"""Rule kinds about order inside one answer: a list whose items count 1, 2, 3,
a counter that agrees with a list, timestamps that never go down along a list
or across the fields of one record.

A value of the wrong type is the schema rule's finding, not these kinds':
they skip what they cannot read rather than report one bug under two rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, Literal

from pydantic import Field

from ..trace import Trace, lookup
from .context import Cond, Context, holds
from .projection import RecordParams
from .registry import Verdict, rule_kind

Ordered = Literal["datetime", "number"]


def ordinal(value: Any, kind: Ordered) -> float | None:
    """`value` as a number to compare, or None when it is not a `kind`. A
    timestamp without a zone is taken as UTC, so that it still compares."""
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _items(body: Any, name: str) -> list[Any] | None:
    items = lookup(body, name)
    return items if isinstance(items, list) else None


class ListField(RecordParams):
    list: str
    """The list field of the record (`job.testResults`)."""
    field: str
    """The field of each item (`attempt`)."""


class Sequence(ListField):
    start: int = 1
    step: int = 1


@rule_kind("sequence", Sequence)
def sequence(trace: Trace, p: Sequence, ctx: Context, verdict: Verdict) -> None:
    """Along `list`, the items' `field` counts `start`, `start + step`, …
    (1, 2, 3 by default): no gap, no repeat, nothing out of order."""
    for obs in ctx.observations(p.record):
        items = _items(obs.body, p.list) if holds(obs.body, p.when) else None
        if not items:
            continue
        values = [lookup(item, p.field) for item in items]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            continue
        expected = [p.start + i * p.step for i in range(len(values))]
        if values == expected:
            verdict.judged()
        else:
            verdict.violate(f"{p.list}[].{p.field} reads {values}, not {expected}",
                            obs.exchange)


class ListCount(RecordParams):
    field: str
    """The counter (`job.retries`)."""
    list: str
    where: Cond
    """Which items count (`{passed: false}`)."""
    skip_last: int = Field(default=0, ge=0)
    """Items at the end of the list that are not counted."""


@rule_kind("list_count", ListCount)
def list_count(trace: Trace, p: ListCount, ctx: Context, verdict: Verdict) -> None:
    """`field` equals the number of `list` items that match `where`, leaving
    out the last `skip_last` items."""
    for obs in ctx.observations(p.record, p.when):
        items = _items(obs.body, p.list)
        count = lookup(obs.body, p.field)
        if items is None or not isinstance(count, int) or isinstance(count, bool):
            continue
        counted = items[: max(0, len(items) - p.skip_last)]
        expected = sum(1 for item in counted if holds(item, p.where))
        if count == expected:
            verdict.judged()
        else:
            which = f" before the last {p.skip_last}" if p.skip_last else ""
            verdict.violate(f"{p.field} is {count}, but {expected} of the {len(counted)} "
                            f"{p.list} items{which} match {dict(p.where)}",
                            obs.exchange, fields=(p.field,))


class ListOrder(ListField):
    value: Ordered = "datetime"


@rule_kind("list_order", ListOrder)
def list_order(trace: Trace, p: ListOrder, ctx: Context, verdict: Verdict) -> None:
    """Along `list`, the items' `field` never goes down (timestamps compared
    as instants, whatever their zone). Judged where two items can be compared."""
    for obs in ctx.observations(p.record):
        items = _items(obs.body, p.list) if holds(obs.body, p.when) else None
        points = [(i, ordinal(lookup(item, p.field), p.value), lookup(item, p.field))
                  for i, item in enumerate(items or [])]
        readable = [(i, n, raw) for i, n, raw in points if n is not None]
        if len(readable) < 2:
            continue
        back = next(((a, b) for a, b in pairwise(readable) if b[1] < a[1]), None)
        if back is None:
            verdict.judged()
        else:
            (i, _, earlier), (j, _, later) = back
            verdict.violate(f"{p.list}[{j}].{p.field}={later!r} goes back from "
                            f"{p.list}[{i}].{p.field}={earlier!r}", obs.exchange)


class FieldsOrdered(RecordParams):
    fields: list[str] = Field(min_length=2)
    value: Ordered = "datetime"


@rule_kind("fields_ordered", FieldsOrdered)
def fields_ordered(trace: Trace, p: FieldsOrdered, ctx: Context, verdict: Verdict) -> None:
    """In each observation, `fields` are in non-decreasing order as listed
    (`createdAt ≤ updatedAt`)."""
    for obs in ctx.observations(p.record, p.when):
        values = [ordinal(lookup(obs.body, name), p.value) for name in p.fields]
        if any(v is None for v in values):
            continue
        wrong = next(((a, b) for (a, x), (b, y) in pairwise(zip(p.fields, values, strict=True))
                      if x is not None and y is not None and y < x), None)
        if wrong is None:
            verdict.judged()
        else:
            a, b = wrong
            verdict.violate(f"{b}={lookup(obs.body, b)!r} is before {a}={lookup(obs.body, a)!r}",
                            obs.exchange, fields=tuple(p.fields))
