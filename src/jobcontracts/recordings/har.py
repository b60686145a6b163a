"""HAR 1.2 files (browser devtools, mitmproxy, Charles, …), read as a stream of
entries, and written from traces (fixtures, benchmarks, sharing a run).

`log.entries` is read one entry at a time (blocks of text, each entry
decoded by `json`'s C decoder: twice as fast as `ijson`'s event stream), so a
capture of any length is read in constant memory. Pages (`pageref`) are
segment boundaries. A browser marks a request that got no answer with status 0 (Chrome adds the
reason in `_error`); that is a transport failure here too.

A WebSocket connection is one entry (the upgrade, its `101`) whose messages
are in `_webSocketMessages`, as Chrome writes them: `type` send/receive,
`time` (epoch seconds), `opcode` 1 (text) or 2 (binary, base64 `data`).
Chrome records no close code; ours are in `_webSocketCloseCode`, and why the
client stopped reading in `_error`, which a `101` entry otherwise lacks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

import orjson

from ..trace import Exchange, WsMessage, loads_json
from .recorded import Classifier, Cut, Entry, RecordingError
from .scrub import Scrubber

_BLOCK = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def read_har_entries(path: Path) -> Iterator[Entry]:
    for raw, _, where in _raw_entries(path):
        yield _entry(raw, where)


def cut_har_entries(path: Path, classifier: Classifier) -> Iterator[Cut]:
    """Each entry as its JSON text, with what cutting segments needs, for a
    worker to build (`har_entry_of`); an entry whose timing or request this
    cannot read is built here, so that its error comes out in its turn."""
    for raw, text, where in _raw_entries(path):
        try:
            request = raw["request"]
            method, url = str(request["method"]), str(request["url"])
            started, finished = _times(raw)
            yield Cut(raw.get("pageref"), started, finished, where,
                      classifier.origin_of(method, url), text)
        except (KeyError, TypeError, ValueError, AttributeError):
            entry = _entry(raw, where)  # raises the error it makes
            yield Cut(entry.segment, entry.started_at, entry.finished_at, where,
                      classifier.origin(entry), entry)


def har_entry_of(text: str, where: str) -> Entry:
    """The entry whose JSON text `cut_har_entries` cut (and decoded once)."""
    return _entry(loads_json(text), where)


def _raw_entries(path: Path) -> Iterator[tuple[Any, str, str]]:
    """Each entry decoded, its text, and where it is."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror}") from None
    with handle:
        count = 0
        stream = _Stream(handle)
        try:
            for raw in _log_entries(stream):
                count += 1
                yield raw, stream.text(), f"{path}: entry {count}"
        except ValueError as exc:  # json.JSONDecodeError, or the layout
            raise RecordingError(f"{path}: not valid JSON after entry {count} ({exc})") \
                from None
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{path}: not UTF-8 text ({exc.reason})") from None
        if count == 0:
            raise RecordingError(f"{path}: no log.entries: not a HAR file (or an empty one)")


