"""Rule kinds that judge an answer against another request or answer: the
rows an answer owes its query, a field that must agree with a one-of-a-kind
resource (the account's plan), and metamorphic rules over pairs of
exchanges (asking for more never lowers an estimate).

A metamorphic rule needs no oracle for the right answer: it relates two
answers through how their requests differ. Every pair of answered requests
in one trace whose queries are ordered (one asks at least as much in every
dimension, and strictly more in one, everything else equal) is a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any
from urllib.parse import parse_qs

from pydantic import Field

from ..trace import NOT_JSON, Exchange, Trace, lookup
from .context import Context, json_equal
from .registry import Params, Verdict, rule_kind


def query_params(ex: Exchange) -> dict[str, list[str]]:
    """The request's query, every value of every parameter (blanks kept)."""
    try:
        return parse_qs(ex.query, keep_blank_values=True)
    except ValueError:
        return {}


def query_list(query: Mapping[str, list[str]], name: str, separator: str) -> list[str] | None:
    """`tools=a,b&tools=c` → `[a, b, c]` (blanks dropped); None when absent."""
    if name not in query:
        return None
    return [item.strip() for value in query[name] for item in value.split(separator)
            if item.strip()]


def _integer(text: list[str] | None) -> int | None:
    if not text or len(text) != 1:
        return None
    raw = text[0].strip()
    return int(raw) if raw.isascii() and raw.lstrip("-").isdigit() else None


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


# ---- query_rows ------------------------------------------------------------------------


class QueryRows(Params):
    request: str
    status: list[int] = [200]
    query_param: str
    """The query parameter that lists what was asked for (`tools=a,b`)."""
    separator: str = ","
    rows: str
    """The answer's list with one row per item asked for (`tools`)."""
    item_field: str
    """The field of a row that names its item (`tool_name`)."""


@rule_kind("query_rows", QueryRows)
def query_rows(trace: Trace, p: QueryRows, ctx: Context, verdict: Verdict) -> None:
    """The answer's `list` has exactly one row per distinct item the query asked for."""
    for ex, _ in ctx.requests(p.request):
        if ex.status not in p.status or ex.credential != "valid":
            continue
        asked = query_list(query_params(ex), p.query_param, p.separator)
        if asked is None:
            continue
        rows = lookup(ex.json, p.rows)
        if not isinstance(rows, list):
            verdict.violate(f"{p.rows} is {rows!r:.40}, not a list", ex)
            continue
        names = [lookup(row, p.item_field) for row in rows]
        wanted = sorted(set(asked))
        got = sorted(str(n) for n in names)
        if got == wanted and all(isinstance(n, str) for n in names):
            verdict.judged()
            continue
        missing = [n for n in wanted if n not in names]
        extra = sorted({repr(n) for n in names if n not in wanted})
        twice = sorted({str(n) for n in names if names.count(n) > 1})
        parts = ([f"no row for {missing}"] if missing else []) + (
            [f"rows nobody asked for: {', '.join(extra)}"] if extra else []) + (
            [f"more than one row for {twice}"] if twice else [])
        verdict.violate(f"{p.query_param}={','.join(asked)}: {p.rows} has "
                        f"{'; '.join(parts) or 'rows of the wrong shape'}", ex)


# ---- agrees_with_one -------------------------------------------------------------------


class AgreesWithOne(Params):
    record: str
    field: str
    other_record: str
    """A record with one resource per account (a plan): every observation of it counts."""
    other_field: str


