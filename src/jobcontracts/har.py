"""HAR 1.2 files (browser devtools, mitmproxy, Charles, …), read as a stream of
entries, and written from traces (fixtures, benchmarks, sharing a run).

`ijson` reads `log.entries` one entry at a time, so a capture of any length
is read in constant memory. Pages (`pageref`) are segment boundaries. A
browser marks a request that got no answer with status 0 (Chrome adds the
reason in `_error`); that is a transport failure here too.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import ijson

from .recorded import Entry, RecordingError
from .trace import Exchange


def read_har_entries(path: Path) -> Iterator[Entry]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror}") from None
    with handle:
        count = 0
        try:
            for raw in ijson.items(handle, "log.entries.item", use_float=True):
                count += 1
                yield _entry(raw, f"{path}: entry {count}")
        except ijson.JSONError as exc:
            raise RecordingError(f"{path}: not valid JSON after entry {count} ({exc})") \
                from None
        if count == 0:
            raise RecordingError(f"{path}: no log.entries: not a HAR file (or an empty one)")


def _entry(raw: Any, where: str) -> Entry:
    try:
        request, response = raw["request"], raw["response"]
        started = _timestamp(raw["startedDateTime"])
        elapsed = max(0.0, float(raw.get("time") or 0.0)) / 1000.0
        status = int(response.get("status") or 0)
        error = raw.get("_error") or response.get("_error")
        return Entry(
            method=str(request["method"]), url=str(request["url"]),
            request_headers=_headers(request.get("headers")),
            request_body=_post_data(request.get("postData")),
            status=status, response_headers=_headers(response.get("headers")),
            response_body=_content(response.get("content")),
            started_at=started, finished_at=started + elapsed,
            segment=raw.get("pageref"),
            error=(str(error) if error else "no answer recorded") if status == 0 else None,
            where=where)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise RecordingError(f"{where}: not a HAR 1.2 entry ({type(exc).__name__}: {exc})") \
            from None


def _timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _headers(raw: Any) -> dict[str, str]:
    """HAR headers are a list of name/value pairs; repeated names are joined as
    HTTP joins them. HTTP/2 pseudo-headers (`:authority`) are dropped."""
    headers: dict[str, str] = {}
    for item in raw or []:
        name, value = str(item["name"]), str(item["value"])
        if name.startswith(":"):
            continue
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _post_data(raw: Any) -> bytes:
    if not isinstance(raw, Mapping):
        return b""
    text = raw.get("text")
    if text is None:
        return b""
    if raw.get("encoding") == "base64":
        return base64.b64decode(text)
    return str(text).encode("utf-8")


def _content(raw: Any) -> bytes:
    if not isinstance(raw, Mapping) or raw.get("text") is None:
        return b""
    if raw.get("encoding") == "base64":
        return base64.b64decode(raw["text"])
    return str(raw["text"]).encode("utf-8")


# --------------------------------------------------------------------------- writing


def har_entry(exchange: Exchange, pageref: str | None = None) -> dict[str, Any]:
    """One exchange as a HAR 1.2 entry, as a browser exports it (headers as
    name/value lists, bodies as text, or base64 when they are not UTF-8)."""
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
    return entry


def write_har(path: Path, pages: Iterable[tuple[str, Iterable[Exchange]]]) -> int:
    """Write pages of exchanges as one HAR file, entry by entry (any length in
    constant memory); returns the number of entries."""
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
                out.write(json.dumps(har_entry(exchange, page_id), ensure_ascii=False))
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
