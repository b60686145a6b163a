"""Cassettes: a test's traffic as a VCR.py cassette (YAML, format version 1).

Each interaction is VCR's `request`/`response` pair plus a `jobcontracts`
block that VCR ignores: the trace it belongs to (a hypothesis example), its
clock times, and what the client knew but the scrubbed headers no longer say
(was it the API's, how did it present its credential). The top-level
`metadata` is the run's: API, test, target, seed, base URL.

A WebSocket connection's messages and close code ride in the same block
(`websocket: {close_code, messages: [{direction, time, text | binary}]}`).

Everything is scrubbed (see `scrub.py`) before it is serialised. Reading
streams one interaction at a time (see `yamlstream.py`), so a long cassette
never sits in memory whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml

from ..trace import Exchange, Trace, WsMessage
from .recorded import Classifier, Cut, Entry, RecordingError
from .scrub import Scrubber
from .yamlstream import RawItem, parse_item, plain_scalar, stream_items

FORMAT = "jobcontracts-cassette/1"

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _text_or_bytes(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def interaction(exchange: Exchange, trace_no: int, scrub: Scrubber) -> dict[str, Any]:
    """One exchange as a scrubbed VCR interaction."""
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = "no answer" if not exchange.status else ""
    return {
        "request": {
            "method": exchange.method,
            "uri": scrub.text(exchange.url),
            "body": _text_or_bytes(scrub.body(exchange.request_body))
            if exchange.request_body else None,
            "headers": {k: [v] for k, v in scrub.headers(exchange.request_headers).items()},
        },
        "response": {
            "status": {"code": exchange.status, "message": reason},
            "headers": {k: [v] for k, v in scrub.headers(exchange.response_headers).items()},
            "body": {"string": _text_or_bytes(scrub.body(exchange.response_body))},
        },
        "jobcontracts": {
            "trace": trace_no, "seq": exchange.seq,
            "started_at": exchange.started_at, "finished_at": exchange.finished_at,
            "origin": exchange.origin, "credential": exchange.credential,
            "error": scrub.text(exchange.error) if exchange.error else None,
            "note": exchange.note,
            **({"websocket": _websocket(exchange, scrub)} if exchange.websocket else {}),
        },
    }


def _websocket(exchange: Exchange, scrub: Scrubber) -> dict[str, Any]:
    return {"close_code": exchange.ws_close_code, "messages": [
        {"direction": m.direction, "time": m.time,
         **({"text": scrub.text(m.data)} if isinstance(m.data, str)
            else {"binary": scrub.body(m.data)})}
        for m in exchange.ws_messages]}


def websocket_messages(raw: Any) -> tuple[WsMessage, ...]:
    """The messages of a `websocket` block (a KeyError, TypeError or ValueError
    on a malformed one, which `to_entry` reports)."""
    if not raw:
        return ()
    return tuple(WsMessage(str(m["direction"]), float(m["time"]),
                           str(m["text"]) if "text" in m else _bytes(m["binary"]))
                 for m in raw)


def write_cassette(path: Path, traces: Sequence[Trace], metadata: Mapping[str, Any],
                   scrub: Scrubber) -> None:
    """Write the traces as one cassette."""
    dump_cassette(path, {k: v for k, v in metadata.items() if v is not None},
                  [interaction(ex, n, scrub) for n, trace in enumerate(traces, 1)
                   for ex in trace])


def dump_cassette(path: Path, metadata: Mapping[str, Any],
                  interactions: Sequence[Mapping[str, Any]]) -> None:
    """Write a cassette atomically (a reader never sees half a file)."""
    document = {
        "metadata": {"format": FORMAT, **metadata},
        "interactions": [{k: v for k, v in item.items() if k != "_line"}
                         for item in interactions],
        "version": 1,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8") as out:
        yaml.dump(document, out, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                  width=120)
    partial.replace(path)


def read_cassette(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The metadata and every interaction of a (small) cassette, for replay."""
    interactions: list[dict[str, Any]] = []
    metadata: dict[str, Any] = {}
    for key, value in stream_items(path, "interactions"):
        if key == "interactions":
            interactions.append(value)
        elif key == "metadata" and isinstance(value, dict):
            metadata = value
    return metadata, interactions


