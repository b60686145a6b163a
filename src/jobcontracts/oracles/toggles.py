"""Marketplace rule kinds: a toggle (like/unlike), an optimistic-lock PATCH,
and cursor pagination.

These judge one client's traffic: a like or an edit by someone else between
two of its requests would look like the server's fault, so a live run
points them at a workflow nobody else touches (the suite's own fork).
A refused request (`4xx`, `429`) is taken to have changed nothing (the
no-side-effect rules judge that); one that got no answer may have, and
whatever it touched is not judged until the next read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from ..trace import Exchange, Trace, lookup
from .context import Context, Observation, json_equal, request_body
from .lifecycle import moved_between
from .pairs import query_params
from .registry import Params, Verdict, rule_kind
from .requests import When, selected


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---- toggle ----------------------------------------------------------------------------


class Toggle(Params):
    request: str
    key_param: str
    status: list[int] = [200]
    state_field: str
    """The boolean the call flips (`liked`, the state after the call)."""
    count_field: str
    """The counter the call moves by one (`like_count`)."""
    record: str
    """The resource read right after (`workflow`)."""
    record_count: str
    """Its copy of the counter (`stats.like_count`)."""


@dataclass
class _Last:
    """What the last reading said: the counter, the state if a call showed it."""

    count: int | None
    state: bool | None
    exchange: Exchange


@rule_kind("toggle", Toggle)
def toggle(trace: Trace, p: Toggle, ctx: Context, verdict: Verdict) -> None:
    """Each accepted call flips `state_field` (two calls return to the first
    state) and moves `count_field` by exactly one, up when it turns the state
    on, down when off; the resource read right after shows the same count."""
    keys = {params[p.key_param] for _, params in ctx.requests(p.request)
            if p.key_param in params}
    for key in sorted(keys):
        calls = [ex for ex, params in ctx.requests(p.request)
                 if params.get(p.key_param) == key and ex.credential == "valid"]
        reads = ctx.records(p.record).get(key, [])
        last: _Last | None = None
        mark = 0  # the last call that may have moved the count: older reads are stale
        for i, ex in enumerate(calls):
            read = next((o for o in reversed(reads) if mark < o.seq < ex.seq), None)
            if read is not None:
                last = _Last(_integer(lookup(read.body, p.record_count)),
                             None if last is None else last.state, read.exchange)
            if ex.status == 0 or (200 <= ex.status < 300 and ex.status not in p.status):
                last, mark = None, ex.seq  # it may have flipped: unknown until the next read
                continue
            if ex.status not in p.status:
                continue
            last, mark = _judge_call(p, ex, last, verdict), ex.seq
            later = calls[i + 1].seq if i + 1 < len(calls) else None
            after = next((o for o in reads if o.seq > ex.seq), None)
            if last is not None and after is not None and (later is None or after.seq < later):
                _judge_read(p, last, after, verdict)


def _judge_call(p: Toggle, ex: Exchange, last: _Last | None, verdict: Verdict) -> _Last | None:
    state, count = lookup(ex.json, p.state_field), _integer(lookup(ex.json, p.count_field))
    if not isinstance(state, bool) or count is None:
        verdict.violate(f"{p.state_field}={lookup(ex.json, p.state_field)!r:.30} and "
                        f"{p.count_field}={lookup(ex.json, p.count_field)!r:.30}: not a "
                        "boolean and an integer", ex, fields=(p.state_field, p.count_field))
        return None
    if last is None:
        return _Last(count, state, ex)
    wrong = []
    if last.state is not None and state == last.state:
        wrong.append(f"{p.state_field} stayed {state} across two calls")
    if last.count is not None:
        step = 1 if state else -1
        if count != last.count + step:
            wrong.append(f"{p.count_field} went {last.count} → {count}, not "
                         f"{last.count + step} ({p.state_field} {state})")
    if wrong:
        verdict.violate("; ".join(wrong), last.exchange, ex, fields=(p.state_field,
                                                                     p.count_field))
    else:
        verdict.judged()
    return _Last(count, state, ex)


def _judge_read(p: Toggle, last: _Last, after: Observation, verdict: Verdict) -> None:
    shown = lookup(after.body, p.record_count)
    if json_equal(shown, last.count):
        verdict.judged()
    else:
        verdict.violate(f"{p.count_field}={last.count} but {p.record_count}={shown!r} read "
                        "right after", last.exchange, after.exchange,
                        fields=(p.count_field, p.record_count))


# ---- optimistic_lock -------------------------------------------------------------------


class OptimisticLock(Params):
    request: str
    record: str
    key_param: str
    version_field: str
    """The version the request sends and the resource shows (`item_version`)."""
    accepted: list[int] = [200]
    conflict: list[int] = [409]
    compare: list[str] = Field(min_length=1)
    """The fields a refused request must leave as they were."""
    when: When = When()
    """Only requests no other lawful refusal explains are judged (`otherwise_valid`)."""


@rule_kind("optimistic_lock", OptimisticLock)
def optimistic_lock(trace: Trace, p: OptimisticLock, ctx: Context, verdict: Verdict) -> None:
    """A write that sends the current version is accepted, and the answer shows
    the version plus one; any other version gets `conflict`, and the next read
    shows `compare` as they were."""
    for ex, params in ctx.requests(p.request):
        if p.key_param not in params or not selected(ex, params, p.when, ctx, p.request):
            continue
        sent = _integer(lookup(request_body(ex), p.version_field))
        key = params[p.key_param]
        before, after = ctx.around(p.record, key, ex.seq)
        if sent is None or before is None or moved_between(ctx, [p.request], p.key_param, key,
                                                           before.seq, ex.seq):
            continue
        current = _integer(lookup(before.body, p.version_field))
        if current is None:
            continue  # the model rules' finding
        if sent == current:
            _judge_current(p, ex, before, current, verdict)
        elif ex.status not in p.conflict:
            verdict.violate(f"{p.version_field} {sent} sent, {current} current: expected "
                            f"{_alts(p.conflict)}, got {ex.status}", before.exchange, ex,
                            fields=(p.version_field,))
        elif after is not None and not moved_between(ctx, [p.request], p.key_param, key,
                                                     ex.seq, after.seq):
            changed = [f for f in p.compare
                       if not json_equal(lookup(before.body, f), lookup(after.body, f))]
            if changed:
                verdict.violate(f"refused with {ex.status}, but {changed} changed",
                                before.exchange, ex, after.exchange, fields=tuple(changed))
            else:
                verdict.judged()
        else:
            verdict.judged()


def _judge_current(p: OptimisticLock, ex: Exchange, before: Observation, current: int,
                   verdict: Verdict) -> None:
    if ex.status not in p.accepted:
        verdict.violate(f"{p.version_field} {current} is current: expected "
                        f"{_alts(p.accepted)}, got {ex.status}", before.exchange, ex,
                        fields=(p.version_field,))
        return
    shown = lookup(ex.json, p.version_field)
    if json_equal(shown, current + 1):
        verdict.judged()
    else:
        verdict.violate(f"accepted at {p.version_field} {current}, but the answer shows "
                        f"{shown!r}, not {current + 1}", before.exchange, ex,
                        fields=(p.version_field,))


def _alts(statuses: list[int]) -> str:
    return " or ".join(map(str, statuses))


# ---- cursor_pagination -----------------------------------------------------------------


class CursorPagination(Params):
    request: str
    items: str
    """The page's list of items (`items`)."""
    item_id: str
    """The field that names an item (`workflow_id`)."""
    cursor_field: str
    """The page's cursor to the next page: null on the last one."""
    cursor_param: str
    """The query parameter that sends it back."""
    get_endpoint: str
    """The endpoint that fetches one item; every listed item is found by it."""
    get_param: str
    max_pages: int = Field(default=1000, gt=0)
    """A walk longer than this never ends."""


