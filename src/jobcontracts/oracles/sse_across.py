"""Event-stream rule kinds that read more than one exchange: the terminal
event of a stream against a later poll of the status record, and a stream
resumed with `Last-Event-ID` against a full stream of the same resource.

See `sse` for how streams are read and named.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..trace import ABSENT, NOT_JSON, Trace, lookup
from .context import Context, json_equal
from .registry import Params, Verdict, rule_kind
from .sse import Event, Stream, StreamParams, streams

# ---- IA-SSE-5: the terminal event and the status record ----------------------------


class Outcome(Params):
    status: str
    """The record's status field must read this."""
    equal: dict[str, str] = {}
    """Record field → event data path that must hold the same value."""


class SseAgreesWithStatus(StreamParams):
    record: str
    key_param: str = "simulation_id"
    status_field: str = "status"
    in_progress: list[str] = []
    """Statuses a poll just after the terminal event may still show (a race,
    not a disagreement): the first later poll not in them is compared."""
    outcomes: dict[str, Outcome] = Field(min_length=1)
    """Terminal event name → what the record says after it."""


@rule_kind("sse_agrees_with_status", SseAgreesWithStatus)
def sse_agrees_with_status(trace: Trace, p: SseAgreesWithStatus, ctx: Context,
                           verdict: Verdict) -> None:
    """The terminal event of a stream agrees with the first later poll of the
    resource's record that is no longer pending."""
    for stream in streams(ctx, p):
        terminal = next((e for e in stream.events if e.name in p.outcomes), None)
        key = stream.params.get(p.key_param)
        if terminal is None or key is None:
            continue
        later = next((o for o in ctx.records(p.record).get(key, [])
                      if o.seq > stream.exchange.seq
                      and lookup(o.body, p.status_field) not in p.in_progress), None)
        if later is None:
            continue
        outcome = p.outcomes[terminal.name]
        status = lookup(later.body, p.status_field)
        wrong = [] if status == outcome.status else [
            f"{p.status_field}={status!r} after {terminal.label()} (expected "
            f"{outcome.status!r})"]
        for field, path in outcome.equal.items():
            mine, theirs = lookup(later.body, field), terminal.get(path)
            if not json_equal(mine, theirs):
                wrong.append(f"{field}={_short(mine)} but {terminal.label()} has "
                             f"{path}={_short(theirs)}")
        if wrong:
            verdict.violate("; ".join(wrong), stream.exchange, later.exchange,
                            fields=(p.status_field, *outcome.equal))
        else:
            verdict.judged()


def _short(value: Any, limit: int = 60) -> str:
    text = "<absent>" if value is ABSENT else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- IA-SSE-6: resuming with Last-Event-ID -----------------------------------------


class SseResume(StreamParams):
    key_param: str = "simulation_id"
    connected: str
    """The per-connection event, left out of the comparison."""
    terminal: list[str] = Field(min_length=1)
    compare: list[str] = ["payload"]
    """Data keys compared, with the id and the name (a timestamp may be re-sent)."""


@rule_kind("sse_resume", SseResume)
def sse_resume(trace: Trace, p: SseResume, ctx: Context, verdict: Verdict) -> None:
    """A stream resumed with `Last-Event-ID: n` sends exactly the events that
    follow event `n` in a full stream of the same resource: none repeated,
    none lost. Judged against a full stream the server ended or that reached
    its terminal event; a resumed stream cut short is compared as a prefix."""
    every = list(streams(ctx, p))
    for resumed in every:
        last = resumed.resumed_from
        key = resumed.params.get(p.key_param)
        if last is None or key is None:
            continue
        reference = next((s for s in every if s.full and s.params.get(p.key_param) == key
                          and (s.ended or any(e.name in p.terminal for e in s.events))), None)
        if reference is None:
            continue
        expected = _after(_run_events(reference, p), last.strip())
        if expected is None:
            continue
        got = _run_events(resumed, p)
        if reference.ended:  # all there is: a resumed stream cut short is a prefix of it
            shown, wanted = got, expected if resumed.ended else expected[: len(got)]
        else:  # the reference was cut short too: compare what both have
            shown, wanted = got[: len(expected)], expected[: len(got)]
        problem = _difference([_key(e, p) for e in shown], [_key(e, p) for e in wanted],
                              shown, wanted)
        if problem:
            verdict.violate(f"resumed with Last-Event-ID {last!r}: {problem}",
                            reference.exchange, resumed.exchange)
        else:
            verdict.judged()


def _run_events(stream: Stream, p: SseResume) -> list[Event]:
    return [e for e in stream.events if e.name != p.connected]


def _after(events: list[Event], last: str) -> list[Event] | None:
    """The events after the last one with id `last`; by number when `last` is
    not among them; None when neither says."""
    where = [i for i, e in enumerate(events) if e.id == last]
    if where:
        return events[where[-1] + 1:]
    numeric = last.lstrip("-").isdigit() and all(e.id.lstrip("-").isdigit() for e in events)
    return [e for e in events if int(e.id) > int(last)] if numeric else None


def _key(event: Event, p: SseResume) -> tuple[str, str, tuple[str, ...]]:
    data = event.data if event.data is not NOT_JSON else {}
    return event.id, event.name, tuple(repr(_canonical(lookup(data, k))) for k in p.compare)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((k, _canonical(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _difference(got: list[Any], want: list[Any], got_events: list[Event],
                want_events: list[Event]) -> str | None:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return (f"event {i + 1} after it is {got_events[i].label()}, the full stream "
                    f"has {want_events[i].label()} there")
    if len(got) != len(want):
        if len(got) > len(want):
            return f"{len(got) - len(want)} extra event(s) from {got_events[len(want)].label()}"
        return (f"{len(want) - len(got)} event(s) missing from "
                f"{want_events[len(got)].label()}")
    return None
