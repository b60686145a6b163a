"""`covers`: the set a request check iterates over, counted member by member.

A rule such as "each catalog id is accepted" or "every endpoint answers 401
to a missing and a wrong key" is verified only once every member of its set
was judged; a run that judged some is `partial` (`report.py`). A check
declares its set as one or more dimensions, and its members are every
combination of theirs:

- `request`: each contract endpoint the check's `request` names (`*`: every
  one, under `when.path_prefix` if given);
- `credential`: each of `when.credential`;
- `body.FIELD`: each value of `when.body`'s `in` list for FIELD;
- `known.FIELD`: each value of `when.known`'s `record.field` the trace showed
  (the catalog ids a listing returned).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..trace import Exchange, lookup
from .context import Context, json_equal, request_body

if TYPE_CHECKING:
    from ..contract import Contract
    from .registry import Loc
    from .requests import When

Member = Callable[[Exchange], str | None]


def problems(covers: list[str], request: str, when: When,
             contract: Contract) -> Iterator[tuple[Loc, str]]:
    """What is wrong with a `covers` list, for the loader."""
    for i, dim in enumerate(covers):
        head, _, name = dim.partition(".")
        if dim in ("request", "credential"):
            if dim == "request" and request != "*" and request not in contract.endpoints:
                yield ("covers", i), f"request {request!r} is not an endpoint"
        elif head == "body" and name:
            cond = (when.body or {}).get(name)
            if not isinstance(cond, Mapping) or not isinstance(cond.get("in"), list):
                yield ("covers", i), f"{dim!r} needs when.body.{name}.in, the values to cover"
        elif head == "known" and name:
            if name not in (when.known or {}):
                yield ("covers", i), f"{dim!r} needs when.known.{name}"
        else:
            yield ("covers", i), (f"{dim!r} is not request, credential, body.FIELD or "
                                  "known.FIELD")


@dataclass(frozen=True)
class Cover:
    label: str
    members: frozenset[str]
    member_of: Member

    def member(self, ex: Exchange) -> str | None:
        return self.member_of(ex)


def cover(covers: list[str], request: str, when: When, ctx: Context) -> Cover | None:
    """The set `covers` names in this trace, and how to tell an exchange's member."""
    if not covers:
        return None
    dims = [_dimension(dim, request, when, ctx) for dim in covers]
    members = frozenset("/".join(combo) for combo in itertools.product(*(d[1] for d in dims)))

    def member_of(ex: Exchange) -> str | None:
        parts = [d[2](ex) for d in dims]
        return None if any(p is None for p in parts) else "/".join(p or "" for p in parts)

    return Cover(f"{'/'.join(d[0] for d in dims)} values", members, member_of)


def _dimension(dim: str, request: str, when: When,
               ctx: Context) -> tuple[str, list[str], Member]:
    head, _, name = dim.partition(".")
    if dim == "request":
        endpoints = [e for e, spec in ctx.contract.endpoints.items()
                     if request in ("*", e)
                     and (when.path_prefix is None or spec.path.startswith(when.path_prefix))]
        return "endpoint", endpoints, ctx.endpoint_of
    if dim == "credential":
        return "credential", list(when.credential), lambda ex: ex.credential
    if head == "body":
        values: list[Any] = list((when.body or {})[name]["in"])

        def chosen(ex: Exchange) -> str | None:
            sent = lookup(request_body(ex), name)
            return next((_key(v) for v in values if json_equal(sent, v)), None)

        return name, [_key(v) for v in values], chosen
    ref = (when.known or {})[name]

    def known(ex: Exchange) -> str | None:
        sent = lookup(request_body(ex), name)
        return sent if isinstance(sent, str) else None

    return name, sorted(ctx.seen_values(ref)), known


def _key(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