def read_cassette_entries(path: Path) -> Iterator[Entry]:
    for key, value in stream_items(path, "interactions"):
        if key == "interactions":
            yield to_entry(value, path)


def cut_cassette_entries(path: Path) -> Iterator[Entry | RawItem]:
    """`read_cassette_entries`, leaving most interactions as their text, for
    `entry_of` to parse elsewhere (most of the cost of reading a cassette)."""
    for key, value in stream_items(path, "interactions", defer=True):
        if key == "interactions":
            yield value if isinstance(value, RawItem) else to_entry(value, path)


#: The `jobcontracts` block as `interaction` writes it, at the top level of an
#: item of a list at column 0 (a value's continuation lines are indented
#: deeper): what cutting segments needs, read without parsing the item.
_META = re.compile(
    r"\n  jobcontracts:\n    trace: (?P<trace>[\w.+-]+)\n    seq: [^\n]*\n"
    r"    started_at: (?P<started>[\w.+-]+)\n    finished_at: (?P<finished>[\w.+-]+)\n"
    r"    origin: (?P<origin>api|external)\n")


def cut_cassette(path: Path, classifier: Classifier) -> Iterator[Cut]:
    """Each interaction as its text, with what cutting segments needs read
    from its `jobcontracts` block, for a worker to parse (`entry_of`); one
    this cannot read that way (a foreign cassette's, say) is parsed here."""
    for item in cut_cassette_entries(path):
        if isinstance(item, RawItem):
            at = item.text.rfind("\n  jobcontracts:\n")
            meta = _META.match(item.text, at) if at >= 0 else None
            if meta is not None:
                try:
                    started = float(plain_scalar(meta["started"]))
                    yield Cut(plain_scalar(meta["trace"]), started,
                              float(plain_scalar(meta["finished"])), f"{path}:{item.line}",
                              meta["origin"], item)
                    continue
                except (TypeError, ValueError):
                    pass
            item = entry_of(item, path)
        yield Cut(item.segment, item.started_at, item.finished_at, item.where,
                  item.origin or classifier.origin(item), item)


def entry_of(raw: RawItem, path: Path) -> Entry:
    return to_entry(parse_item(raw, path), path)


def to_entry(item: Any, path: Path) -> Entry:
    where = f"{path}:{item.get('_line', '?')}" if isinstance(item, dict) else str(path)
    try:
        request, response = item["request"], item["response"]
        meta = item.get("jobcontracts") or {}
        status = response["status"]
        code = int(status["code"] if isinstance(status, Mapping) else status)
        started = float(meta.get("started_at", 0.0))
        websocket = meta.get("websocket") or {}
        close_code = websocket.get("close_code")
        return Entry(
            method=str(request["method"]), url=str(request["uri"]),
            request_headers=_headers(request.get("headers")),
            request_body=_bytes(request.get("body")),
            status=code, response_headers=_headers(response.get("headers")),
            response_body=_bytes((response.get("body") or {}).get("string")),
            started_at=started, finished_at=float(meta.get("finished_at", started)),
            segment=meta.get("trace"), origin=meta.get("origin"),
            credential=meta.get("credential"), error=meta.get("error"),
            note=str(meta.get("note") or ""), where=where,
            ws_messages=websocket_messages(websocket.get("messages")),
            ws_close_code=None if close_code is None else int(close_code))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordingError(f"{where}: not a VCR interaction ({type(exc).__name__}: "
                             f"{exc})") from None


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    headers = {}
    for name, value in raw.items():
        if type(value) is list:
            value = value[0] if len(value) == 1 and type(value[0]) is str else \
                ", ".join(map(str, value))
        headers[name if type(name) is str else str(name)] = \
            value if type(value) is str else str(value)
    return headers


def _bytes(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    return str(raw).encode("utf-8")
