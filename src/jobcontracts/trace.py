"""Exchanges and traces: the recorded traffic every oracle judges.

An `Exchange` is one request and its answer (or the transport error that took
its place), stamped with the clock's times. A `Trace` is the ordered list of a
run's exchanges. Oracles read traces and nothing else, so the same check runs
on simulated, live and recorded traffic alike.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar, overload
from urllib.parse import urlsplit

import orjson
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

_T = TypeVar("_T")


class cached_property(Generic[_T]):
    """`functools.cached_property` without the lock Python 3.11 takes on
    every first read (3.12 dropped it): judging reads each exchange's path and
    bodies once per exchange, and the lock tripled each of those reads' cost.
    Two threads reading at once may both compute the value; it is the same."""

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[_T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class _Marker:
    """A value that is none of JSON's, compared by identity; it stays itself
    when pickled (a worker process of `jobcontracts verify` hands exchanges back)."""

    __slots__ = ("_name", "_shown")

    def __init__(self, name: str, shown: str) -> None:
        self._name, self._shown = name, shown

    def __repr__(self) -> str:
        return self._shown

    def __reduce__(self) -> str:
        return self._name


#: The value `Exchange.json` takes when a body is absent or is not JSON.
NOT_JSON: Any = _Marker("NOT_JSON", "<not JSON>")

#: How the request presented its credential, so that auth rules can be judged
#: from a trace whose secrets were scrubbed.
CREDENTIALS = ("valid", "missing", "invalid", "none")

#: How `Exchange.error` starts when the client itself ended a stream early, on
#: purpose (to reconnect): the server is not to blame for what is missing.
HUNG_UP = "client hung up"


@dataclass(frozen=True)
class WsMessage:
    """One WebSocket message of a connection: who sent it, when (the run's
    clock, when the whole message had arrived), and its data: `str` for a text
    message (opcode 1), `bytes` for a binary one (opcode 2)."""

    direction: str
    """`receive` (from the server) or `send` (from the client)."""
    time: float
    data: str | bytes

    @property
    def opcode(self) -> int:
        return 1 if isinstance(self.data, str) else 2

    @property
    def text(self) -> str | None:
        return self.data if isinstance(self.data, str) else None

    @cached_property
    def json(self) -> Any:
        """The data parsed as JSON (a text message's, or a binary one's as
        UTF-8), or `NOT_JSON`."""
        raw = self.data.encode("utf-8", errors="replace") if isinstance(self.data, str) \
            else self.data
        return _parse_json(raw)


@dataclass(frozen=True, eq=False)
class Exchange:
    """One request/response pair. `status` is 0 when no answer came."""

    seq: int
    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes
    started_at: float
    finished_at: float
    origin: str = "api"
    """`api` for the API under test, `external` for anything else (a presigned URL)."""
    credential: str = "valid"
    error: str | None = None
    """The transport failure (timeout, reset, …) when `status == 0`; for a
    stream read (`status` set), why the read stopped before the server ended
    it: a transport failure, the client's deadline, or `HUNG_UP`."""
    note: str = ""
    """What the driver meant by it ("idempotency probe", "rate-limit burst")."""
    ws_messages: tuple[WsMessage, ...] = ()
    """For a WebSocket connection (one exchange: the upgrade request, its `101`
    or refusal), every message, in order. `error` says why the client stopped
    reading, as for a stream; none when the server closed."""
    ws_close_code: int | None = None
    """The code of the server's close frame; None when the server sent none (the
    client stopped first, or a recording did not say)."""

    @cached_property
    def path(self) -> str:
        return urlsplit(self.url).path

    @cached_property
    def query(self) -> str:
        return urlsplit(self.url).query

    @cached_property
    def json(self) -> Any:
        """The response body parsed as JSON, or `NOT_JSON`."""
        return _parse_json(self.response_body)

    @cached_property
    def request_json(self) -> Any:
        return _parse_json(self.request_body)

    @cached_property
    def events(self) -> tuple[ServerSentEvent, ...]:
        """The server-sent events of a `text/event-stream` body, as httpx-sse
        decodes them; empty for any other content type. Events whose data is
        empty (what a blank line after a comment or an `id:` dispatches) are
        left out. An event's `id` is its own `id:` field, "" when it has none
        (httpx-sse would repeat the last one seen, as a browser's
        `lastEventId` does)."""
        if self.content_type != "text/event-stream":
            return ()
        return parse_events(self.response_body)

    @property
    def websocket(self) -> bool:
        """Was this a WebSocket upgrade request (answered or refused)?"""
        return (self.request_header("upgrade") or "").strip().lower() == "websocket"

    @property
    def ws_received(self) -> tuple[WsMessage, ...]:
        """The messages the server sent, in order."""
        return tuple(m for m in self.ws_messages if m.direction == "receive")

    @property
    def ws_json(self) -> tuple[Any, ...]:
        """Each received message parsed as JSON (`NOT_JSON` where it is not)."""
        return tuple(m.json for m in self.ws_received)

    def header(self, name: str) -> str | None:
        return _get_header(self.response_headers, name)

    def request_header(self, name: str) -> str | None:
        return _get_header(self.request_headers, name)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def describe(self, fields: tuple[str, ...] = ()) -> str:
        """One line for a failure message: `#12 GET /v1/x → 200 state='Running'`."""
        answer = f"{self.status}" if self.status else f"no answer ({self.error})"
        parts = [f"#{self.seq} {self.method} {self.path} → {answer}"]
        body = self.json
        for name in fields:
            value = lookup(body, name)
            if value is not ABSENT:
                parts.append(f"{name}={_short(value)}")
        if self.status == 429 or (fields and "Retry-After" in fields):
            parts.append(f"Retry-After={self.header('retry-after')!r}")
        if self.credential != "valid" and self.origin == "api":
            parts.append(f"credential={self.credential}")
        if self.content_type == "text/event-stream":
            parts.append(f"({len(self.events)} events"
                         + (f"; {self.error})" if self.error else "; the server ended it)"))
            if self.request_header("last-event-id") is not None:
                parts.append(f"Last-Event-ID={self.request_header('last-event-id')!r}")
        elif self.websocket and self.status == 101:
            parts.append(self._describe_ws())
        elif body is NOT_JSON and self.response_body and self.status:
            parts.append(f"body={_short(self.response_body[:80])}")
        return " ".join(parts)

    def _describe_ws(self) -> str:
        """`?after_seq=3 (4 messages: status, progress, …, completed; closed 1000)`."""
        names = []
        for message in self.ws_received:
            data = message.json
            kind = data.get("type") if isinstance(data, dict) else None
            names.append(kind if isinstance(kind, str) else
                         "<not JSON>" if data is NOT_JSON else "<not an object>")
        shown = names if len(names) <= 6 else [*names[:3], "…", *names[-2:]]
        ending = self.error or (f"closed {self.ws_close_code}" if self.ws_close_code is not None
                                else "no close recorded")
        count = f"{len(names)} message{'' if len(names) == 1 else 's'}"
        query = f"?{self.query} " if self.query else ""
        return f"{query}({count}{': ' + ', '.join(shown) if shown else ''}; {ending})"