@dataclass
class _Walk:
    rest: Any
    """The other query parameters (`q`, `limit`): one walk keeps them."""
    next_cursor: str | None
    cursors: set[str] = field(default_factory=set)
    listed: dict[str, Exchange] = field(default_factory=dict)
    pages: int = 0


@rule_kind("cursor_pagination", CursorPagination)
def cursor_pagination(trace: Trace, p: CursorPagination, ctx: Context, verdict: Verdict) -> None:
    """Following `cursor_field` from a first page (one asked with no cursor)
    ends with a null cursor, never lists an item twice, and every item listed
    is found by `get_endpoint` afterwards (a `4xx` there is a violation)."""
    walks: list[_Walk] = []
    listed: list[tuple[str, Exchange]] = []
    for ex, _ in ctx.requests(p.request):
        if ex.status != 200 or ex.credential != "valid":
            continue
        query = query_params(ex)
        sent = (query.get(p.cursor_param) or [""])[0]
        rest = sorted((k, sorted(v)) for k, v in query.items() if k != p.cursor_param)
        if not sent:
            walk = _Walk(rest, None)
            walks.append(walk)
        else:
            open_walks = [w for w in walks if w.next_cursor == sent and w.rest == rest]
            if not open_walks:
                continue  # a cursor from outside this trace's walks
            walk = open_walks[-1]
        _page(p, ex, walk, verdict, listed)
    _found(p, ctx, listed, verdict)


