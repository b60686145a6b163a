"""File rule kinds: a multipart upload echoed back as the record it made, and
presigned result URLs that serve what the record says.

The upload's request body is read as `multipart/form-data` (RFC 7578) from
the trace, so the check needs nothing but the bytes sent. A filename that
the sender had to escape (`%22` for a quote, `\\\\` for a backslash, as the
HTML form encoding httpx uses does) is not compared: servers differ on
whether they unescape it, and the contract does not say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from pydantic import Field

from ..trace import NOT_JSON, Exchange, Trace, lookup
from .context import Context, answered, json_equal
from .projection import RecordParams
from .registry import Params, Verdict, rule_kind


@dataclass(frozen=True)
class Part:
    name: str | None
    filename: str | None
    """None when the part has no filename, or one too escaped to compare."""
    has_filename: bool
    content_type: str | None
    content: bytes


_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _disposition(value: str) -> dict[str, tuple[str, bool]]:
    """Content-Disposition params → (value, was it plain: no escape in it)."""
    found: dict[str, tuple[str, bool]] = {}
    for name, raw in _PARAM.findall(value):
        text = raw.strip()
        if text.startswith('"') and text.endswith('"') and len(text) >= 2:
            inner = text[1:-1]
            found[name.lower()] = (re.sub(r"\\(.)", r"\1", inner),
                                   "\\" not in inner and "%" not in inner)
        else:
            found[name.lower()] = (text, "%" not in text)
    star = found.pop("filename*", None)
    if star and star[0].count("'") >= 2:  # RFC 5987: charset'lang'percent-encoded
        charset, _, rest = star[0].partition("'")
        try:
            found["filename"] = (unquote(rest.partition("'")[2], charset or "utf-8",
                                         errors="strict"), True)
        except (LookupError, UnicodeDecodeError):
            found["filename"] = ("", False)
    return found


def multipart_parts(content_type: str | None, body: bytes) -> list[Part] | None:
    """The parts of a `multipart/form-data` body, or None if it is not one."""
    message = Message()
    message["content-type"] = content_type or ""
    boundary = message.get_param("boundary")
    if message.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return None
    chunks = body.split(b"--" + boundary.encode("latin-1", errors="replace"))
    if len(chunks) < 2:
        return None
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts  # the close delimiter
        start = chunk.find(b"\r\n")
        chunk = chunk[start + 2:] if start >= 0 else b""
        chunk = chunk.removesuffix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep and head:
            return None
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        params = _disposition(headers.get("content-disposition", ""))
        filename, plain = params.get("filename", (None, True))
        parts.append(Part(params.get("name", (None, True))[0],
                          filename if plain else None, "filename" in params,
                          headers.get("content-type"), content))
    return None  # no close delimiter: the body was cut short


class UploadEcho(Params):
    request: str
    part: str = "file"
    """The name of the part that carries the file."""
    accepted: list[int] = [201]
    refused: list[int] = [400]
    """What a multipart request with no such part gets."""
    default_type: str = "application/octet-stream"
    """A part's content type when it sends none."""
    filename_field: str = "filename"
    type_field: str = "content_type"
    size_field: str = "size"
    fixed: dict[str, Any] = {}
    """Fields every fresh upload answers with (`job_id: null`, `is_input: true`)."""
    id_field: str
    get_endpoint: str
    """The endpoint that reads the record back (`get_file`)."""
    get_param: str
    may_change: list[str] = []
    """Fields a later read may show otherwise (`job_id`, once a job consumed it)."""


@rule_kind("upload_echo", UploadEcho)
def upload_echo(trace: Trace, p: UploadEcho, ctx: Context, verdict: Verdict) -> None:
    """A multipart request whose only part is the named file (with a filename)
    is accepted, and the record answers that filename, that part's content
    type (or `default_type`), the number of bytes sent and the `fixed` fields;
    later reads of the record show the same. One with no such part is refused,
    and so is a request with no body at all (it has no file part either)."""
    for ex, _ in ctx.requests(p.request):
        if ex.credential != "valid" or not answered(ex):
            continue
        parts = multipart_parts(ex.request_header("content-type"), ex.request_body)
        if parts is None:
            if ex.request_body:
                continue  # some other body: what it gets, the contract does not say
            parts = []  # no body at all: no file part either
        files = [part for part in parts if part.name == p.part]
        if not files:
            _expect(verdict, ex, p.refused, f"no part named {p.part!r}")
        elif (len(parts) == 1 and files[0].has_filename and files[0].filename != ""
              and _expect(verdict, ex, p.accepted, f"one {p.part!r} part")):
            _judge_record(p, ctx, ex, files[0], verdict)


