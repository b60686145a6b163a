"""What the events of a stream carry: the data envelope every event shares,
the connected event's status, and payloads that agree with the run and with
each other (the request a run started from, a batch's count, a transcript
and the messages it transcribes).

Payloads are compared only where the document's examples tie them together;
anything they leave open (a message index base, a transcript's `text`
layout, extra keys) is left alone.
"""

from __future__ import annotations

from typing import Any

from ..trace import ABSENT, Trace
from .context import Context, json_equal, request_body
from .projection import FieldType, type_problem
from .registry import Verdict, rule_kind
from .sse import Event, Stream, StreamParams, _first, streams

# ---- IA-SSE-7: the data envelope, and the connected event's status ---------------------


class SseDataTypes(StreamParams):
    types: dict[str, FieldType]
    """Data keys every event carries, with their types (`timestamp: number`)."""


@rule_kind("sse_data_types", SseDataTypes)
def sse_data_types(trace: Trace, p: SseDataTypes, ctx: Context, verdict: Verdict) -> None:
    """Every event whose data is a JSON object (anything else is the grammar
    rule's finding) carries each of `types`' keys with its type."""
    for stream in streams(ctx, p):
        wrong = []
        for event in stream.events:
            if not isinstance(event.data, dict):
                continue
            for key, kind in p.types.items():
                value = event.get(key)
                problem = "absent" if value is ABSENT else type_problem(value, kind)
                if problem:
                    wrong.append(f"{event.label()} {key}: {problem}")
        if wrong:
            verdict.violate(_first(wrong, "event data"), stream.exchange)
        elif stream.events:
            verdict.judged()


class SseConnectedStatus(StreamParams):
    event: str
    """The event a connection opens with (`sse.connected`)."""
    terminal: list[str]
    """The run's last events: what follows one is not the run's (IA-SSE-2's finding)."""
    status_key: str = "payload.status"
    running: str = "running"
    time_key: str = "timestamp"


@rule_kind("sse_connected_status", SseConnectedStatus)
def sse_connected_status(trace: Trace, p: SseConnectedStatus, ctx: Context,
                         verdict: Verdict) -> None:
    """The connected event says `running` when the run was running at the
    connection: when an event of the run after it (up to its terminal one)
    happened later (a greater `time_key`). A stream of past events only (a
    finished run, a replay) is not judged: what a connection to a finished
    run says is not stated."""
    for stream in streams(ctx, p):
        connected = next((e for e in stream.events if e.name == p.event), None)
        at = _number(connected.get(p.time_key)) if connected is not None else None
        if connected is None or at is None:
            continue
        run: list[Event] = []
        for event in stream.events[connected.index + 1:]:
            run.append(event)
            if event.name in p.terminal:
                break
        later = next((e for e in run
                      if (t := _number(e.get(p.time_key))) is not None and t > at), None)
        if later is None:
            continue
        status = connected.get(p.status_key)
        if json_equal(status, p.running):
            verdict.judged()
        else:
            verdict.violate(f"{p.event} says {p.status_key}={status!r}, but {later.label()} "
                            f"followed it at {later.get(p.time_key)} > {at}: the run was "
                            f"{p.running}", stream.exchange)


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


# ---- IA-SSE-8: payloads that agree with the run and with each other ---------------------


class SseEcho(StreamParams):
    event: str
    """The event that echoes the request (`simulation.started`)."""
    create: str
    """The endpoint whose request started the run; its answer names it."""
    created_id_key: str = "simulation_id"
    id_param: str = "simulation_id"
    echo: dict[str, str]
    """Event key → the request body field it repeats. A field the request
    left out or sent as null is not judged (the server chose the value)."""


@rule_kind("sse_echo", SseEcho)
def sse_echo(trace: Trace, p: SseEcho, ctx: Context, verdict: Verdict) -> None:
    """On each `event` of a run's stream, the `echo` keys repeat what the
    request that started the run sent."""
    for stream in streams(ctx, p):
        body = _created_with(ctx, p, stream)
        if not isinstance(body, dict):
            continue
        for event in stream.events:
            if event.name != p.event:
                continue
            for key, field in p.echo.items():
                if body.get(field) is None:
                    continue
                shown = event.get(key)
                if json_equal(shown, body[field]):
                    verdict.judged()
                else:
                    verdict.violate(f"{event.label()} {key}={shown!r:.80}, but the request sent "
                                    f"{field}={body[field]!r:.80}", stream.exchange)