@rule_kind("agrees_with_one", AgreesWithOne)
def agrees_with_one(trace: Trace, p: AgreesWithOne, ctx: Context, verdict: Verdict) -> None:
    """`record.field` equals `other_record.other_field` as read just before
    and just after (either may be missing; if they differ it changed, and
    nothing is judged)."""
    others = sorted(ctx.observations(p.other_record), key=lambda o: o.seq)
    for obs in ctx.observations(p.record):
        before = next((o for o in reversed(others) if o.seq < obs.seq), None)
        after = next((o for o in others if o.seq > obs.seq), None)
        shown = [lookup(o.body, p.other_field) for o in (before, after) if o is not None]
        if not shown or (len(shown) == 2 and not json_equal(shown[0], shown[1])):
            continue
        value = lookup(obs.body, p.field)
        if json_equal(value, shown[0]):
            verdict.judged()
        else:
            near = [o.exchange for o in (before, after) if o is not None]
            verdict.violate(f"{p.field}={value!r} but the {p.other_record} shows "
                            f"{p.other_field}={shown[0]!r}", obs.exchange, *near,
                            fields=(p.field, p.other_field))


# ---- monotone_estimate -------------------------------------------------------------------


class MonotoneEstimate(Params):
    request: str
    status: list[int] = [200]
    set_param: str
    """A query parameter listing items; asking for a superset never lowers `fields`."""
    separator: str = ","
    count_param: str
    """An integer query parameter; asking for more never lowers `fields`."""
    fields: list[str] = Field(min_length=1)


def _asked(ex: Exchange, p: MonotoneEstimate) -> tuple[frozenset[str], int, Any] | None:
    """What a request asked: its set, its count, and every other parameter."""
    query = query_params(ex)
    items = query_list(query, p.set_param, p.separator)
    count = _integer(query.get(p.count_param))
    if items is None or count is None:
        return None
    rest = sorted((k, sorted(v)) for k, v in query.items()
                  if k not in (p.set_param, p.count_param))
    return frozenset(items), count, rest


@rule_kind("monotone_estimate", MonotoneEstimate)
def monotone_estimate(trace: Trace, p: MonotoneEstimate, ctx: Context, verdict: Verdict) -> None:
    """For two answered requests of one trace where one asks for a superset of
    the other's items and at least as many iterations (strictly more in one,
    every other parameter equal), none of `fields` is lower in the bigger one."""
    asked = []
    for ex, _ in ctx.requests(p.request):
        if ex.status not in p.status or ex.credential != "valid":
            continue
        query = _asked(ex, p)
        if query is not None:
            asked.append((ex, query))
    for (a, qa), (b, qb) in combinations(asked, 2):
        if qa[2] != qb[2]:
            continue
        if qa[0] <= qb[0] and qa[1] <= qb[1] and (qa[0], qa[1]) != (qb[0], qb[1]):
            small, big = (a, qa), (b, qb)
        elif qb[0] <= qa[0] and qb[1] <= qa[1] and (qa[0], qa[1]) != (qb[0], qb[1]):
            small, big = (b, qb), (a, qa)
        else:
            continue
        _judge_pair(p, small, big, verdict)


def _judge_pair(p: MonotoneEstimate, small: tuple[Exchange, Any], big: tuple[Exchange, Any],
                verdict: Verdict) -> None:
    (lo, q_lo), (hi, q_hi) = small, big
    wrong = []
    for name in p.fields:
        x, y = _number(lookup(lo.json, name)), _number(lookup(hi.json, name))
        if lo.json is NOT_JSON or hi.json is NOT_JSON or x is None or y is None:
            bad = lo if lo.json is NOT_JSON or x is None else hi
            wrong.append(f"{name} is {lookup(bad.json, name)!r:.30} in #{bad.seq}, not a number")
        elif y < x:
            wrong.append(f"{name} fell from {lookup(lo.json, name)!r} to "
                         f"{lookup(hi.json, name)!r}")
    if not wrong:
        verdict.judged()
        return
    verdict.violate(f"asking for more ({_describe(p, q_lo)} → {_describe(p, q_hi)}): "
                    + "; ".join(wrong), lo, hi, fields=tuple(p.fields))


def _describe(p: MonotoneEstimate, query: tuple[frozenset[str], int, Any]) -> str:
    return f"{p.set_param}={','.join(sorted(query[0]))} {p.count_param}={query[1]}"
