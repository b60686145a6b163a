"""WebSocket event-stream rule kinds: the grammar and the end of each
connection's stream (the kinds that compare a stream with other exchanges,
the job's polls or another connection, are in `ws_across`).

A connection is one exchange (the upgrade request, its `101`) carrying the
messages received (see `Client.websocket`); each message should be one JSON
event object. A *full* stream is one opened without the resume parameter; a
*resumed* one names the last event its client saw. How a connection ended:
the server closed it (`ws_close_code`, no `Exchange.error`); the client hung
up on purpose (`HUNG_UP`); the client gave up at a deadline or on a transport
failure (judged for what it has); or the server broke the protocol or dropped
the connection without a close frame (the server's fault, like a bad close).
A recording that kept no close code (Chrome's HAR) is judged on its events.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import Field

from ..trace import ABSENT, HUNG_UP, NOT_JSON, Exchange, Trace, lookup
from .context import Context, holds
from .registry import Params, Verdict, rule_kind

#: `Exchange.error` of a connection the server dropped without a close frame.
NO_CLOSE_FRAME = "connection closed without a close frame"


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class WsEvent:
    """One received message: its position, data (`NOT_JSON` if not JSON),
    type (the data's `type_key`, None if it names none) and `seq` (if an
    integer), and whether it came as a binary message."""

    index: int
    data: Any
    type: str | None
    seq: int | None
    binary: bool

    def get(self, dotted: str) -> Any:
        return lookup(self.data, dotted)

    def label(self) -> str:
        name = self.type or ("<not JSON>" if self.data is NOT_JSON else "<untyped>")
        return f"{name} (" + (f"seq {self.seq})" if self.seq is not None
                              else f"message {self.index + 1})")


@dataclass(frozen=True)
class Connection:
    exchange: Exchange
    params: Mapping[str, str]
    events: tuple[WsEvent, ...]
    after: int | None
    """The resume parameter's value; None for a full stream (or one that is
    not an integer: that stream is judged as neither)."""
    resumed: bool

    @property
    def closed_by_server(self) -> bool:
        """The server ended it: a close frame, or a drop without one."""
        return (self.exchange.error is None and self.exchange.ws_close_code is not None) or \
            (self.exchange.error or "").startswith(NO_CLOSE_FRAME)

    @property
    def complete(self) -> bool:
        """Everything the server had to send is here: it closed the connection
        (or, in a recording that kept no close, the client did not stop it)."""
        return self.exchange.error is None or self.closed_by_server

    @property
    def hung_up(self) -> bool:
        return (self.exchange.error or "").startswith(HUNG_UP)

    @property
    def broken(self) -> str | None:
        """Why the server is to blame for how the connection ended, if it is."""
        error = self.exchange.error or ""
        return error if error.startswith(("protocol error", NO_CLOSE_FRAME)) else None


class WsParams(Params):
    request: str
    """The events endpoint (`GET /v1/goals/{job_spec_id}/events`)."""
    key_param: str = "job_spec_id"
    """The path param naming the job."""
    resume_param: str = "after_seq"
    """The query parameter of a resumed connection."""
    type_key: str = "type"
    seq_key: str = "seq"
    terminal: list[str] = ["completed", "failed"]
    """Event types that always end a stream."""
    terminal_if: dict[str, dict[str, Any]] = {}
    """Event type → a condition on the event (as `when:` takes) under which it
    ends the stream too: `{status: {data.status: cancelled}}`."""

    def is_terminal(self, event: WsEvent) -> bool:
        if event.type in self.terminal:
            return True
        cond = self.terminal_if.get(event.type or "")
        return cond is not None and isinstance(event.data, dict) and holds(event.data, cond)


def events_of(ex: Exchange, p: WsParams) -> tuple[WsEvent, ...]:
    found = []
    for index, message in enumerate(ex.ws_received):
        data = message.json
        kind = data.get(p.type_key) if isinstance(data, dict) else None
        seq = as_int(data.get(p.seq_key)) if isinstance(data, dict) else None
        found.append(WsEvent(index, data, kind if isinstance(kind, str) else None, seq,
                             message.opcode != 1))
    return tuple(found)


def connections(ctx: Context, p: WsParams) -> Iterator[Connection]:
    """Every connection the endpoint accepted (`101`) with a valid credential."""
    for ex, params in ctx.requests(p.request):
        if ex.status != 101 or ex.credential != "valid":
            continue
        values = parse_qs(ex.query, keep_blank_values=True).get(p.resume_param)
        after = _int_text(values[-1]) if values else None
        yield Connection(ex, params, events_of(ex, p), after, values is not None)


def _int_text(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def first(problems: list[str], what: str) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{what}: {problems[0]}{more}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# ---- JOB-EVT-1 / JOB-EVT-2: each event, and how the stream ends -------------------


class WsEvents(WsParams):
    types: list[str] = Field(min_length=1)
    """The event vocabulary."""
    id_key: str = "job_spec_id"
    """The data key naming the job, which must equal the path's `key_param`."""
    schema_key: str = "schema_version"
    time_key: str = "emitted_at"
    unsequenced: list[str] = []
    """Types left out of the `seq` order (none, unless a contract says so)."""
    normal_close: int = 1000
    parts: list[Literal["grammar", "ending"]] = Field(["grammar", "ending"], min_length=1)
    """What this check judges: each event (`grammar`, JOB-EVT-1), how the
    stream ends (`ending`, JOB-EVT-2); a rule per part keeps a finding in one."""