_FIELDS = frozenset(f.name for f in dataclasses.fields(Exchange))


def exchange_of(fields: dict[str, Any]) -> Exchange:
    """`Exchange(**fields)`, every field given, at a quarter of the cost: the
    frozen dataclass's `__init__` sets each of its 16 fields through
    `object.__setattr__` (2.2 µs, a twentieth of verifying a recorded exchange)."""
    if fields.keys() != _FIELDS:
        raise TypeError(f"exchange_of: fields {sorted(fields.keys() ^ _FIELDS)} "
                        "missing or unknown")
    exchange = object.__new__(Exchange)
    exchange.__dict__.update(fields)
    return exchange


class OwnIdDecoder(SSEDecoder):
    """httpx-sse's decoder, with each event's `id` its own `id:` field: the
    last-event-id buffer is cleared after each dispatch."""

    def decode(self, line: str) -> ServerSentEvent | None:
        event = super().decode(line)
        if event is not None:
            self._last_event_id = ""
        return event


def parse_events(raw: bytes) -> tuple[ServerSentEvent, ...]:
    """Every complete event of an SSE body (a trailing event with no blank
    line after it is incomplete and, as the WHATWG parser does, dropped)."""
    lines = SSELineDecoder()
    decoder = OwnIdDecoder()
    text = raw.decode("utf-8-sig", errors="replace")  # UTF-8, a leading BOM dropped (WHATWG)
    events = []
    for line in [*lines.decode(text), *lines.flush()] if text else []:
        event = decoder.decode(line)
        if event is not None and event.data:
            events.append(event)
    return tuple(events)


