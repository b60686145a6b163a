"""Rule kinds about what an answer lists and where an answer points: the items
of a listing, and the URLs a created resource hands back."""

from __future__ import annotations

from collections import Counter
from urllib.parse import SplitResult, urljoin, urlsplit

from pydantic import Field

from ..trace import ABSENT, Trace, lookup
from .context import Context, answered
from .projection import RecordParams
from .registry import Verdict, rule_kind


class ListItems(RecordParams):
    items: str
    """The list field of the record (`stakeholders`)."""
    required: list[str] = []
    """Keys every item has (null is a value; a missing key is not)."""
    unique: str | None = None
    """A field whose values no two items share."""
    forbidden: list[str] = []
    """Keys no item may have (a light-weight row leaves them out)."""


@rule_kind("list_items", ListItems)
def list_items(trace: Trace, p: ListItems, ctx: Context, verdict: Verdict) -> None:
    """`items` is a list of objects, each with every `required` key and none of
    the `forbidden` ones, and no two with the same `unique` value."""
    for obs in ctx.observations(p.record, p.when):
        items = lookup(obs.body, p.items)
        if not isinstance(items, list):
            verdict.violate(f"{p.items} is {items!r:.40}, not a list", obs.exchange)
            continue
        wrong = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                wrong.append(f"{p.items}[{i}] is not an object")
                continue
            missing = [k for k in p.required if lookup(item, k) is ABSENT]
            extra = [k for k in p.forbidden if lookup(item, k) is not ABSENT]
            name = item.get(p.unique) if p.unique else None
            label = f"{p.items}[{i}]{f' ({name!r})' if name else ''}"
            if missing:
                wrong.append(f"{label} lacks {missing}")
            if extra:
                wrong.append(f"{label} carries {extra}")
        if p.unique is not None:
            seen = Counter(repr(item.get(p.unique)) for item in items if isinstance(item, dict))
            twice = sorted(value for value, count in seen.items() if count > 1)
            if twice:
                wrong.append(f"{p.unique} not unique: {', '.join(twice)}")
        for why in wrong:
            verdict.violate(why, obs.exchange)
        if not wrong:
            verdict.judged()


class LinksResolve(RecordParams):
    fields: list[str] = Field(min_length=1)
    """Fields holding a URL (absolute, or relative to the request's URL)."""
    expect: list[int] = [200]


@rule_kind("links_resolve", LinksResolve)
def links_resolve(trace: Trace, p: LinksResolve, ctx: Context, verdict: Verdict) -> None:
    """Each URL an answer hands back, when the client later followed it, got
    one of `expect`. A URL nobody followed is not judged."""
    exchanges = [ex for ex in trace if ex.origin == "api" and ex.method == "GET"]
    for obs in ctx.observations(p.record, p.when):
        for name in p.fields:
            link = lookup(obs.body, name)
            if not isinstance(link, str) or not link:
                continue
            target = urlsplit(urljoin(obs.exchange.url, link))
            follow = next((ex for ex in exchanges if ex.seq > obs.seq and answered(ex)
                           and _same_resource(urlsplit(ex.url), target)), None)
            if follow is None:
                continue
            if follow.status in p.expect:
                verdict.judged()
            else:
                verdict.violate(f"{name} {link!r} answered {follow.status}",
                                obs.exchange, follow, fields=(name,))


def _same_resource(a: SplitResult, b: SplitResult) -> bool:
    """Same scheme, host, path and query (a fragment never reaches a server)."""
    return (a.scheme, a.netloc, a.path, a.query) == (b.scheme, b.netloc, b.path, b.query)
