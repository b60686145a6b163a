"""A small, strict `multipart/form-data` reader (RFC 7578) for `POST /v1/files`.

The stdlib `email` parser guesses (a part with no Content-Type becomes
`text/plain`, non-ASCII header bytes turn into surrogates) and
python-multipart is not a dependency, so the upload endpoint reads its body
here: split on the boundary, read each part's headers, take the
`Content-Disposition` parameters. A `filename*` (RFC 5987) wins over a plain
`filename`. The escapes an HTML form (and httpx) applies to a quoted
filename are undone: `%22` is `"`, `%0D`/`%0A` and the other control-character
escapes are those characters, and inside the quotes `\\"` and `\\\\` are a
quote and a backslash. Anything that is not a
readable multipart body raises `MultipartError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["MultipartError", "Part", "parse_multipart"]

_FORM_ESCAPE = re.compile(r"%(0[0-9A-Fa-f]|1[0-9A-Fa-f]|22)")


class MultipartError(ValueError):
    """A body that is not the multipart/form-data its Content-Type claims."""


@dataclass(frozen=True)
class Part:
    """One part: its form name, filename (None when not given), Content-Type
    header (None when not given) and exact bytes."""

    name: str | None
    filename: str | None
    content_type: str | None
    content: bytes


def boundary_of(content_type: str) -> bytes:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise MultipartError(f"Content-Type is {kind.strip() or 'missing'!s}, "
                             "not multipart/form-data")
    boundary = _params(params).get("boundary")
    if not boundary or len(boundary) > 200:
        raise MultipartError("the multipart Content-Type has no usable boundary")
    return boundary.encode("utf-8", "replace")


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """Every part of a multipart/form-data body, in order."""
    boundary = boundary_of(content_type)
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    if len(chunks) < 2:
        raise MultipartError("the body holds no part delimited by its boundary")
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts
        head, sep, content = chunk.lstrip(b" \t").removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            if head.strip():
                raise MultipartError("a part's headers are not followed by a blank line")
            content = b""
        parts.append(_part(_headers(head), content))
    raise MultipartError("the body does not end with its closing boundary")


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if not colon:
            raise MultipartError(f"a part header line has no colon: {line[:40]!r}")
        headers.setdefault(name.strip().lower(), value.strip())
    return headers


def _part(headers: dict[str, str], content: bytes) -> Part:
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise MultipartError("a part has no Content-Disposition header")
    kind, _, params = disposition.partition(";")
    if kind.strip().lower() != "form-data":
        raise MultipartError(f"a part's disposition is {kind.strip()!r}, not form-data")
    values = _params(params)
    filename = values.get("filename")
    extended = values.get("filename*")
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        filename = unquote(encoded, encoding=charset or "utf-8", errors="replace")
    elif filename is not None:
        filename = _unescape(filename)
    return Part(values.get("name"), filename, headers.get("content-type"), content)


def _unescape(value: str) -> str:
    return _FORM_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)


def _params(text: str) -> dict[str, str]:
    """`; a=b; c="d; e"` as {a: b, c: "d; e"}; names lower-cased, the first of
    a repeated name kept; inside quotes `\\"` is a quote, `\\\\` a backslash."""
    values: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t;":
            i += 1
        start = i
        while i < n and text[i] not in "=;":
            i += 1
        name = text[start:i].strip().lower()
        value = ""
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                i += 1
                chars: list[str] = []
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\':
                        i += 1
                    chars.append(text[i])
                    i += 1
                i += 1
                value = "".join(chars)
            else:
                start = i
                while i < n and text[i] != ";":
                    i += 1
                value = text[start:i].strip()
        if name:
            values.setdefault(name, value)
    return values
