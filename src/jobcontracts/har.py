"""HAR 1.2 files (browser devtools, mitmproxy, Charles, …) as a stream of entries.

`ijson` reads `log.entries` one entry at a time, so a capture of any length
is read in constant memory. Pages (`pageref`) are segment boundaries. A
browser marks a request that got no answer with status 0 (Chrome adds the
reason in `_error`); that is a transport failure here too.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import ijson

from .recorded import Entry, RecordingError


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