def _expect(verdict: Verdict, ex: Exchange, expect: list[int], why: str) -> bool:
    if ex.status in expect:
        verdict.judged()
        return True
    verdict.violate(f"{why}: expected {' or '.join(map(str, expect))}, got {ex.status}", ex,
                    fields=("error.code",))
    return False


def _judge_record(p: UploadEcho, ctx: Context, ex: Exchange, part: Part,
                  verdict: Verdict) -> None:
    body = ex.json
    if not isinstance(body, Mapping):
        verdict.violate(f"the {ex.status} answer is not a JSON object", ex)
        return
    sent: dict[str, Any] = {p.type_field: part.content_type or p.default_type,
                            p.size_field: len(part.content), **p.fixed}
    if part.filename is not None:
        sent[p.filename_field] = part.filename
    wrong = [f"{name}: {value!r:.60} sent, {lookup(body, name)!r:.60} answered"
             for name, value in sent.items() if not json_equal(lookup(body, name), value)]
    if wrong:
        verdict.violate("; ".join(wrong), ex, fields=tuple(sent))
    else:
        verdict.judged()
    record_id = lookup(body, p.id_field)
    if not isinstance(record_id, str):
        return
    for read, params in ctx.requests(p.get_endpoint):
        if (read.seq < ex.seq or read.status != 200 or read.credential != "valid"
                or params.get(p.get_param) != record_id):
            continue
        shown = read.json
        changed = [k for k in body if k not in p.may_change
                   and not json_equal(lookup(shown, k), body[k])]
        if shown is NOT_JSON or changed:
            verdict.violate(f"read back, {record_id!r} shows other {changed or 'content'} "
                            "than the upload answered", ex, read, fields=tuple(changed))
        else:
            verdict.judged()


class PresignedFiles(RecordParams):
    files: str
    """The record's list of result files (`result_files`)."""
    url: str = "url"
    size: str = "size"
    mimetype: str = "mimetype"
    expect: list[int] = Field(default=[200], min_length=1)


@rule_kind("presigned_files", PresignedFiles)
def presigned_files(trace: Trace, p: PresignedFiles, ctx: Context, verdict: Verdict) -> None:
    """Each listed file's URL, when fetched with no credential, answers 200
    with a body of `size` bytes and `mimetype` as its Content-Type (media
    type compared, parameters aside). A URL nobody fetched is not judged."""
    fetches = [ex for ex in trace if ex.credential == "none" and ex.status > 0]
    done: set[tuple[str, str]] = set()
    for obs in ctx.observations(p.record, p.when):
        items = lookup(obs.body, p.files)
        for item in items if isinstance(items, list) else []:
            link = lookup(item, p.url)
            if not isinstance(link, str) or not link:
                continue
            target = urljoin(obs.exchange.url, link)
            size, mimetype = lookup(item, p.size), lookup(item, p.mimetype)
            if (target, repr((size, mimetype))) in done:
                continue
            fetch = next((f for f in fetches if f.seq > obs.seq and _same(f.url, target)), None)
            if fetch is None:
                continue
            done.add((target, repr((size, mimetype))))
            problem = _download_problem(fetch, size, mimetype, p.expect)
            if problem:
                verdict.violate(f"{p.files} {lookup(item, 'filename')!r:.40}: {problem}",
                                obs.exchange, fetch)
            else:
                verdict.judged()


def _same(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.netloc, x.path, x.query) == (y.scheme, y.netloc, y.path, y.query)


def _media(value: Any) -> str | None:
    return value.split(";")[0].strip().lower() if isinstance(value, str) else None


def _download_problem(fetch: Exchange, size: Any, mimetype: Any,
                      expect: list[int]) -> str | None:
    if fetch.status not in expect:
        return f"fetched with no credential, got {fetch.status}"
    wrong = []
    if not json_equal(len(fetch.response_body), size):
        wrong.append(f"{len(fetch.response_body)} bytes, but size says {size!r:.30}")
    if _media(mimetype) is None or _media(fetch.header("content-type")) != _media(mimetype):
        wrong.append(f"Content-Type {fetch.header('content-type')!r}, but mimetype says "
                     f"{mimetype!r:.40}")
    return "; ".join(wrong) or None