def _created_with(ctx: Context, p: SseEcho, stream: Stream) -> Any:
    resource = stream.params.get(p.id_param)
    for ex, _ in ctx.requests(p.create):
        answer = ex.json
        if isinstance(answer, dict) and answer.get(p.created_id_key) == resource:
            return request_body(ex)
    return None


class SseCount(StreamParams):
    event: str
    count: str
    """The count (`payload.count`)."""
    items: str
    """The list it counts (`payload.hypotheses`)."""


@rule_kind("sse_count", SseCount)
def sse_count(trace: Trace, p: SseCount, ctx: Context, verdict: Verdict) -> None:
    """On each `event`, `count` is the length of `items` (a count or a list
    of the wrong type is left to the schema rules)."""
    for stream in streams(ctx, p):
        for event in stream.events:
            count, items = event.get(p.count), event.get(p.items)
            if event.name != p.event or not isinstance(items, list) or _number(count) is None:
                continue
            if count == len(items):
                verdict.judged()
            else:
                verdict.violate(f"{event.label()} {p.count}={count} but {p.items} lists "
                                f"{len(items)}", stream.exchange)


class SseEnum(StreamParams):
    event: str
    field: str
    values: list[Any]


@rule_kind("sse_enum", SseEnum)
def sse_enum(trace: Trace, p: SseEnum, ctx: Context, verdict: Verdict) -> None:
    """On each `event`, `field` is one of `values` (compared as JSON)."""
    for stream in streams(ctx, p):
        for event in stream.events:
            if event.name != p.event:
                continue
            value = event.get(p.field)
            if any(json_equal(value, v) for v in p.values):
                verdict.judged()
            else:
                verdict.violate(f"{event.label()} {p.field}={value!r:.60} is not one of "
                                f"{p.values}", stream.exchange)


class SseTranscripts(StreamParams):
    message: str
    """The event of one new message (`interview.message`)."""
    transcript: str
    """The event that carries a group's transcript so far."""
    group_key: str = "payload.hypothesis_id"
    messages_key: str = "payload.transcript.messages"
    fields: list[str] = ["role", "content"]
    """What a transcript entry repeats of its message (`payload.role`, …)."""
    latest: dict[str, str] = {"payload.latest_message_index": "payload.message_index",
                              "payload.latest_message_role": "payload.role",
                              "payload.latest_message_content": "payload.content"}
    """Transcript key → the key of the group's last message it repeats."""


@rule_kind("sse_transcripts", SseTranscripts)
def sse_transcripts(trace: Trace, p: SseTranscripts, ctx: Context, verdict: Verdict) -> None:
    """Along a full stream, each transcript lists its group's messages so far,
    in order (`fields` of each), and its `latest` keys are the last
    message's. A resumed stream misses the earlier messages: not judged."""
    for stream in streams(ctx, p):
        if not stream.full:
            continue
        sent: dict[str, list[Event]] = {}
        wrong: list[str] = []
        for event in stream.events:
            group = event.get(p.group_key)
            if not isinstance(group, str):
                continue
            if event.name == p.message:
                sent.setdefault(group, []).append(event)
            elif event.name == p.transcript:
                problem = _transcript_problem(p, event, sent.get(group, []))
                if problem:
                    wrong.append(f"{group}: {event.label()} {problem}")
                else:
                    verdict.judged()
        if wrong:
            verdict.violate(_first(wrong, "transcript"), stream.exchange)


def _transcript_problem(p: SseTranscripts, event: Event, mine: list[Event]) -> str | None:
    listed = event.get(p.messages_key)
    if not isinstance(listed, list):
        return None  # the schema's finding
    expected = [{f: m.get(f"payload.{f}") for f in p.fields} for m in mine]
    shown = [{f: e.get(f) if isinstance(e, dict) else None for f in p.fields} for e in listed]
    if not json_equal(shown, expected):
        return (f"lists {len(shown)} message(s) that are not the {len(expected)} sent so far"
                if len(shown) != len(expected) else "lists other messages than were sent")
    if mine:
        for key, source in p.latest.items():
            if not json_equal(event.get(key), mine[-1].get(source)):
                return (f"{key}={event.get(key)!r:.60}, but the last message's "
                        f"{source}={mine[-1].get(source)!r:.60}")
    return None