def _page(p: CursorPagination, ex: Exchange, walk: _Walk, verdict: Verdict,
          listed: list[tuple[str, Exchange]]) -> None:
    walk.next_cursor, walk.pages = None, walk.pages + 1
    items, cursor = lookup(ex.json, p.items), lookup(ex.json, p.cursor_field)
    if not isinstance(items, list) or not (cursor is None or isinstance(cursor, str)):
        verdict.violate(f"not a page: {p.items} {items!r:.30}, {p.cursor_field} "
                        f"{cursor!r:.30}", ex, fields=(p.cursor_field,))
        return
    wrong = []
    for i, item in enumerate(items):
        name = lookup(item, p.item_id)
        if not isinstance(name, str):
            wrong.append(f"{p.items}[{i}].{p.item_id} is {name!r:.30}")
        elif name in walk.listed:
            wrong.append(f"{p.items}[{i}] repeats {name!r}, listed on #{walk.listed[name].seq}")
            verdict.violate(wrong.pop(), walk.listed[name], ex)
        else:
            walk.listed[name] = ex
            listed.append((name, ex))
    for why in wrong:
        verdict.violate(why, ex)
    if cursor is None:
        verdict.judged()  # the walk ended
    elif cursor == "" or cursor in walk.cursors:
        verdict.violate(f"{p.cursor_field} {cursor!r} " + (
            "is empty: a last page says null" if cursor == "" else "was given before: the "
            "pages loop"), ex, fields=(p.cursor_field,))
    elif walk.pages >= p.max_pages:
        verdict.violate(f"still a {p.cursor_field} after {walk.pages} pages", ex,
                        fields=(p.cursor_field,))
    else:
        walk.cursors.add(cursor)
        walk.next_cursor = cursor


def _found(p: CursorPagination, ctx: Context, listed: list[tuple[str, Exchange]],
           verdict: Verdict) -> None:
    gets = [(ex, params) for ex, params in ctx.requests(p.get_endpoint)
            if ex.credential == "valid" and 0 < ex.status < 500 and ex.status != 429]
    for name, page in listed:
        fetch = next((ex for ex, params in gets
                      if ex.seq > page.seq and params.get(p.get_param) == name), None)
        if fetch is None:
            continue
        shown = lookup(fetch.json, p.item_id)
        if fetch.status != 200:
            verdict.violate(f"{name!r} was listed, but its GET answers {fetch.status}",
                            page, fetch)
        elif not json_equal(shown, name):
            verdict.violate(f"{name!r} was listed, but its GET shows {p.item_id}={shown!r}",
                            page, fetch, fields=(p.item_id,))
        else:
            verdict.judged()