@rule_kind("ws_events", WsEvents)
def ws_events(trace: Trace, p: WsEvents, ctx: Context, verdict: Verdict) -> None:
    """Each message of a connection is a text message holding a JSON object
    whose type is in `types`, whose `id_key` is the job of the URL and whose
    `schema_key` is an integer ≥ 1; `seq` strictly increases and `time_key`
    never goes down. Exactly one terminal event ends a full stream, nothing
    follows it, and the server then closes with `normal_close`. A stream the
    client stopped (a deadline, hanging up) is judged on what it read."""
    for conn in connections(ctx, p):
        problems = (_grammar(conn, p) if "grammar" in p.parts else []) + (
            _ending(conn, p) if "ending" in p.parts else [])
        for why in problems:
            verdict.violate(why, conn.exchange)
        if not problems:
            verdict.judged()


def _grammar(conn: Connection, p: WsEvents) -> list[str]:
    found: dict[str, list[str]] = {}

    def note(what: str, detail: str) -> None:
        found.setdefault(what, []).append(detail)

    job = conn.params.get(p.key_param)
    sequenced: list[WsEvent] = []
    timed: list[tuple[WsEvent, datetime]] = []
    for event in conn.events:
        if event.binary:
            note("a binary message, not a text one", event.label())
        if not isinstance(event.data, dict):
            note("a message is not a JSON object", f"{event.label()} "
                 f"{short(conn.exchange.ws_received[event.index].data)}")
            continue
        if event.type not in p.types:
            note(f"{p.type_key} is not one of the {len(p.types)} event types",
                 f"{event.data.get(p.type_key)!r} ({event.label()})")
        if job is not None and event.data.get(p.id_key) != job:
            note(f"{p.id_key} is not the job of the URL",
                 f"{event.data.get(p.id_key)!r} in {event.label()}, URL has {job!r}")
        version = as_int(lookup(event.data, p.schema_key))
        if version is None or version < 1:
            note(f"{p.schema_key} is not an integer ≥ 1",
                 f"{short(lookup(event.data, p.schema_key))} in {event.label()}")
        if event.type not in p.unsequenced:
            if event.seq is None:
                note(f"{p.seq_key} is not an integer",
                     f"{short(lookup(event.data, p.seq_key))} in {event.label()}")
            else:
                sequenced.append(event)
        when = _time(lookup(event.data, p.time_key))
        if when is not None:
            timed.append((event, when))
    for a, b in pairwise(sequenced):
        if b.seq is not None and a.seq is not None and b.seq <= a.seq:
            note(f"{p.seq_key} does not strictly increase", f"{b.label()} after {a.label()}")
    for (a, ta), (b, tb) in pairwise(timed):
        if tb < ta:
            note(f"{p.time_key} goes down", f"{b.label()} at {tb.isoformat()} after "
                 f"{a.label()} at {ta.isoformat()}")
    return [first(details, what) for what, details in found.items()]


def _ending(conn: Connection, p: WsEvents) -> list[str]:
    ex, events = conn.exchange, conn.events
    wrong: list[str] = []
    terminals = [e for e in events if p.is_terminal(e)]
    if len(terminals) > 1:
        wrong.append(f"{len(terminals)} terminal events: "
                     f"{', '.join(e.label() for e in terminals)}")
    if terminals and terminals[0].index != len(events) - 1:
        wrong.append(f"{events[terminals[0].index + 1].label()} follows the terminal "
                     f"{terminals[0].label()}")
    if conn.broken:
        wrong.append(f"the server broke the connection: {conn.broken}")
    elif terminals and not conn.complete and not conn.hung_up:
        wrong.append(f"the server did not close after {terminals[0].label()}: {ex.error}")
    if conn.closed_by_server and not conn.broken:
        code = ex.ws_close_code
        if code != p.normal_close:
            wrong.append(f"closed with code {code}, not {p.normal_close}")
        if not terminals and not conn.resumed:
            kinds = "/".join([*p.terminal, *p.terminal_if])
            wrong.append(f"the server closed with no terminal event ({kinds})")
    return wrong


def short(value: Any, limit: int = 60) -> str:
    text = "<absent>" if value is ABSENT else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