class _Stream:
    """JSON text read in blocks: `value()` decodes the next value whole
    (`json`'s C decoder), reading more while a value runs past the block."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.start = 0
        self.eof = False
        self.closing: str | None = None
        """How the first item of the list ended: its last line ("\\n    }"),
        "\\n" when it had a line of its own, "" when items are not cut."""
        self.slow = 0
        """Items decoded by `value()`, not cut (the first one always is)."""

    def more(self) -> bool:
        """Read on (at least doubling what is pending, so one long value costs
        linear time); False at the end of the file."""
        block = self.handle.read(max(_BLOCK, len(self.buf) - self.pos))
        self.buf, self.pos = self.buf[self.pos:] + block, 0
        self.eof = not block
        return bool(block)

    def peek(self) -> str:
        """The next character that is not white space, or "" at the end."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def take(self, expected: str) -> str:
        found = self.peek()
        if found not in expected or not found:
            raise ValueError(f"expected one of {expected!r}, found {found[:1]!r}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise
            if end < len(self.buf) or self.eof:
                self.start, self.pos = self.pos, end
                return value
            self.more()  # a number may go on

    def item(self) -> Any:
        """The next item of a list whose items end alike (as HAR writers lay
        out entries: each on a line of its own, or on lines of their own), cut
        where the first one's last line ends again and decoded by orjson,
        twice `json`'s speed. The cut is right when orjson reads it whole (a
        JSON text starting at `{` ends at one place); anything else is read
        by `value()`. JSON strings hold no line break, so a line is always
        the text's own."""
        self.peek()
        if self.closing:
            at = self.buf.find(self.closing, self.pos)
            if at < 0 and len(self.buf) - self.pos < _BLOCK and self.more():
                at = self.buf.find(self.closing, self.pos)
            if at >= 0:
                end = self._line_end(at) if self.closing == "\n" else at + len(self.closing)
                try:
                    value = orjson.loads(self.buf[self.pos:end])
                except orjson.JSONDecodeError:
                    pass
                else:
                    self.start, self.pos = self.pos, end
                    return value
        value = self.value()
        self.slow += 1
        if self.closing is None:
            text = self.text()
            line = text.rfind("\n")
            if line >= 0:
                self.closing = text[line:] if text.endswith("}") else ""
            else:  # on a line of its own: what follows it on that line is a comma
                rest = self.buf[self.pos:self.buf.find("\n", self.pos)]
                self.closing = "\n" if rest.strip(" \t\r") in ("", ",") else ""
        return value

    def _line_end(self, newline: int) -> int:
        """Where an item that ends its line (the one `newline` ends) ends."""
        end = newline
        while end > self.pos and self.buf[end - 1] in " \t\r":
            end -= 1
        return end - 1 if end > self.pos and self.buf[end - 1] == "," else end

    def text(self) -> str:
        """The text of the value `value()` decoded last."""
        return self.buf[self.start:self.pos]

    def members(self) -> Iterator[str]:
        """The keys of the object just opened, each left for the caller to
        read (or skip) its value."""
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise ValueError("an object key is not a string")
            self.take(":")
            yield key
            if self.take(",}") == "}":
                return


def _log_entries(stream: _Stream) -> Iterator[Any]:
    """Each item of `log.entries`, one at a time; everything else is skipped."""
    stream.take("{")
    for key in stream.members():
        if key != "log" or stream.peek() != "{":
            stream.value()
            continue
        stream.take("{")
        for name in stream.members():
            if name != "entries" or stream.peek() != "[":
                stream.value()
                continue
            stream.take("[")
            if stream.peek() == "]":
                stream.pos += 1
                continue
            while True:
                yield stream.item()
                if stream.take(",]") == "]":
                    break
    if stream.peek():
        raise ValueError("text after the HAR object")


def _entry(raw: Any, where: str) -> Entry:
    try:
        request, response = raw["request"], raw["response"]
        started, finished = _times(raw)
        status = int(response.get("status") or 0)
        error = raw.get("_error") or response.get("_error")
        sent = raw.get("_webSocketMessages")
        messages = _ws_messages(sent) if sent else ()
        close_code = raw.get("_webSocketCloseCode")
        websocket = status == 101 or "_webSocketMessages" in raw
        return Entry(
            method=str(request["method"]), url=str(request["url"]),
            request_headers=_headers(request.get("headers")),
            request_body=_post_data(request.get("postData")),
            status=status, response_headers=_headers(response.get("headers")),
            response_body=_content(response.get("content")),
            started_at=started, finished_at=finished,
            segment=raw.get("pageref"),
            error=(str(error) if error else "no answer recorded") if status == 0 else (
                str(error) if error and websocket else None),
            where=where, ws_messages=messages,
            ws_close_code=None if close_code is None else int(close_code))
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise RecordingError(f"{where}: not a HAR 1.2 entry ({type(exc).__name__}: {exc})") \
            from None


def _ws_messages(raw: Any) -> tuple[WsMessage, ...]:
    """Chrome's `_webSocketMessages`; frames other than text and binary (a
    ping, a close) are left out."""
    messages = []
    for item in raw or []:
        opcode = int(item.get("opcode", 1))
        if opcode not in (1, 2):
            continue
        data = str(item.get("data") or "")
        messages.append(WsMessage("send" if item["type"] == "send" else "receive",
                                  float(item["time"]),
                                  data if opcode == 1 else base64.b64decode(data)))
    return tuple(messages)


def _times(raw: Any) -> tuple[float, float]:
    started = _timestamp(raw["startedDateTime"])
    return started, started + max(0.0, float(raw.get("time") or 0.0)) / 1000.0


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()  # "Z" too, since Python 3.11


def _headers(raw: Any) -> dict[str, str]:
    """HAR headers are a list of name/value pairs; repeated names are joined as
    HTTP joins them. HTTP/2 pseudo-headers (`:authority`) are dropped."""
    headers: dict[str, str] = {}
    for item in raw or ():
        name, value = item["name"], item["value"]
        if type(name) is not str:
            name = str(name)
        if type(value) is not str:
            value = str(value)
        if name[:1] == ":":
            continue
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _post_data(raw: Any) -> bytes:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return b""
    text = raw.get("text")
    if text is None:
        return b""
    if raw.get("encoding") == "base64":
        return base64.b64decode(text)
    return str(text).encode("utf-8")


def _content(raw: Any) -> bytes:
    if (type(raw) is not dict and not isinstance(raw, Mapping)) or raw.get("text") is None:
        return b""
    if raw.get("encoding") == "base64":
        return base64.b64decode(raw["text"])
    return str(raw["text"]).encode("utf-8")


# --------------------------------------------------------------------------- writing


def har_entry(exchange: Exchange, pageref: str | None = None,
              scrub: Scrubber | None = None) -> dict[str, Any]:
    """One exchange as a HAR 1.2 entry, as a browser exports it (headers as
    name/value lists, bodies as text, or base64 when they are not UTF-8),
    scrubbed first when a `scrub` is given."""
    if scrub is not None:
        exchange = scrub.exchange(exchange)
    started = datetime.fromtimestamp(exchange.started_at, tz=UTC)
    elapsed_ms = max(0.0, (exchange.finished_at - exchange.started_at) * 1000.0)
    entry: dict[str, Any] = {
        "startedDateTime": started.isoformat().replace("+00:00", "Z"),
        "time": elapsed_ms,
        "request": {
            "method": exchange.method, "url": exchange.url, "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": _pairs(exchange.request_headers),
            "queryString": [{"name": k, "value": v}
                            for k, v in parse_qsl(exchange.query, keep_blank_values=True)],
            "headersSize": -1, "bodySize": len(exchange.request_body),
        },
        "response": {
            "status": exchange.status, "statusText": "", "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": _pairs(exchange.response_headers),
            "content": {"size": len(exchange.response_body),
                        "mimeType": exchange.header("content-type") or "",
                        **_text(exchange.response_body)},
            "redirectURL": exchange.header("location") or "",
            "headersSize": -1, "bodySize": len(exchange.response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": elapsed_ms, "receive": 0},
    }
    if exchange.request_body:
        entry["request"]["postData"] = {
            "mimeType": exchange.request_header("content-type") or "", **_text(
                exchange.request_body)}
    if pageref is not None:
        entry["pageref"] = pageref
    if exchange.status == 0 and exchange.error:
        entry["_error"] = exchange.error
    if exchange.websocket:
        entry.update(_websocket(exchange))
    return entry


def _websocket(exchange: Exchange) -> dict[str, Any]:
    extra: dict[str, Any] = {"_resourceType": "websocket", "_webSocketMessages": [
        {"type": m.direction, "time": m.time, "opcode": m.opcode,
         "data": m.data if isinstance(m.data, str) else base64.b64encode(m.data).decode()}
        for m in exchange.ws_messages]}
    if exchange.ws_close_code is not None:
        extra["_webSocketCloseCode"] = exchange.ws_close_code
    if exchange.status and exchange.error:
        extra["_error"] = exchange.error
    return extra


def write_har(path: Path, pages: Iterable[tuple[str, Iterable[Exchange]]],
              scrub: Scrubber | None = None) -> int:
    """Write pages of exchanges as one HAR file, entry by entry (any length in
    constant memory), scrubbed when a `scrub` is given; returns the number of
    entries."""
    count = 0
    page_list: list[dict[str, Any]] = []
    with path.open("w", encoding="utf-8") as out:
        out.write('{"log": {"version": "1.2", "creator": {"name": "jobcontracts", '
                  '"version": "1"}, "entries": [\n')
        for page_id, exchanges in pages:
            first: Exchange | None = None
            for exchange in exchanges:
                first = first or exchange
                out.write(",\n" if count else "")
                out.write(json.dumps(har_entry(exchange, page_id, scrub), ensure_ascii=False))
                count += 1
            if first is not None:
                page_list.append({"id": page_id, "title": page_id, "pageTimings": {},
                                  "startedDateTime": har_entry(first)["startedDateTime"]})
        out.write('\n], "pages": ' + json.dumps(page_list) + "}}\n")
    return count


def _pairs(headers: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def _text(body: bytes) -> dict[str, str]:
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}