def event_name(event: ServerSentEvent, key: str = "event") -> str:
    """What an event is, as its JSON data's `key` says (its `event:` field when
    the data names nothing)."""
    data = event_data(event)
    name = data.get(key) if isinstance(data, dict) else None
    return name if isinstance(name, str) else event.event


def event_data(event: ServerSentEvent) -> Any:
    """An event's data parsed as JSON, or `NOT_JSON`."""
    return _parse_json(event.data.encode("utf-8", errors="replace"))


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def loads_json(text: str | bytes) -> Any:
    """`json.loads`, at about twice its speed where orjson reads the text
    (UTF-8, no NaN, integers of 64 bits: what an API sends); the rest, and
    every error, is `json`'s."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return NOT_JSON
    try:
        return loads_json(raw)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What `lookup` returns when a dotted path names nothing.
ABSENT: Any = _Marker("ABSENT", "<absent>")


@lru_cache(maxsize=4096)
def _steps(dotted: str) -> tuple[tuple[str, int | None], ...]:
    return tuple((part, int(part) if part.isdigit() else None) for part in dotted.split("."))


def lookup(body: Any, dotted: str) -> Any:
    """`lookup({"a": {"b": 1}}, "a.b") == 1`; `ABSENT` when any step is missing.

    The oracles call it hundreds of thousands of times per long trace: a JSON
    object is tried as a `dict` first (no `Mapping` ABC check), and a path's
    steps are split once."""
    if type(body) is dict and "." not in dotted:
        return body.get(dotted, ABSENT)
    current = body
    for part, index in _steps(dotted):
        if type(current) is dict or isinstance(current, Mapping):
            if part not in current:
                return ABSENT
            current = current[part]
        elif isinstance(current, list) and index is not None and index < len(current):
            current = current[index]
        else:
            return ABSENT
    return current


@dataclass
class Trace:
    """The exchanges of one run, in the order they were sent."""

    exchanges: list[Exchange] = field(default_factory=list)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __len__(self) -> int:
        return len(self.exchanges)

    def append(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def next_seq(self) -> int:
        return len(self.exchanges) + 1


class PathTemplate:
    """`/v1/interviews/{interview_id}/turns` as a matcher that extracts params."""

    _PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

    def __init__(self, template: str) -> None:
        if not template.startswith("/"):
            raise ValueError(f"a path template must start with '/': {template!r}")
        self.template = template
        pattern = ""
        last = 0
        for m in self._PARAM.finditer(template):
            pattern += re.escape(template[last : m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
            last = m.end()
        pattern += re.escape(template[last:])
        self._regex = re.compile(f"^{pattern}/?$")
        self.params = tuple(self._PARAM.findall(template))

    def match(self, path: str) -> dict[str, str] | None:
        m = self._regex.match(path)
        return m.groupdict() if m else None

    def fill(self, **params: str) -> str:
        return self._PARAM.sub(lambda m: params[m.group(1)], self.template)

    def __repr__(self) -> str:
        return f"PathTemplate({self.template!r})"
