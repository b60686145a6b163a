"""Transport-level rule kinds: content types, server errors, error bodies,
`Retry-After`, redirects to downloads."""

from __future__ import annotations

import io
import zipfile
import zlib
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin

from ..trace import NOT_JSON, Exchange, Trace
from .context import Context
from .registry import Params, Verdict, rule_kind
from .schemas import schema_for


class JsonContent(Params):
    exempt: list[str] = []
    """`endpoint@status` answers that are not JSON (a redirect, a download)."""


@rule_kind("json_content", JsonContent)
def json_content(trace: Trace, p: JsonContent, ctx: Context, verdict: Verdict) -> None:
    """Every API answer with a body is JSON and says `Content-Type: application/json`."""
    exempt = {(ex.seq) for ref in p.exempt for ex, _ in ctx.requests(ref.partition("@")[0])
              if not ref.partition("@")[2] or ex.status == int(ref.partition("@")[2])}
    for ex in trace:
        if ex.origin != "api" or ex.status in (0, 204, 304) or ex.seq in exempt:
            continue
        if ex.method == "HEAD":
            continue
        kind = ex.content_type
        if kind != "application/json" and not kind.endswith("+json"):
            verdict.violate(f"Content-Type is {ex.header('content-type')!r}, not "
                            "application/json", ex)
        elif ex.json is NOT_JSON:
            verdict.violate("the body is not valid JSON", ex)
        else:
            verdict.judged()


class NoServerError(Params):
    pass


@rule_kind("no_server_error", NoServerError)
def no_server_error(trace: Trace, p: NoServerError, ctx: Context, verdict: Verdict) -> None:
    """No request gets a 5xx, and every request gets an answer."""
    for ex in trace:
        if ex.origin != "api":
            continue
        if ex.status >= 500:
            verdict.violate(f"server error {ex.status}", ex, fields=("error.code",))
        elif ex.status == 0:
            verdict.violate(f"no answer: {ex.error}", ex)
        else:
            verdict.judged()


class ErrorBody(Params):
    json_schema: dict[str, Any]


@rule_kind("error_body", ErrorBody)
def error_body(trace: Trace, p: ErrorBody, ctx: Context, verdict: Verdict) -> None:
    """Every 4xx answer has a JSON body matching `json_schema`."""
    schema = schema_for(p.json_schema)
    for ex in trace:
        if ex.origin != "api" or not 400 <= ex.status < 500:
            continue
        body = ex.json
        if body is NOT_JSON:
            verdict.violate(f"a {ex.status} without a JSON body", ex)
            continue
        problem = schema.first_error(body)
        if problem is None:
            verdict.judged()
        else:
            where = "/".join(str(part) for part in problem.absolute_path) or "body"
            verdict.violate(f"error body at {where}: {problem.message}", ex)


class RetryAfter(Params):
    max_seconds: float = 3600


def retry_after_seconds(ex: Exchange) -> float | None:
    """The delay a `Retry-After` header asks for, or None if absent or malformed."""
    raw = (ex.header("retry-after") or "").strip()
    if raw.isascii() and raw.isdigit():  # delay-seconds is 1*DIGIT, and "²".isdigit()
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - ex.finished_at)


@rule_kind("retry_after", RetryAfter)
def retry_after(trace: Trace, p: RetryAfter, ctx: Context, verdict: Verdict) -> None:
    """A 429 carries `Retry-After` (delay-seconds or an HTTP-date) at most
    `max_seconds` away."""
    for ex in trace:
        if ex.origin != "api" or ex.status != 429:
            continue
        delay = retry_after_seconds(ex)
        if delay is None:
            verdict.violate("a 429 without a valid Retry-After", ex, fields=("Retry-After",))
        elif delay > p.max_seconds:
            verdict.violate(f"Retry-After asks for {delay:.0f} s (at most {p.max_seconds:g})",
                            ex, fields=("Retry-After",))
        else:
            verdict.judged()


class ServedAfterWait(Params):
    max_tries: int = 5


def _same_request(a: Exchange, b: Exchange) -> bool:
    return (a.method, a.url, a.request_body, a.credential) == (
        b.method, b.url, b.request_body, b.credential)


@rule_kind("served_after_wait", ServedAfterWait)
def served_after_wait(trace: Trace, p: ServedAfterWait, ctx: Context, verdict: Verdict) -> None:
    """After waiting as `Retry-After` says, the same request is served within
    `max_tries` tries. Retries sent too early do not count against the server."""
    chains: list[list[Exchange]] = []
    chained: set[int] = set()
    exchanges = [ex for ex in trace if ex.origin == "api"]
    for i, ex in enumerate(exchanges):
        if ex.status != 429 or ex.seq in chained:
            continue
        chain = [ex]
        for later in exchanges[i + 1 : i + 1 + 50 * p.max_tries]:
            if not _same_request(later, chain[-1]):
                continue
            wait = retry_after_seconds(chain[-1]) or 0.0
            if later.started_at + 1e-6 < chain[-1].finished_at + wait:
                continue  # the client did not wait: no evidence either way
            chain.append(later)
            chained.add(later.seq)
            if later.status != 429:
                break
        chains.append(chain)
    for chain in chains:
        tries = sum(1 for ex in chain[1:] if ex.status == 429)
        served = chain[-1].status != 429
        if tries >= p.max_tries:
            verdict.violate(f"still 429 after {tries} retries that waited as Retry-After said",
                            *chain[: p.max_tries + 1], fields=("Retry-After",))
        elif served and len(chain) > 1:
            verdict.judged()


class RedirectDownload(Params):
    request: str
    status: int = 302
    content: Literal["zip", "any"] = "zip"


@rule_kind("redirect_download", RedirectDownload)
def redirect_download(trace: Trace, p: RedirectDownload, ctx: Context, verdict: Verdict) -> None:
    """The request answers `status` with a `Location` that, fetched without the
    API key, gives 200 and (for `zip`) a valid zip archive."""
    fetches = [ex for ex in trace if ex.credential == "none"]
    for ex, _ in ctx.requests(p.request):
        if ex.credential != "valid" or ex.status in (0, 404, 429):  # a 5xx is judged
            continue
        location = ex.header("location")
        if ex.status != p.status or not location:
            verdict.violate(f"expected {p.status} with a Location, got {ex.status}", ex)
            continue
        target = urljoin(ex.url, location)
        fetch = next((f for f in fetches if f.seq > ex.seq and f.url == target), None)
        if fetch is None:
            continue
        problem = _download_problem(fetch, p.content)
        if problem:
            verdict.violate(f"the Location, fetched without the key: {problem}", ex, fetch)
        else:
            verdict.judged()


def _download_problem(fetch: Exchange, content: str) -> str | None:
    if fetch.status != 200:
        return f"got {fetch.status}"
    if content == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(fetch.response_body)) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, ValueError, EOFError, zlib.error, NotImplementedError,
                RuntimeError) as exc:  # a corrupt, unsupported or encrypted member
            return f"not a zip archive ({exc})"
        if bad is not None:
            return f"zip member {bad!r} is corrupt"
    return None
