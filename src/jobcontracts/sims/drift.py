"""Drifts: lawful changes of behaviour, the regressions no rule catches.

As a fault breaks one rule on purpose, a drift changes what a served
simulator does *within* the contract: an error code renamed, a status record
that gains a key, a forecast that is now always null, slower polls, a longer
`Retry-After`, one more clarification question. The contract suite still
passes against a drifted simulator; `jobcontracts compare` must report it.

A drift is made of two generic parts, so that a table of them per API
(`sims/<api>/drifts.py`) is data, not code:

- `choices`: variant choices forced to a value (see `sims/variant.py`): the
  server's own way of doing what the documents leave open (timing, counts,
  codes), so the simulator stays consistent with itself;
- `respond`: post-processors of the simulator's answers, each one `Edit`
  (which requests it touches, what it does to the answer).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.variant import Variant, as_variant

T = TypeVar("T")

#: An edit of one answer: (request, answer, the simulator's clock) → answer.
Respond = Callable[[httpx.Request, httpx.Response, Clock], httpx.Response]


@dataclass(frozen=True)
class Edit:
    """One post-processor, on the answers to requests that `method` and the
    `path` regex (full match) select, with a status in `statuses` (any if empty)."""

    method: str
    path: str
    respond: Respond
    statuses: tuple[int, ...] = ()

    def applies(self, request: httpx.Request, answer: httpx.Response) -> bool:
        return ((self.method == "*" or request.method == self.method)
                and re.fullmatch(self.path, request.url.path) is not None
                and (not self.statuses or answer.status_code in self.statuses))


@dataclass(frozen=True)
class Drift:
    name: str
    description: str
    choices: Mapping[str, Any] = field(default_factory=dict)
    respond: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class DriftedVariant(Variant):
    """A variant whose named choices are forced (a drift's `choices`)."""

    overrides: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def pick(self, name: str, options: Sequence[T]) -> T:
        if name in self.overrides:
            value: T = self.overrides[name]
            self.chosen.setdefault(name, value)
            return value
        return super().pick(name, options)

    def uniform(self, name: str, default: float, low: float, high: float) -> float:
        if name in self.overrides:
            value = float(self.overrides[name])
            self.chosen.setdefault(name, value)
            return value
        return super().uniform(name, default, low, high)


def drifts_of(api: str) -> Mapping[str, Drift]:
    """The drift table of an API (empty when it has none)."""
    try:
        module = importlib.import_module(f"jobcontracts.sims.{api}.drifts")
    except ModuleNotFoundError:
        return {}
    table: Mapping[str, Drift] = module.DRIFTS
    return table


def resolve_drifts(api: str, names: Iterable[str]) -> tuple[Drift, ...]:
    table = drifts_of(api)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown drift(s) {unknown} for {api}; known: "
                         f"{', '.join(sorted(table)) or 'none'}")
    return tuple(table[n] for n in names)


def drifted(factory: Callable[..., Any], drifts: Sequence[Drift], **options: Any) -> Any:
    """A simulator built by `factory(**options)` with the drifts applied: their
    choices forced through its variant, their edits wrapped around `handle`."""
    if not drifts:
        return factory(**options)
    overrides: dict[str, Any] = {}
    for drift in drifts:
        overrides.update(drift.choices)
    if overrides:
        base = as_variant(options.get("variant"))
        options["variant"] = DriftedVariant(base.number, overrides=overrides)
    simulator = factory(**options)
    edits = [edit for drift in drifts for edit in drift.respond]
    if edits:
        handle: Callable[[httpx.Request], httpx.Response] = simulator.handle
        clock: Clock = simulator.clock

        def drifted_handle(request: httpx.Request) -> httpx.Response:
            answer = handle(request)
            for edit in edits:
                if edit.applies(request, answer):
                    answer = edit.respond(request, answer, clock)
            return answer

        simulator.handle = drifted_handle
    return simulator


# ---------------------------------------------------------------- edits


def _json_edit(change: Callable[[Any], Any]) -> Respond:
    """An edit of a JSON answer's body (a stream, or a body that is not JSON, is left alone)."""

    def respond(request: httpx.Request, answer: httpx.Response, clock: Clock) -> httpx.Response:
        try:
            body = json.loads(answer.content)
        except (httpx.ResponseNotRead, ValueError, UnicodeDecodeError):
            return answer
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return httpx.Response(answer.status_code, headers=headers,
                              content=json.dumps(change(body)).encode("utf-8"))

    return respond


def _at(body: Any, path: str, change: Callable[[dict[str, Any], str], None]) -> None:
    """Apply `change(object, key)` where a dotted path ends (`turns[].content`)."""
    head, _, rest = path.partition(".")
    name = head.removesuffix("[]")
    if not isinstance(body, dict):
        return
    if not rest and not head.endswith("[]"):
        change(body, name)
        return
    value = body.get(name)
    targets = value if head.endswith("[]") and isinstance(value, list) else [value]
    for target in targets:
        _at(target, rest, change)


def set_fields(values: Mapping[str, Any]) -> Respond:
    """Set each dotted field that is present to a value (a forecast always null)."""

    def change(body: Any) -> Any:
        for path, value in values.items():
            def put(obj: dict[str, Any], key: str, value: Any = value) -> None:
                if key in obj:
                    obj[key] = value
            _at(body, path, put)
        return body

    return _json_edit(change)


def add_keys(values: Mapping[str, Any], under: str = "") -> Respond:
    """Add keys to the top-level object, or to the object at the dotted path
    `under` (a status record with one more key)."""

    def change(body: Any) -> Any:
        target = body
        for part in filter(None, under.split(".")):
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.update({k: v for k, v in values.items() if k not in target})
        return body

    return _json_edit(change)


def shorten_texts(path: str, keep: float, where: Callable[[dict[str, Any]], bool]
                  = lambda obj: True) -> Respond:
    """Cut a text field to `keep` of its length (a reply cut short)."""

    def change(body: Any) -> Any:
        def cut(obj: dict[str, Any], key: str) -> None:
            text = obj.get(key)
            if isinstance(text, str) and where(obj):
                obj[key] = text[: max(1, int(len(text) * keep))].rstrip() or text[:1]
        _at(body, path, cut)
        return body

    return _json_edit(change)


def scale_retry_after(factor: float) -> Respond:
    """A `Retry-After` in delay-seconds asking `factor` times as long (bounded by 3600)."""

    def respond(request: httpx.Request, answer: httpx.Response, clock: Clock) -> httpx.Response:
        value = answer.headers.get("retry-after", "").strip()
        if not value.isdigit():
            return answer
        answer.headers["Retry-After"] = str(min(3600, max(1, round(int(value) * factor))))
        return answer

    return respond


def delay(wall_seconds: float) -> Respond:
    """Answer later: `wall_seconds` of real time when served (the clock's speed
    scales it), as much simulated time in process (a virtual clock moves at once)."""

    def respond(request: httpx.Request, answer: httpx.Response, clock: Clock) -> httpx.Response:
        speed = getattr(clock, "speed", 1.0)
        clock.sleep(wall_seconds * float(speed))
        return answer

    return respond
