"""Server-sent event stream rule kinds: the grammar of each event, the order
of a run's events, ids and counters along a stream (the kinds that compare a
stream with other exchanges are in `sse_across`).

A stream read is one exchange whose body is the bytes received (see
`Client.stream`); `Exchange.events` decodes it with httpx-sse. Events are
identified by their JSON data's `name_key` (`data.event`), not by the `event:`
line, so that a wrong `event:` line is the grammar rule's finding only.

A *full* stream is one requested without `Last-Event-ID`; a *resumed* one
names the last event its client saw. A stream the server ended has no
`Exchange.error`; one the client cut short names why: `HUNG_UP` on purpose
(what is missing is not the server's fault), anything else a deadline or a
transport failure (the server's).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from pydantic import Field

from ..trace import HUNG_UP, Exchange, Trace, event_data, lookup
from .context import Context, request_body
from .registry import Params, Verdict, rule_kind


@dataclass(frozen=True)
class Event:
    """One decoded event: its position, own `id:` ("" if none), `event:` line,
    JSON data (or `NOT_JSON`) and name (the data's `name_key`, else the line)."""

    index: int
    id: str
    line: str
    data: Any
    name: str

    def get(self, dotted: str) -> Any:
        return lookup(self.data, dotted)

    def label(self) -> str:
        return f"{self.name}" + (f" (id {self.id})" if self.id else f" (event {self.index})")


@dataclass(frozen=True)
class Stream:
    exchange: Exchange
    params: Mapping[str, str]
    events: tuple[Event, ...]

    @property
    def resumed_from(self) -> str | None:
        return self.exchange.request_header("last-event-id")

    @property
    def full(self) -> bool:
        return self.resumed_from is None

    @property
    def ended(self) -> bool:
        """The server ended the stream (the client read it to its end)."""
        return self.exchange.error is None

    @property
    def hung_up(self) -> bool:
        return (self.exchange.error or "").startswith(HUNG_UP)

    @property
    def cut_short(self) -> bool:
        """The client stopped reading for a reason the server answers for."""
        return not self.ended and not self.hung_up


_PARSED: weakref.WeakKeyDictionary[Exchange, dict[str, tuple[Event, ...]]] = (
    weakref.WeakKeyDictionary())


def events_of(ex: Exchange, name_key: str) -> tuple[Event, ...]:
    cache = _PARSED.setdefault(ex, {})
    if name_key not in cache:
        parsed = []
        for index, sse in enumerate(ex.events):
            data = event_data(sse)
            name = data.get(name_key) if isinstance(data, dict) else None
            parsed.append(Event(index, sse.id, sse.event, data,
                                name if isinstance(name, str) else sse.event))
        cache[name_key] = tuple(parsed)
    return cache[name_key]


class StreamParams(Params):
    request: str
    """The stream endpoint (`GET …/events`)."""
    name_key: str = "event"
    """The key of each event's JSON data that names the event."""


def streams(ctx: Context, p: StreamParams) -> Iterator[Stream]:
    """Every event stream the endpoint answered (200, `text/event-stream`)."""
    for ex, params in ctx.requests(p.request):
        if ex.status == 200 and ex.credential == "valid" and ex.content_type == (
                "text/event-stream"):
            yield Stream(ex, params, events_of(ex, p.name_key))


def _first(problems: list[str], what: str) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{what}: {problems[0]}{more}"


# ---- IA-SSE-1: the grammar of each event -------------------------------------------


class SseGrammar(StreamParams):
    content_type: str = "text/event-stream"
    id_key: str = "simulation_id"
    """The data key that names the resource the stream is about."""
    id_param: str = "simulation_id"
    """The path param it must equal."""


@rule_kind("sse_grammar", SseGrammar)
def sse_grammar(trace: Trace, p: SseGrammar, ctx: Context, verdict: Verdict) -> None:
    """The stream is `content_type`; each event's data is a JSON object whose
    `name_key` equals the event's `event:` line and whose `id_key` is the
    resource of the URL."""
    for ex, params in ctx.requests(p.request):
        if ex.status != 200 or ex.credential != "valid":
            continue
        if ex.content_type != p.content_type:
            verdict.violate(f"Content-Type is {ex.header('content-type')!r}, not "
                            f"{p.content_type}", ex)
            continue
        problems: dict[str, list[str]] = {}
        for event in events_of(ex, p.name_key):
            if not isinstance(event.data, dict):
                problems.setdefault("data is not a JSON object", []).append(
                    f"{event.label()} data={event.data!r:.60}")
                continue
            if event.data.get(p.name_key) != event.line:
                problems.setdefault(f"the event: line is not data.{p.name_key}", []).append(
                    f"event: {event.line!r} for data.{p.name_key}="
                    f"{event.data.get(p.name_key)!r} ({event.label()})")
            resource = params.get(p.id_param)
            if resource is not None and event.data.get(p.id_key) != resource:
                problems.setdefault(f"data.{p.id_key} is not the stream's {p.id_param}",
                                    []).append(f"{event.data.get(p.id_key)!r} in "
                                               f"{event.label()}, URL has {resource!r}")
        for what, found in problems.items():
            verdict.violate(_first(found, what), ex)
        if not problems:
            verdict.judged()


# ---- IA-SSE-2: the order of a run's events -----------------------------------------


class SseOrder(StreamParams):
    connected: str
    """The event that opens every connection."""
    started: str
    """The event that opens a run, once, before any of `started_before`."""
    started_before: list[str] = []
    terminal: list[str] = Field(min_length=1)


@rule_kind("sse_order", SseOrder)
def sse_order(trace: Trace, p: SseOrder, ctx: Context, verdict: Verdict) -> None:
    """Every stream opens with `connected`; a full stream has `started` once,
    before any `started_before` event, and exactly one terminal event, last,
    after which the server ends the stream. A stream the client hung up on is
    judged on what it read; a resumed one on its terminal event, if any."""
    for stream in streams(ctx, p):
        ex, events = stream.exchange, stream.events
        names = [e.name for e in events]
        wrong: list[str] = []
        if events and names[0] != p.connected:
            wrong.append(f"the first event is {events[0].label()}, not {p.connected}")
        terminals = [e for e in events if e.name in p.terminal]
        if len(terminals) > 1:
            wrong.append(f"{len(terminals)} terminal events: "
                         f"{', '.join(e.label() for e in terminals)}")
        if terminals and terminals[0].index != len(events) - 1:
            after = events[terminals[0].index + 1]
            wrong.append(f"{after.label()} follows the terminal {terminals[0].label()}")
        if terminals and stream.cut_short:
            wrong.append(f"the stream did not end after {terminals[-1].label()}: "
                         f"{ex.error}")
        if stream.full:
            started = [e for e in events if e.name == p.started]
            complete = not stream.hung_up
            if len(started) > 1 or (complete and not started):
                wrong.append(f"{p.started} came {len(started)} times")
            first_step = next((e for e in events if e.name in p.started_before), None)
            if first_step is not None and (not started or started[0].index > first_step.index):
                wrong.append(f"{first_step.label()} came before {p.started}")
            if complete and not terminals:
                why = ex.error or "the server ended it"
                wrong.append(f"the stream has no terminal event ({'/'.join(p.terminal)}): "
                             f"{why}")
        for why in wrong:
            verdict.violate(why, ex)
        if not wrong:
            verdict.judged()


# ---- IA-SSE-3: ids, steps, the announced hypotheses --------------------------------


class SseSequence(StreamParams):
    step_key: str = "payload.step"
    batch: str
    """The event that announces the items (`hypothesis.batch_created`), once."""
    batch_items: str = "payload.hypotheses"
    batch_item_id: str = "hypothesis_id"
    ref_key: str = "payload.hypothesis_id"
    """Where a later event names one of the announced items."""
    batch_required_by: list[str] = []
    """Terminal events of a run that must have announced its items (a run
    that failed may have failed before announcing any)."""


@rule_kind("sse_sequence", SseSequence)
def sse_sequence(trace: Trace, p: SseSequence, ctx: Context, verdict: Verdict) -> None:
    """Along one stream, numeric `id:`s strictly increase and `step_key` never
    goes down; a full stream announces its items in one `batch` event, and
    every later event names only announced items."""
    for stream in streams(ctx, p):
        ex, events = stream.exchange, stream.events
        wrong: list[str] = []
        numbered = [(e, int(e.id)) for e in events if e.id.lstrip("-").isdigit()]
        back = next(((a, b) for a, b in pairwise(numbered) if b[1] <= a[1]), None)
        if back is not None:
            wrong.append(f"id {back[1][0].id} ({back[1][0].name}) does not increase on "
                         f"id {back[0][0].id} ({back[0][0].name})")
        steps = [(e, s) for e in events
                 if isinstance(s := e.get(p.step_key), int | float) and not isinstance(s, bool)]
        down = next(((a, b) for a, b in pairwise(steps) if b[1] < a[1]), None)
        if down is not None:
            wrong.append(f"{p.step_key} goes down from {down[0][1]!r} ({down[0][0].label()}) "
                         f"to {down[1][1]!r} ({down[1][0].label()})")
        if stream.full:
            wrong += _batch_problems(stream, p)
        for why in wrong:
            verdict.violate(why, ex)
        if not wrong:
            verdict.judged()


def _batch_problems(stream: Stream, p: SseSequence) -> list[str]:
    batches = [e for e in stream.events if e.name == p.batch]
    required = any(e.name in p.batch_required_by for e in stream.events)
    if len(batches) > 1 or (required and not batches):
        return [f"{p.batch} came {len(batches)} times"]
    if not batches:
        return []
    items = batches[0].get(p.batch_items)
    announced = {item.get(p.batch_item_id) for item in items
                 if isinstance(item, dict)} if isinstance(items, list) else set()
    strays = [f"{ref!r} in {e.label()}" for e in stream.events[batches[0].index + 1:]
              if isinstance(ref := e.get(p.ref_key), str) and ref not in announced]
    return [_first(strays, f"not announced by {p.batch}")] if strays else []


# ---- IA-SSE-4: message indices and counts ------------------------------------------


class SseCounters(StreamParams):
    message: str
    """The event of one new message."""
    index_key: str = "payload.message_index"
    group_key: str = "payload.hypothesis_id"
    transcript: str
    """The event that carries the running count of a group's messages."""
    count_key: str = "payload.transcript.message_count"
    create: str
    """The endpoint whose request set the limit (its answer names the resource)."""
    created_id_key: str = "simulation_id"
    id_param: str = "simulation_id"
    limit_field: str = "max_interview_messages"
    """The limit in the create request; failing that, in the `started` event."""
    started: str
    started_limit_key: str = "payload.max_interview_messages"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@rule_kind("sse_counters", SseCounters)
def sse_counters(trace: Trace, p: SseCounters, ctx: Context, verdict: Verdict) -> None:
    """Along a full stream, per group, `message` indices go up by one; each
    `transcript` count equals the messages of its group so far; no group has
    more messages than the run's limit."""
    for stream in streams(ctx, p):
        if not stream.full:
            continue
        limit = _limit(ctx, p, stream)
        sent: dict[str, list[Event]] = {}
        wrong: list[str] = []
        for event in stream.events:
            group = event.get(p.group_key)
            if not isinstance(group, str):
                continue
            if event.name == p.message:
                mine = sent.setdefault(group, [])
                index, last = _int(event.get(p.index_key)), (
                    _int(mine[-1].get(p.index_key)) if mine else None)
                if index is not None and last is not None and index != last + 1:
                    wrong.append(f"{group}: message_index {index} after {last} "
                                 f"({event.label()})")
                mine.append(event)
                if limit is not None and len(mine) == limit + 1:
                    wrong.append(f"{group}: more than {limit} messages ({event.label()})")
            elif event.name == p.transcript:
                count = _int(event.get(p.count_key))
                if count is not None and count != len(sent.get(group, [])):
                    wrong.append(f"{group}: {p.count_key}={count} after "
                                 f"{len(sent.get(group, []))} {p.message} ({event.label()})")
        for why in wrong:
            verdict.violate(why, stream.exchange)
        if not wrong and sent:
            verdict.judged()


def _limit(ctx: Context, p: SseCounters, stream: Stream) -> int | None:
    resource = stream.params.get(p.id_param)
    for ex, _ in ctx.requests(p.create):
        answer = ex.json
        if isinstance(answer, dict) and answer.get(p.created_id_key) == resource:
            body = request_body(ex)
            asked = _int(body.get(p.limit_field)) if isinstance(body, dict) else None
            if asked is not None:
                return asked
    started = next((e for e in stream.events if e.name == p.started), None)
    return None if started is None else _int(started.get(p.started_limit_key))
